"""SQLModel tables of identity: login attempts, sessions, and the role audit.

No secret is stored in the clear: a login's `state` and PKCE verifier and a
session's id are kept only as SHA-256 hex digests, so a copy of the database
lets nobody finish a login or ride a session. A login attempt's client address
is kept as a digest too, and only while the attempt lives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now

SHA256_HEX_LENGTH = 64


def _instant(*, nullable: bool = False, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


class LoginAttempt(SQLModel, table=True):
    """A started Discord login, waiting for its callback; used at most once."""

    __tablename__ = "login_attempt"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    state_hash: str = Field(max_length=SHA256_HEX_LENGTH, unique=True)
    verifier_hash: str = Field(max_length=SHA256_HEX_LENGTH)
    next_path: str = Field(max_length=512)
    # SHA-256 of the client's address (IPv4, or IPv6 /64) that started it: how many one client may start
    # is bounded. Kept no longer than the attempt.
    client_hash: str = Field(max_length=SHA256_HEX_LENGTH, index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())
    expires_at: datetime = Field(sa_column=_instant(index=True))
    used_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class AuthSession(SQLModel, table=True):
    """A logged-in browser: the cookie holds the id, the database its hash."""

    __tablename__ = "auth_session"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    token_hash: str = Field(max_length=SHA256_HEX_LENGTH, unique=True)
    racer_id: int = Field(foreign_key="racer.id", index=True)
    method: str = Field(max_length=12)  # "discord" or "dev"
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())
    expires_at: datetime = Field(sa_column=_instant())
    revoked_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class RoleChange(SQLModel, table=True):
    """An admin granted or revoked a role: who, to whom, what, old -> new, when."""

    __tablename__ = "role_change"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    racer_id: int = Field(foreign_key="racer.id", index=True)
    role: str = Field(max_length=8)
    old_value: bool
    new_value: bool
    actor_racer_id: int = Field(foreign_key="racer.id")
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())

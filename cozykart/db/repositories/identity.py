"""The identity repository: logins, sessions, login attempts and roles.

It also holds the racer queries identity needs (the racer a login makes, the
demo racers, the roles list): they are read here, on identity's terms, so the
league's repository stays the league's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, text, update
from sqlmodel import select

from cozykart.db import league_repo
from cozykart.db.identity_tables import AuthSession, LoginAttempt, RoleChange
from cozykart.db.repositories import Repository
from cozykart.db.tables import Racer


class IdentityRepository(Repository):
    # --- login attempts ---------------------------------------------------------------

    def lock_login_starts(self, key: int) -> None:
        """PostgreSQL: the transaction-scoped advisory lock `key` (SQLite: BEGIN IMMEDIATE serializes)."""
        if self.dialect == "postgresql":
            self.session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=key))

    def delete_expired_login_attempts(self, now: datetime) -> None:
        self.session.exec(delete(LoginAttempt).where(LoginAttempt.expires_at <= now))

    def waiting_login_attempts(self, client_hash: str, now: datetime) -> int:
        """The client's live attempts not yet used."""
        return self.session.exec(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.expires_at > now,
                LoginAttempt.client_hash == client_hash,
                LoginAttempt.used_at.is_(None),
            )
        ).one()

    def live_login_attempts(self, now: datetime) -> int:
        return self.session.exec(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.expires_at > now)
        ).one()

    def add_login_attempt(
        self,
        *,
        state_hash: str,
        verifier_hash: str,
        next_path: str,
        client_hash: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.session.add(
            LoginAttempt(
                state_hash=state_hash,
                verifier_hash=verifier_hash,
                next_path=next_path,
                client_hash=client_hash,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def login_attempt(self, state_hash: str) -> LoginAttempt | None:
        return self.session.exec(select(LoginAttempt).where(LoginAttempt.state_hash == state_hash)).first()

    def delete_login_attempt(self, attempt_id: int) -> None:
        self.session.exec(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))

    def use_login_attempt(self, attempt_id: int, now: datetime) -> bool:
        """Flip `used_at` from NULL; True for the one caller that did (two racing callbacks: one wins)."""
        result = self.session.exec(
            update(LoginAttempt)
            .where(LoginAttempt.id == attempt_id, LoginAttempt.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1

    # --- sessions -----------------------------------------------------------------------

    def add_session(
        self, *, token_hash: str, racer_id: int, method: str, created_at: datetime, expires_at: datetime
    ) -> None:
        self.session.add(
            AuthSession(
                token_hash=token_hash,
                racer_id=racer_id,
                method=method,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def session_and_racer(self, token_hash: str) -> tuple[AuthSession, Racer] | None:
        row = self.session.exec(
            select(AuthSession, Racer)
            .join(Racer, Racer.id == AuthSession.racer_id)
            .where(AuthSession.token_hash == token_hash)
        ).first()
        return None if row is None else (row[0], row[1])

    def revoke_session(self, token_hash: str, now: datetime) -> bool:
        """Revoke the live session of this digest; True when one was."""
        result = self.session.exec(
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    # --- racers, as identity sees them ---------------------------------------------------------

    def racers_with_discord_prefix(self, prefix: str, limit: int) -> list[Racer]:
        """The racers whose Discord id starts with `prefix` (the demo racers), by name."""
        return list(
            self.session.exec(
                select(Racer)
                .where(Racer.discord_id.startswith(prefix))
                .order_by(Racer.display_name, Racer.id)
                .limit(limit)
            ).all()
        )

    def racers_by_name(self, limit: int) -> list[Racer]:
        return list(
            self.session.exec(select(Racer).order_by(Racer.display_name, Racer.id).limit(limit)).all()
        )

    def racer_names(self, racer_ids: Iterable[int]) -> dict[int, str]:
        """Display names of these racers (one query)."""
        ids = list(racer_ids)
        return {
            racer.id: racer.display_name
            for racer in self.session.exec(select(Racer).where(Racer.id.in_(ids)))
        }

    def racer_for_update(self, racer_id: int) -> Racer | None:
        return self.session.exec(select(Racer).where(Racer.id == racer_id).with_for_update()).first()

    def set_racer_flag(self, racer: Racer, column: str, value: bool) -> None:
        setattr(racer, column, value)
        self.session.add(racer)

    def set_mkt_name(self, racer: Racer, name: str | None) -> None:
        """A racer's MKT name changes: the standings that show it go stale first."""
        league_repo.bump_standings_version_of_racer(self.session, racer.id)
        racer.mkt_name = name
        self.session.add(racer)

    # --- roles ---------------------------------------------------------------------------

    def add_role_change(
        self,
        *,
        racer_id: int,
        role: str,
        old_value: bool,
        new_value: bool,
        actor_racer_id: int,
        created_at: datetime,
    ) -> None:
        self.session.add(
            RoleChange(
                racer_id=racer_id,
                role=role,
                old_value=old_value,
                new_value=new_value,
                actor_racer_id=actor_racer_id,
                created_at=created_at,
            )
        )

    def latest_role_changes(self, limit: int) -> list[RoleChange]:
        return list(
            self.session.exec(
                select(RoleChange).order_by(RoleChange.created_at.desc(), RoleChange.id.desc()).limit(limit)
            ).all()
        )

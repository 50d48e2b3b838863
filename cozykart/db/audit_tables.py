"""The admin actions that have no audit row of their own: an append-only trail.

Result fixes (`result_fix`), money settings (`money_setting_change`) and roles
(`role_change`) keep their own audited rows; every other admin action (payouts
paid, rejected or paid directly; seasons created, activated or closed; overlay
key regenerations; webhook replays; whole-table corrections) appends one row
here, in the same transaction as the action. Rows are only ever added.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.ledger import REASON_LENGTH_MAX

ACTION_KIND_LENGTH_MAX = 32
ACTION_SUBJECT_LENGTH_MAX = 120
ACTION_VALUE_LENGTH_MAX = 200


class AdminAction(SQLModel, table=True):
    """One admin's action: who (`actor_racer_id`), when, what (`kind`, `subject`), old -> new, why.

    `race_id` and `racer_id` say which race and which racer it touched, when it
    touched one, so the trail can be filtered by either.
    """

    __tablename__ = "admin_action"
    __table_args__ = (Index("ix_admin_action_created_at", "created_at"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    kind: str = Field(max_length=ACTION_KIND_LENGTH_MAX)
    actor_racer_id: int = Field(foreign_key="racer.id")
    race_id: int | None = Field(default=None, foreign_key="race.id", index=True)
    racer_id: int | None = Field(default=None, foreign_key="racer.id", index=True)
    subject: str = Field(max_length=ACTION_SUBJECT_LENGTH_MAX)
    old_value: str | None = Field(default=None, max_length=ACTION_VALUE_LENGTH_MAX)
    new_value: str | None = Field(default=None, max_length=ACTION_VALUE_LENGTH_MAX)
    reason: str | None = Field(default=None, max_length=REASON_LENGTH_MAX)
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))

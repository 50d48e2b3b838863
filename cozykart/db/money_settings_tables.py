"""The money settings an admin changed in the console: an append-only audit.

The effective value of a setting is the newest change of it, else the
environment's value (`cozykart.settings.Settings`). Rows are only ever added.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.ledger import REASON_LENGTH_MAX

SETTING_NAME_LENGTH_MAX = 32


class MoneySettingChange(SQLModel, table=True):
    """One admin's change of one money setting: who, when, old -> new, why.

    `sequence` counts the changes of one setting (1, 2, ...). It is unique per
    setting, so two admins changing the same setting at the same instant cannot
    both write the same "old value": the second gets a conflict and retries.
    The unique index on (name, sequence) is also what the read of the latest
    values walks.
    """

    __tablename__ = "money_setting_change"
    __table_args__ = (UniqueConstraint("name", "sequence", name="uq_money_setting_change_name_sequence"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    name: str = Field(max_length=SETTING_NAME_LENGTH_MAX)
    sequence: int
    old_value: int
    new_value: int
    reason: str = Field(max_length=REASON_LENGTH_MAX)
    actor_racer_id: int = Field(foreign_key="racer.id")
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))

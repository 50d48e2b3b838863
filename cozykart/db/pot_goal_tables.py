"""Pot goals: a race's own goal or a season's default, and the one row per race that reached its goal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now


class PotGoal(SQLModel, table=True):
    """A goal for one race (`race_id`) or a season's default (`season_id`): exactly one of the two."""

    __tablename__ = "pot_goal"
    __table_args__ = (
        CheckConstraint("(race_id IS NULL) <> (season_id IS NULL)", name="ck_pot_goal_one_owner"),
        CheckConstraint("goal_cents > 0", name="ck_pot_goal_positive"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    race_id: int | None = Field(default=None, foreign_key="race.id", unique=True)
    season_id: int | None = Field(default=None, foreign_key="season.id", unique=True)
    goal_cents: int
    set_by_racer_id: int = Field(foreign_key="racer.id")
    set_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))


class PotGoalReached(SQLModel, table=True):
    """The race's pool reached its goal: at most one row per race (its primary key), never removed."""

    __tablename__ = "pot_goal_reached"

    race_id: int = Field(foreign_key="race.id", primary_key=True)
    goal_cents: int
    pool_cents: int
    payment_id: int | None = Field(default=None, foreign_key="ledger_payment.id")
    reached_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))

"""Pot goals: the amount a race's pool is playing toward tonight, and how far it got.

A goal is set for one race (by its host or an admin) or as a season's default
(an admin), in whole cents, positive and at most `GOAL_CENTS_MAX`. A race's
goal is its own when set, else its season's default. It is reached the first
time the race's pool is at or above it; that happens once per race and a
refund later never takes it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cozykart.domain.errors import InvalidInput
from cozykart.domain.money import format_cents, parse_amount_cents, require_positive_cents

GOAL_CENTS_MAX = 1_000_000_00  # one million units: far above any night's pot
PERCENT_FULL = 100


def validate_goal_cents(goal_cents: int) -> int:
    """A goal is a positive whole number of cents, at most `GOAL_CENTS_MAX`."""
    require_positive_cents(goal_cents, "The pot goal")
    if goal_cents > GOAL_CENTS_MAX:
        raise InvalidInput(f"The pot goal is above the limit of {format_cents(GOAL_CENTS_MAX)}.")
    return goal_cents


def parse_goal_cents(text: str) -> int:
    """A goal from what a person typed ("250", "$1,000.50"), refused with a clear message if it is not one."""
    return validate_goal_cents(parse_amount_cents(text))


def is_reached(pool_cents: int, goal_cents: int) -> bool:
    return pool_cents >= goal_cents


def percent_of(pool_cents: int, goal_cents: int) -> int:
    """How far the pool is toward the goal, in whole percent floored, 0..100."""
    if goal_cents <= 0:
        return 0
    return max(0, min(PERCENT_FULL, pool_cents * PERCENT_FULL // goal_cents))


@dataclass(frozen=True)
class GoalProgress:
    """The live race's goal as viewers see it: the pool toward the goal, and whether it was reached."""

    race_id: int
    goal_cents: int
    pool_cents: int
    reached_at: datetime | None  # when a sale first took the pool to the goal; kept after a refund

    @property
    def reached(self) -> bool:
        return self.reached_at is not None

    @property
    def percent(self) -> int:
        return PERCENT_FULL if self.reached else percent_of(self.pool_cents, self.goal_cents)


@dataclass(frozen=True)
class PotGoalReached:
    """A sale took the race's pool to its goal, for the first (and only) time in that race."""

    race_id: int
    race_name: str
    goal_cents: int
    pool_cents: int
    reached_at: datetime

"""The pot goals repository: races' goals, seasons' defaults, and the one row per race that reached its goal.

Every sale of a live race asks whether its pool just reached a goal (`goal_to_watch`).
The answer's fixed parts (the race's name, its goal, whether it was reached) are
read once per transaction and race, not per sale: the webhook writer records a
batch of sales in one transaction, and these reads were most of a sale's
statements. A goal set, or reached, in the same transaction updates what it
remembers; one set by another process meanwhile counts from the next batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cozykart.db import lean, ledger_repo
from cozykart.db.ledger_repo import race_table
from cozykart.db.pot_goal_tables import PotGoal, PotGoalReached
from cozykart.db.repositories import Repository
from cozykart.domain.ledger import pool_code

_goal = PotGoal.__table__
_reached = PotGoalReached.__table__


# The race's name, its own goal, its season's goal, and whether it reached one: one statement.
_GOAL_TO_WATCH = select(
    race_table.c.name,
    select(_goal.c.goal_cents).where(_goal.c.race_id == race_table.c.id).scalar_subquery(),
    select(_goal.c.goal_cents).where(_goal.c.season_id == race_table.c.season_id).scalar_subquery(),
    select(_reached.c.reached_at).where(_reached.c.race_id == race_table.c.id).scalar_subquery(),
).where(race_table.c.id == bindparam("race_id"))


_POOL_CENTS = select(ledger_repo.account_table.c.balance_cents).where(
    ledger_repo.account_table.c.code == bindparam("code")
)


@dataclass(frozen=True)
class GoalToWatch:
    """A race whose pool has a goal it has not reached yet."""

    race_id: int
    race_name: str
    goal_cents: int


class PotGoalsRepository(Repository):
    def __init__(self, session) -> None:
        super().__init__(session)
        self._watching: dict[
            int, GoalToWatch | None
        ] = {}  # race id -> its goal to watch, for the transaction

    def forget(self) -> None:
        self._watching.clear()

    def goal_to_watch(self, race_id: int) -> GoalToWatch | None:
        """The race's goal (its own, else its season's) while not reached yet; None without one, or once
        reached. Read once per transaction and race (see the module's docstring)."""
        if race_id not in self._watching:
            row = lean.execute(self.connection, _GOAL_TO_WATCH, {"race_id": race_id})
            assert row, "a sale's race exists"
            name, own_cents, season_cents, reached_at = row[0]
            goal_cents = own_cents if own_cents is not None else season_cents
            self._watching[race_id] = (
                GoalToWatch(race_id, name, goal_cents)
                if goal_cents is not None and reached_at is None
                else None
            )
        return self._watching[race_id]

    def race_goal_cents(self, race_id: int) -> int | None:
        """The race's own goal, if one was set."""
        return self.connection.execute(
            select(_goal.c.goal_cents).where(_goal.c.race_id == race_id)
        ).scalar_one_or_none()

    def season_goal_cents(self, season_id: int) -> int | None:
        """The season's default goal, if one was set."""
        return self.connection.execute(
            select(_goal.c.goal_cents).where(_goal.c.season_id == season_id)
        ).scalar_one_or_none()

    def season_goals(self) -> dict[int, int]:
        """Every season's default goal, by season id."""
        rows = self.connection.execute(
            select(_goal.c.season_id, _goal.c.goal_cents).where(_goal.c.season_id.is_not(None))
        )
        return {season_id: goal_cents for season_id, goal_cents in rows}

    def effective_goal_cents(self, race_id: int, season_id: int | None) -> int | None:
        """The race's own goal, else its season's default, else None."""
        own = self.race_goal_cents(race_id)
        if own is not None or season_id is None:
            return own
        return self.season_goal_cents(season_id)

    def set_goal(
        self,
        *,
        race_id: int | None = None,
        season_id: int | None = None,
        goal_cents: int | None,
        set_by_racer_id: int,
        at: datetime,
    ) -> None:
        """Set (or, with `goal_cents` None, clear) the goal of one race or one season."""
        assert (race_id is None) != (season_id is None), "a goal belongs to a race or a season"
        self._watching.clear()  # a season's goal is every one of its races'
        owner = _goal.c.race_id == race_id if race_id is not None else _goal.c.season_id == season_id
        if goal_cents is None:
            self.connection.execute(delete(_goal).where(owner))
            return
        values = {"goal_cents": goal_cents, "set_by_racer_id": set_by_racer_id, "set_at": at}
        changed = self.connection.execute(update(_goal).where(owner).values(**values)).rowcount
        if not changed:
            self.connection.execute(insert(_goal).values(race_id=race_id, season_id=season_id, **values))

    def pool_cents(self, race_id: int) -> int:
        """The race's pool as its cached balance (0 before its first sale)."""
        rows = lean.execute(self.connection, _POOL_CENTS, {"code": pool_code(race_id)})
        return (rows[0][0] if rows else None) or 0

    def reached_at(self, race_id: int) -> datetime | None:
        """When the race's pool reached its goal, or None."""
        return self.connection.execute(
            select(_reached.c.reached_at).where(_reached.c.race_id == race_id)
        ).scalar_one_or_none()

    def reached(self, race_id: int) -> tuple[int, datetime] | None:
        """The goal the race's pool reached and when, or None."""
        row = self.connection.execute(
            select(_reached.c.goal_cents, _reached.c.reached_at).where(_reached.c.race_id == race_id)
        ).first()
        return None if row is None else (int(row.goal_cents), row.reached_at)

    def mark_reached(
        self, *, race_id: int, goal_cents: int, pool_cents: int, payment_id: int | None, at: datetime
    ) -> bool:
        """Record that the race reached its goal, unless it already had: True only for the one that did.

        An insert that does nothing on a conflict, on both databases: of two concurrent
        transactions the second waits for the first's row and then inserts nothing.
        """
        build = postgresql_insert if self.dialect == "postgresql" else sqlite_insert
        statement = (
            build(_reached)
            .values(
                race_id=race_id,
                goal_cents=goal_cents,
                pool_cents=pool_cents,
                payment_id=payment_id,
                reached_at=at,
            )
            .on_conflict_do_nothing(index_elements=["race_id"])
            .returning(_reached.c.race_id)
        )
        self._watching[race_id] = None  # reached now, by this transaction or (on a conflict) another
        return self.connection.execute(statement).scalar_one_or_none() is not None

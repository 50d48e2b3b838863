"""The pot goals repository: races' goals, seasons' defaults, and the one row per race that reached its goal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cozykart.db import ledger_repo
from cozykart.db.pot_goal_tables import PotGoal, PotGoalReached
from cozykart.db.repositories import Repository
from cozykart.domain.ledger import pool_code

_goal = PotGoal.__table__
_reached = PotGoalReached.__table__


class PotGoalsRepository(Repository):
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
        account = ledger_repo.account_table
        return (
            self.connection.execute(
                select(account.c.balance_cents).where(account.c.code == pool_code(race_id))
            ).scalar_one_or_none()
            or 0
        )

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
        return self.connection.execute(statement).scalar_one_or_none() is not None

"""Pot goals: a host or admin sets what the race's pot plays toward; the sale that reaches it is celebrated once.

A race's goal is its own (set by its host or an admin, while it is open or live)
or its season's default (set by an admin), in the race's `pot_goal` row or the
season's. `on_sale_recorded` runs in the sale's transaction (`services/handlers.py`):
when the sale takes the race's pool to its goal it inserts the race's one
`pot_goal_reached` row (insert-if-absent on its primary key, so concurrent
webhooks on several workers celebrate once) and, only when it inserted it,
emits `PotGoalReached`; the announcement handler queues the Discord message in
the same transaction. A refund later never takes the celebration back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind
from cozykart.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from cozykart.domain.league import RaceStatus, SeasonStatus
from cozykart.domain.ledger import SaleRecorded
from cozykart.domain.money import format_cents
from cozykart.domain.pot_goal import PotGoalReached, is_reached, parse_goal_cents
from cozykart.services.actors import load_actor, load_admin
from cozykart.services.audit import record_admin_action

_GOAL_RACE_STATUSES = (RaceStatus.OPEN, RaceStatus.LIVE)


@dataclass(frozen=True)
class GoalSet:
    """What a goal change left: the goal now (None: cleared), and the words for a toast."""

    goal_cents: int | None
    words: str


def _goal_of(text: object) -> int | None:
    if not isinstance(text, str):
        raise InvalidInput("Type the pot goal as an amount, like 250.")
    return None if not text.strip() else parse_goal_cents(text)


def _money(cents: int | None, currency: str) -> str:
    return "no goal" if cents is None else format_cents(cents, currency)


def set_race_goal(
    race_id: int, goal_text: str, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> GoalSet:
    """The race's host or an admin sets (or, with an empty text, clears) the race's pot goal.

    Refused for a race that is over, and for a goal the live pot already reached
    (a goal is something to play toward; a goal already reached stays celebrated).
    """
    goal_cents = _goal_of(goal_text)
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        race = uow.league.race_for_update(race_id)
        if race is None:
            raise NotFound("That race does not exist.")
        if not (actor.is_admin or (actor.may_host and race.host_racer_id == actor.racer_id)):
            raise PermissionDenied("Only the race's host or an admin can set its pot goal.")
        if race.status not in _GOAL_RACE_STATUSES:
            raise Conflict(f"{race.name} is over: its pot goal can no longer change.")
        pool_cents = uow.pot_goals.pool_cents(race.id)
        reached = uow.pot_goals.reached_at(race.id) is not None
        if goal_cents is not None and not reached and is_reached(pool_cents, goal_cents):
            currency = uow.base_settings.currency
            raise InvalidInput(
                f"The pot is already {format_cents(pool_cents, currency)}: set a goal above it."
            )
        words = _set_goal(
            uow,
            goal_cents,
            actor_id=actor.racer_id,
            subject=f"Pot goal of {race.name}",
            now=now,
            race_id=race.id,
        )
    return GoalSet(goal_cents, words)


def set_season_goal(
    season_id: int, goal_text: str, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> GoalSet:
    """An admin sets (or clears) the default goal of the season's races that have none of their own."""
    goal_cents = _goal_of(goal_text)
    now = now or utc_now()
    with uow:
        admin = load_admin(uow, actor_id)
        season = uow.seasons.season_for_update(season_id)
        if season is None:
            raise NotFound("That season does not exist.")
        if season.status == SeasonStatus.CLOSED:
            raise Conflict(f"{season.name} is closed: its pot goal can no longer change.")
        words = _set_goal(
            uow,
            goal_cents,
            actor_id=admin.racer_id,
            subject=f"Default pot goal of {season.name}",
            now=now,
            season_id=season.id,
        )
    return GoalSet(goal_cents, words)


def _set_goal(
    uow: UnitOfWork,
    goal_cents: int | None,
    *,
    actor_id: int,
    subject: str,
    now: datetime,
    race_id: int | None = None,
    season_id: int | None = None,
) -> str:
    """Set (or clear) the goal of one race or one season, audited, and commit; the toast's words."""
    goals = uow.pot_goals
    currency = uow.base_settings.currency
    if race_id is not None:
        old_cents = goals.race_goal_cents(race_id)
    else:
        assert season_id is not None, "a goal belongs to a race or a season"
        old_cents = goals.season_goal_cents(season_id)
    goals.set_goal(
        race_id=race_id, season_id=season_id, goal_cents=goal_cents, set_by_racer_id=actor_id, at=now
    )
    record_admin_action(
        uow,
        ActionKind.POT_GOAL,
        actor_id=actor_id,
        subject=subject,
        race_id=race_id,
        old_value=_money(old_cents, currency),
        new_value=_money(goal_cents, currency),
        at=now,
    )
    uow.commit()
    return f"{subject}: {_money(goal_cents, currency)}."


def season_goals(*, actor_id: int, uow: UnitOfWork) -> dict[int, int]:
    """Admin only: each season's default pot goal in cents, by season id (the seasons console shows them)."""
    with uow:
        load_admin(uow, actor_id)
        return uow.pot_goals.season_goals()


def on_sale_recorded(event: SaleRecorded, uow: UnitOfWork) -> None:
    """In the sale's transaction: the first sale that takes the race's pool to its goal is celebrated.

    A batch of sales reads the race's goal once (`goal_to_watch`), then only its pool per sale.
    """
    if event.race_id is None or event.pool_cents <= 0:
        return
    goals = uow.pot_goals
    watch = goals.goal_to_watch(event.race_id)
    if watch is None:
        return  # no goal, or celebrated already: the hot path stops here
    pool_cents = goals.pool_cents(watch.race_id)
    if not is_reached(pool_cents, watch.goal_cents):
        return
    at = event.occurred_at
    if goals.mark_reached(
        race_id=watch.race_id,
        goal_cents=watch.goal_cents,
        pool_cents=pool_cents,
        payment_id=event.payment_id,
        at=at,
    ):
        uow.emit(PotGoalReached(watch.race_id, watch.race_name, watch.goal_cents, pool_cents, at))

"""The admin console's results desk: races to rule on, recent finals, and admin fixes.

The league's services do the work (`league.confirm_results`, `set_results`,
`admin_fix_result`); this module adds what an admin needs around them, every
function admin-only:

- `results_desk`: races waiting for confirmation (ended, disputed or not) and
  recent final races, with their racers.
- `preview_admin_fix`: what a fix would change (places and points), by running
  the real `admin_fix_result` in a transaction that is rolled back, so the
  preview cannot disagree with the fix; and how much of the race's pot its
  racers hold (what the ledger splits again by the new results).
- `apply_admin_fix`: the fix and its outcome in one transaction: places and
  points, and the cents the ledger's correction moved between racers' wallets.
- `preview_table_fix` / `apply_table_fix`: the same for a final race's whole
  table set again (`league.fix_results`): ONE correction with one reason, the
  fix rows of every racer who moved, one correcting ledger transaction and an
  updated announcement; the preview shows the cents the correction would move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput
from cozykart.domain.league import RaceStatus
from cozykart.services import league
from cozykart.services.actors import load_admin
from cozykart.services.reads.league_views import EntryView, RaceView

RECENT_FINAL_RACES_MAX = 20
AWAITING_RACES_MAX = 50


@dataclass(frozen=True)
class ResultsDesk:
    awaiting: tuple[RaceView, ...]  # ended, waiting for the host or an admin (disputed ones included)
    recent_final: tuple[RaceView, ...]  # newest first


@dataclass(frozen=True)
class PlaceChange:
    racer_id: int
    name: str
    old_words: str
    new_words: str
    old_points: int
    new_points: int

    @property
    def points_delta(self) -> int:
        return self.new_points - self.old_points


@dataclass(frozen=True)
class FixPreview:
    race_id: int
    race_name: str
    changes: tuple[PlaceChange, ...]
    pot_held_cents: int  # what the race's racers hold of its pot; split again by the new results
    moved_cents: dict[int, int] = field(default_factory=dict)  # racer id -> cents (a table fix's dry run)


@dataclass(frozen=True)
class FixOutcome:
    race: RaceView
    changes: tuple[PlaceChange, ...]
    moved_cents: dict[int, int]  # racer id -> cents their wallet gained (negative: gave back)
    pot_held_cents: int


def placing_words(entry: EntryView) -> str:
    return "DNF" if entry.dnf or entry.position is None else f"P{entry.position}"


def results_desk(*, actor_id: int, uow: UnitOfWork) -> ResultsDesk:
    """An admin's list: races waiting for results, then the latest final races."""
    with uow:
        load_admin(uow, actor_id)
    awaiting = league.list_races(uow=uow, statuses=(RaceStatus.ENDED,), limit=AWAITING_RACES_MAX)
    recent = league.list_races(uow=uow, statuses=(RaceStatus.FINAL,), limit=RECENT_FINAL_RACES_MAX)
    return ResultsDesk(awaiting=awaiting, recent_final=recent)


def _changes(before: RaceView, after: RaceView) -> tuple[PlaceChange, ...]:
    changes = []
    for old in before.entries:
        new = after.entry_of(old.racer.racer_id)
        assert new is not None, "a fix never removes a racer"
        if (old.position, old.dnf) == (new.position, new.dnf):
            continue
        changes.append(
            PlaceChange(
                racer_id=old.racer.racer_id,
                name=old.racer.name,
                old_words=placing_words(old),
                new_words=placing_words(new),
                old_points=old.points or 0,
                new_points=new.points or 0,
            )
        )
    return tuple(sorted(changes, key=lambda change: change.name))


def _pot_held_cents(uow: UnitOfWork, race_id: int) -> int:
    return uow.ledger.race_pot_held_cents(race_id)


def _parse_racer(racer_id: int | str) -> int:
    try:
        return int(racer_id)
    except (TypeError, ValueError):
        raise InvalidInput("Pick the racer whose result you are fixing.") from None


def preview_admin_fix(
    race_id: int, racer_id: int | str, position: int | str, *, reason: str, actor_id: int, uow: UnitOfWork
) -> FixPreview:
    """What `admin_fix_result` would change, without changing anything.

    The fix runs inside this function's own transaction, which is rolled back
    (never committed); the league's checks and errors are the real ones.
    """
    racer_id = _parse_racer(racer_id)
    with uow:
        load_admin(uow, actor_id)
        before = league.get_race(race_id, uow=uow)
        after = league.admin_fix_result(
            race_id, racer_id, position, reason=reason, actor_id=actor_id, uow=uow
        )
        pot_held_cents = _pot_held_cents(uow, race_id)
        # Leaving the block without commit rolls the fix back.
    return FixPreview(race_id, before.name, _changes(before, after), pot_held_cents)


def apply_admin_fix(
    race_id: int,
    racer_id: int | str,
    position: int | str,
    *,
    reason: str,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> FixOutcome:
    """An admin moves one racer in a final race; returns the new places and the money moved.

    One transaction: the fix, the ledger's correction (its subscribers run
    before the moved cents are read) and the read of them commit together, or
    nothing does.
    """
    racer_id = _parse_racer(racer_id)
    with uow:
        load_admin(uow, actor_id)
        before = league.get_race(race_id, uow=uow)
        correction_before_id = uow.ledger.latest_result_correction_id(race_id)
        after = league.admin_fix_result(
            race_id, racer_id, position, reason=reason, actor_id=actor_id, uow=uow, now=now
        )
        uow.handle_events()  # the ledger posts its correction now, inside this transaction
        moved_cents = uow.ledger.wallet_moves_of_corrections_since(race_id, correction_before_id)
        pot_held_cents = _pot_held_cents(uow, race_id)
        assert sum(moved_cents.values()) == 0, (
            "a result correction only moves cents between the race's racers"
        )
        uow.commit()
    return FixOutcome(
        race=after,
        changes=_changes(before, after),
        moved_cents={racer: cents for racer, cents in moved_cents.items() if cents != 0},
        pot_held_cents=pot_held_cents,
    )


def _table_fix(
    race_id: int,
    table: Mapping[int, int | str],
    reason: str,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None,
) -> tuple[RaceView, RaceView, dict[int, int], int]:
    """Inside the caller's transaction: the whole-table fix and the cents its correction moved."""
    load_admin(uow, actor_id)
    before = league.get_race(race_id, uow=uow)
    correction_before_id = uow.ledger.latest_result_correction_id(race_id)
    after = league.fix_results(race_id, table, reason=reason, actor_id=actor_id, uow=uow, now=now)
    uow.handle_events()  # the ledger posts its one correction now, inside this transaction
    moved_cents = uow.ledger.wallet_moves_of_corrections_since(race_id, correction_before_id)
    assert sum(moved_cents.values()) == 0, "a result correction only moves cents between the race's racers"
    moved = {racer: cents for racer, cents in moved_cents.items() if cents != 0}
    return before, after, moved, _pot_held_cents(uow, race_id)


def preview_table_fix(
    race_id: int, table: Mapping[int, int | str], *, reason: str, actor_id: int, uow: UnitOfWork
) -> FixPreview:
    """What `apply_table_fix` would change (places, points, cents moved), without changing anything."""
    with uow:
        before, after, moved, held_cents = _table_fix(race_id, table, reason, actor_id, uow, None)
        # Leaving the block without commit rolls the fix and its correction back.
    return FixPreview(race_id, before.name, _changes(before, after), held_cents, moved)


def apply_table_fix(
    race_id: int,
    table: Mapping[int, int | str],
    *,
    reason: str,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> FixOutcome:
    """An admin sets a final race's whole table again: one correction, one reason, committed once."""
    with uow:
        before, after, moved, held_cents = _table_fix(race_id, table, reason, actor_id, uow, now)
        uow.commit()
    return FixOutcome(
        race=after, changes=_changes(before, after), moved_cents=moved, pot_held_cents=held_cents
    )

"""The supporters board: the fans who gave the most to the live race and to the active season.

Shown on the Watch dashboard and on `/overlay/supporters` (race or season).
What counts (the queries: `db/repositories/supporters.py`):
- merch sales AND DJ tips, at their gross (what the fan paid): a tip supports the
  night as much as a shirt. A sale counts in the race it was attributed to; a
  tip (it has no race) in the race whose window `[started_at, ended_at)` held it;
  a season counts its races' sales and whatever had no race (tips, a sale while
  no race was live) paid from its first race's start to its last race's end: a
  tip between two race nights counts for the season, in no race;
- a refunded payment (any refund of it) and one under an open chargeback count
  nothing, as the Live Pot feed stops showing a name beside them; a won dispute
  counts again;
- public display names only: the ledger records a name only when the fan chose
  one to be shown (the tip form's name, Ko-fi's `is_public`), never a
  cardholder's. Fans without one are left out: no "anonymous" line (it would add
  up people who asked not to be shown, and rank nobody);
- payments carry no fan identity, so a row is a name as recorded: two fans who
  chose the same display name share one row.
Ranked by total, then who gave first, then the name: the order never depends on
the database.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from cozykart.db.repositories.supporters import PaymentMarks, SeasonSpan, SupporterTotal
from cozykart.db.tables import Race
from cozykart.db.uow import UnitOfWork

SUPPORTERS_MAX = 10
SEASON_TALLIES_MAX = 8  # seasons' tallies kept per process (one per database and season)
RACE_SCOPE, SEASON_SCOPE = "race", "season"
SCOPES = (RACE_SCOPE, SEASON_SCOPE)


@dataclass(frozen=True)
class Supporter:
    rank: int
    name: str
    total_cents: int
    payments: int


@dataclass(frozen=True)
class SupportersBoard:
    race: tuple[Supporter, ...] = ()  # the live race's; empty while no race is live
    season: tuple[Supporter, ...] = ()  # the active season's; empty without one
    season_name: str = ""


def parse_scope(value: object) -> str:
    """`scope=race|season` from a URL: anything else is the race."""
    return value if isinstance(value, str) and value in SCOPES else RACE_SCOPE


def supporters_board(*, uow: UnitOfWork, limit: int = SUPPORTERS_MAX) -> SupportersBoard:
    with uow:
        return board_in(uow, uow.league.live_race(), limit=limit)


def board_in(uow: UnitOfWork, live_race: Race | None, *, limit: int = SUPPORTERS_MAX) -> SupportersBoard:
    """The board, read inside the caller's transaction (the Live Pot's read carries it)."""
    if limit < 1:
        raise ValueError("a board shows at least one supporter")
    race: tuple[Supporter, ...] = ()
    if live_race is not None and live_race.started_at is not None:
        race = _ranked(
            uow.supporters.top_of_race(live_race.id, live_race.started_at, live_race.ended_at, limit=limit)
        )
    season = uow.seasons.active_season()
    if season is None:
        return SupportersBoard(race=race)
    return SupportersBoard(
        race=race, season=_ranked(season_top(uow, season.id, limit=limit)), season_name=season.name
    )


def _ranked(totals: list[SupporterTotal]) -> tuple[Supporter, ...]:
    return tuple(
        Supporter(rank=rank, name=row.fan_name, total_cents=row.total_cents, payments=row.payments)
        for rank, row in enumerate(totals, start=1)
    )


# --- the season board, kept up to date from the payments that arrived since the last read ---------
#
# A Live Pot push reads the board, and a season holds every payment of its nights: summing them
# all on every push cost ~0.9 s at 200,000 payments. The tally per name is kept per process and
# only the new payments are added to it; anything else that could change a total (a refund or a
# dispute, a race of the season starting or ending) starts the tally again from every payment.
# Payments are append-only and a payment's row never changes, so this is exact: the board equals
# the full aggregate, provided every payment is added once. PostgreSQL hands out ids before
# commit, so a payment may appear below the highest id already read: the tally keeps each id
# missing below it (a hole) and reads again from the lowest hole, adding a payment that fills
# one. A hole is forgotten once every transaction that was open when it was seen has ended (it
# was rolled back, or its id was never used); SQLite takes ids in commit order, one writer at a
# time, so a hole there never fills and none is made by the app's writes. What a read costs is
# the payments above the lowest hole (a push's few), not the league's.

FILLED_HOLES_MAX = 500  # more holes filled at once than this: read the season again from the start


@dataclass
class _Hole:
    first_id: int
    last_id: int
    seen_at: datetime | None  # when the read that found it began (None on SQLite: kept)


@dataclass
class _Tally:
    span: SeasonSpan
    reversals: int
    payment_id_max: int = 0
    holes: list[_Hole] = field(default_factory=list)  # ids at or below payment_id_max not read yet, in order
    settled_before: datetime | None = None  # from the last read: holes seen before this cannot fill
    by_name: dict[str, SupporterTotal] = field(default_factory=dict)
    top: dict[int, list[SupporterTotal]] = field(default_factory=dict)  # by limit

    def floor(self) -> int:
        """The id to read above: below the lowest hole, else the highest id read."""
        return self.holes[0].first_id - 1 if self.holes else self.payment_id_max


_tallies: OrderedDict[tuple[str, int], _Tally] = OrderedDict()
_tallies_lock = threading.Lock()


def clear_season_tallies() -> None:
    with _tallies_lock:
        _tallies.clear()


def season_top(uow: UnitOfWork, season_id: int, *, limit: int) -> list[SupporterTotal]:
    """The season's top `limit` names, from this process's tally brought up to date."""
    repo = uow.supporters
    key = (str(uow.engine.url), season_id)
    with _tallies_lock:
        tally = _tallies.get(key)
        span = repo.season_span(season_id)
        floor = tally.floor() if tally is not None else 0
        marks = repo.payment_marks(floor)
        stale = tally is None or tally.span != span or tally.reversals != marks.reversals
        if tally is not None and not stale:
            after, up_to, filled = _advance(tally, marks)
            stale = len(filled) > FILLED_HOLES_MAX
        if tally is None or stale:
            if floor:
                marks = repo.payment_marks(0)
            tally = _Tally(span, marks.reversals)
            after, up_to, filled = _advance(tally, marks)
        if up_to > after or filled:
            added = repo.totals_of_season(
                season_id, span, after_payment_id=after, up_to_payment_id=up_to, also_ids=filled
            )
            _add(tally, added)
        _tallies[key] = tally
        _tallies.move_to_end(key)
        while len(_tallies) > SEASON_TALLIES_MAX:
            _tallies.popitem(last=False)
        if limit not in tally.top:
            tally.top[limit] = heapq.nsmallest(limit, tally.by_name.values(), key=_rank_key)
        return tally.top[limit]


def _advance(tally: _Tally, marks: PaymentMarks) -> tuple[int, int, tuple[int, ...]]:
    """Take a read's ids into the tally's marks: the new range (after, up_to], and the holes it filled.

    Every id above the tally's floor was read: one at or below the highest id
    already read is either counted already or fills a hole; the ids missing
    above it become holes.
    """
    after = tally.payment_id_max
    old = [id_ for id_ in marks.ids if id_ <= after]
    firsts = [hole.first_id for hole in tally.holes]
    filled = tuple(id_ for id_ in old if _in_holes(tally.holes, firsts, id_))
    holes = _without(tally.holes, filled)
    previous = after
    for id_ in marks.ids[len(old) :]:
        if id_ > previous + 1:
            holes.append(_Hole(previous + 1, id_ - 1, marks.read_at))
        previous = id_
    settled = tally.settled_before
    tally.holes = [
        hole for hole in holes if settled is None or hole.seen_at is None or hole.seen_at >= settled
    ]
    tally.settled_before = marks.settled_before
    tally.payment_id_max = max(after, marks.ids[-1]) if marks.ids else after
    return after, tally.payment_id_max, filled


def _in_holes(holes: list[_Hole], firsts: list[int], id_: int) -> bool:
    """`id_` is in one of the holes (`firsts`: their first ids, in order)."""
    index = bisect.bisect_right(firsts, id_) - 1
    return index >= 0 and id_ <= holes[index].last_id


def _without(holes: list[_Hole], filled: tuple[int, ...]) -> list[_Hole]:
    """The holes with the filled ids taken out (a hole split around each)."""
    if not filled:
        return list(holes)
    taken, kept = set(filled), []
    for hole in holes:
        first = hole.first_id
        for id_ in sorted(id_ for id_ in taken if hole.first_id <= id_ <= hole.last_id):
            if id_ > first:
                kept.append(_Hole(first, id_ - 1, hole.seen_at))
            first = id_ + 1
        if first <= hole.last_id:
            kept.append(_Hole(first, hole.last_id, hole.seen_at))
    return kept


def _add(tally: _Tally, added: list[SupporterTotal]) -> None:
    """New payments' totals into the tally; each board's top from its old top and the names that grew.

    Totals only grow here (reversals restart the tally), so a name outside a top
    that did not change cannot enter it.
    """
    changed = []
    for row in added:
        old = tally.by_name.get(row.fan_name)
        if old is not None:
            row = SupporterTotal(
                fan_name=row.fan_name,
                total_cents=old.total_cents + row.total_cents,
                payments=old.payments + row.payments,
                first_at=min(old.first_at, row.first_at),
            )
        tally.by_name[row.fan_name] = row
        changed.append(row)
    changed_names = {row.fan_name for row in changed}
    for limit, top in tally.top.items():
        kept = [row for row in top if row.fan_name not in changed_names]
        tally.top[limit] = heapq.nsmallest(limit, kept + changed, key=_rank_key)


def _rank_key(row: SupporterTotal) -> tuple[int, datetime, str]:
    """Most given first, then who gave first, then the name (as the race board's query orders)."""
    return (-row.total_cents, row.first_at, row.fan_name)

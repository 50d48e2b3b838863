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

from dataclasses import dataclass

from cozykart.db.repositories.supporters import SupporterTotal
from cozykart.db.tables import Race
from cozykart.db.uow import UnitOfWork

SUPPORTERS_MAX = 10
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
        race=race,
        season=_ranked(uow.supporters.top_of_season(season.id, limit=limit)),
        season_name=season.name,
    )


def _ranked(totals: list[SupporterTotal]) -> tuple[Supporter, ...]:
    return tuple(
        Supporter(rank=rank, name=row.fan_name, total_cents=row.total_cents, payments=row.payments)
        for rank, row in enumerate(totals, start=1)
    )

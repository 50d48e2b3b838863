"""The Watch dashboard's read model: the current race and the season's leaders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case
from sqlmodel import col, select

from cozykart.db.tables import Race, RaceEntry, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import RaceStatus
from cozykart.services.reads.standings import season_standings
from cozykart.settings import WATCH_TOP_RACERS_COUNT

DEFAULT_AVATAR_URL = "/avatars/default.svg"

# Which race the dashboard shows, best first: the live one, then a lobby about
# to start, then the race that finished last.
_CURRENT_RACE_ORDER = {RaceStatus.LIVE: 0, RaceStatus.OPEN: 1, RaceStatus.ENDED: 2, RaceStatus.FINAL: 3}


@dataclass(frozen=True)
class RacerCard:
    racer_id: int
    name: str
    avatar_url: str
    position: int | None


@dataclass(frozen=True)
class CurrentRace:
    race_id: int
    name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    racers: tuple[RacerCard, ...]


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    racer_id: int
    name: str
    avatar_url: str
    points: int
    wins: int
    races: int


@dataclass(frozen=True)
class WatchSnapshot:
    race: CurrentRace | None
    season_name: str | None
    sponsor_name: str | None
    leaders: tuple[LeaderRow, ...]


def racer_name(racer: Racer) -> str:
    """The name the league shows: the Mario Kart Tour name when set."""
    return racer.mkt_name or racer.display_name


def racer_avatar(racer: Racer) -> str:
    return racer.avatar_url or DEFAULT_AVATAR_URL


def watch_snapshot(*, uow: UnitOfWork) -> WatchSnapshot:
    # The same standings (and tie-breaks) as the standings page, read first in
    # their own unit of work: a first read may build and commit them.
    standings = season_standings(uow=uow, limit=WATCH_TOP_RACERS_COUNT)
    with uow:
        race = _current_race(uow.session)
    season = standings.season if standings is not None else None
    return WatchSnapshot(
        race=race,
        season_name=season.name if season else None,
        sponsor_name=season.sponsor_name if season else None,
        leaders=tuple(
            LeaderRow(
                rank=row.rank,
                racer_id=row.racer_id,
                name=row.mkt_name or row.display_name,
                avatar_url=row.avatar_url or DEFAULT_AVATAR_URL,
                points=row.points,
                wins=row.wins,
                races=row.races,
            )
            for row in (standings.rows if standings is not None else ())
        ),
    )


def _current_race(session) -> CurrentRace | None:
    rank = case(_CURRENT_RACE_ORDER, value=Race.status, else_=9)
    race = session.exec(
        select(Race)
        .where(col(Race.status).in_(tuple(_CURRENT_RACE_ORDER)))
        .order_by(rank, col(Race.started_at).desc().nulls_last(), col(Race.id).desc())
        .limit(1)
    ).first()
    if race is None:
        return None
    rows = session.exec(
        select(RaceEntry, Racer)
        .join(Racer, col(Racer.id) == RaceEntry.racer_id)
        .where(RaceEntry.race_id == race.id)
        .order_by(col(RaceEntry.position).nulls_last(), col(RaceEntry.joined_at), col(RaceEntry.id))
    ).all()
    racers = tuple(
        RacerCard(
            racer_id=racer.id, name=racer_name(racer), avatar_url=racer_avatar(racer), position=entry.position
        )
        for entry, racer in rows
    )
    return CurrentRace(
        race_id=race.id,
        name=race.name,
        status=race.status,
        started_at=race.started_at,
        ended_at=race.ended_at,
        racers=racers,
    )

"""The Watch dashboard's read model: the current race and the season's leaders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import select

from cozykart.db.tables import Race, RaceEntry, Racer, Season
from cozykart.db.uow import UnitOfWork
from cozykart.settings import WATCH_TOP_RACERS_COUNT

# Which race the dashboard shows, best first: the live one, then a lobby about
# to start, then the race that finished last.
_CURRENT_RACE_ORDER = {"live": 0, "open": 1, "ended": 2, "final": 3}


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
    return racer.avatar_url or "/avatars/default.svg"


def watch_snapshot(*, uow: UnitOfWork) -> WatchSnapshot:
    with uow:
        session = uow.session
        race = _current_race(session)
        season = session.exec(select(Season).where(Season.status == "active")).first()
        leaders = _leaders(session, season.id) if season is not None else ()
        return WatchSnapshot(
            race=race,
            season_name=season.name if season else None,
            sponsor_name=season.sponsor_name if season else None,
            leaders=leaders,
        )


def _current_race(session) -> CurrentRace | None:
    rank = case(_CURRENT_RACE_ORDER, value=Race.status, else_=9)
    race = session.exec(
        select(Race)
        .where(Race.status.in_(tuple(_CURRENT_RACE_ORDER)))
        .order_by(rank, Race.started_at.desc().nulls_last(), Race.id.desc())
        .limit(1)
    ).first()
    if race is None:
        return None
    rows = session.exec(
        select(RaceEntry, Racer)
        .join(Racer, Racer.id == RaceEntry.racer_id)
        .where(RaceEntry.race_id == race.id)
        .order_by(RaceEntry.position.nulls_last(), RaceEntry.joined_at, RaceEntry.id)
    ).all()
    racers = tuple(
        RacerCard(
            racer_id=racer.id,
            name=racer_name(racer),
            avatar_url=racer_avatar(racer),
            position=entry.position,
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


def _leaders(session, season_id: int) -> tuple[LeaderRow, ...]:
    points = func.coalesce(func.sum(RaceEntry.points), 0)
    wins = func.sum(case((RaceEntry.position == 1, 1), else_=0))
    average_finish = func.avg(RaceEntry.position)
    rows = session.exec(
        select(Racer, points, wins, func.count(RaceEntry.id))
        .join(RaceEntry, RaceEntry.racer_id == Racer.id)
        .join(Race, Race.id == RaceEntry.race_id)
        .where(Race.season_id == season_id, Race.status == "final")
        .group_by(Racer.id)
        .order_by(points.desc(), wins.desc(), average_finish.asc().nulls_last(), Racer.id)
        .limit(WATCH_TOP_RACERS_COUNT)
    ).all()
    return tuple(
        LeaderRow(
            rank=index,
            racer_id=racer.id,
            name=racer_name(racer),
            avatar_url=racer_avatar(racer),
            points=int(points_total),
            wins=int(win_count or 0),
            races=int(race_count),
        )
        for index, (racer, points_total, win_count, race_count) in enumerate(rows, start=1)
    )

"""Standings, the points chart and racer profiles: reads for the league pages.

Standings are read from the `season_standing` table, which the league services
keep in step with every final result and fix (see `league_repo.refresh_standings`);
a read is one indexed scan, whatever the number of results in the season.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from sqlmodel import Session, case, col, func, select

from cozykart.db import league_repo
from cozykart.db.tables import Race, RaceEntry, Racer, Season, SeasonStanding
from cozykart.db.uow import UnitOfWork
from cozykart.domain import league
from cozykart.domain.league import RacerTally, SeasonNotFound, SeasonStatus
from cozykart.services.reads.league_views import (
    CareerStats,
    ChartPoint,
    ChartSeries,
    HistoryLine,
    RacerCard,
    RacerProfile,
    SeasonStats,
    SeasonView,
    StandingRow,
    StandingsView,
    Trophy,
)

CHART_RACER_COUNT_DEFAULT = 5
CHART_RACER_COUNT_MAX = 20
RACE_HISTORY_LENGTH_MAX = 200
TROPHY_RANK_MAX = 3
STANDINGS_CACHE_ENTRIES_MAX = 32
# Points and ranks are never stale (the version says so); a racer's name or
# avatar changed by code that does not bump the version shows within this.
STANDINGS_CACHE_AGE_SECONDS_MAX = 30.0


def season_standings(
    season_id: int | None = None, *, uow: UnitOfWork, limit: int | None = None
) -> StandingsView | None:
    """The standings of a season, best first (the active season when none is named;
    else the latest closed one). None when there is no season at all.

    Views are kept in a small per-process cache, checked against the season's
    `standings_version` (bumped in the transaction of every change), so a read
    while nothing changed costs one small query.
    """
    with uow:
        session = uow.session
        season = _pick_season(session, season_id)
        if season is None:
            return None
        _build_standings_if_never_built(uow, season)
        key = (
            str(uow.engine.url),
            season.id,
            season.created_at,
            season.status,
            season.champion_racer_id,
            season.standings_version,
            limit,
        )
        cached = _cache_get(key)
        if cached is not None:
            return cached
        statement = league_repo.standings_columns_statement(season.id)
        if limit is not None:
            statement = statement.limit(max(0, limit))
        # Plain Core rows and flat views: a season can have thousands of racers.
        rows = [
            StandingRow(
                rank,
                racer_id,
                display_name,
                mkt_name,
                avatar_url,
                points,
                wins,
                races,
                podiums,
                finishes,
                position_sum / finishes if finishes else None,
            )
            for rank, (
                racer_id,
                points,
                wins,
                podiums,
                races,
                finishes,
                position_sum,
                display_name,
                mkt_name,
                avatar_url,
            ) in enumerate(_plain_rows(session, statement), start=1)
        ]
        racer_count = len(rows) if limit is None else _standing_count(session, season.id)
        view = StandingsView(season=_season_view(session, season), rows=tuple(rows), racer_count=racer_count)
        _cache_put(key, view)
        return view


def clear_standings_cache() -> None:
    with _cache_lock:
        _cache.clear()


_cache: OrderedDict[tuple, tuple[float, StandingsView]] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_get(key: tuple) -> StandingsView | None:
    with _cache_lock:
        entry = _cache.get(key)
        if entry is None:
            return None
        cached_at, view = entry
        if time.monotonic() - cached_at > STANDINGS_CACHE_AGE_SECONDS_MAX:
            del _cache[key]
            return None
        _cache.move_to_end(key)
        return view


def _cache_put(key: tuple, view: StandingsView) -> None:
    with _cache_lock:
        _cache[key] = (time.monotonic(), view)
        _cache.move_to_end(key)
        while len(_cache) > STANDINGS_CACHE_ENTRIES_MAX:
            _cache.popitem(last=False)


def points_chart(
    season_id: int | None = None,
    *,
    uow: UnitOfWork,
    racer_ids: Sequence[int] | None = None,
    top: int = CHART_RACER_COUNT_DEFAULT,
) -> tuple[ChartSeries, ...]:
    """Points after each race, per racer: the leaders (or `racer_ids`) of a season."""
    with uow:
        session = uow.session
        season = _pick_season(session, season_id)
        if season is None:
            return ()
        _build_standings_if_never_built(uow, season)
        if racer_ids is None:
            top = max(0, min(top, CHART_RACER_COUNT_MAX))
            statement = league_repo.standings_columns_statement(season.id).limit(top)
            racer_ids = [values[0] for values in session.exec(statement)]
        racer_ids = list(racer_ids)[:CHART_RACER_COUNT_MAX]
        if not racer_ids:
            return ()
        racers = {r.id: r for r in session.exec(select(Racer).where(col(Racer.id).in_(racer_ids)))}
        lines = league_repo.result_lines(session, season.id, racer_ids)
        race_names = dict(
            session.exec(
                select(Race.id, Race.name).where(col(Race.id).in_({line.race_id for line in lines}))
            ).all()
        )
        series = []
        for racer_id in racer_ids:
            if racer_id not in racers:
                continue
            progression = league.points_progression(line for line in lines if line.racer_id == racer_id)
            series.append(
                ChartSeries(
                    racer=RacerCard.of(racers[racer_id]),
                    points=tuple(
                        ChartPoint(
                            race_id=line.race_id,
                            race_name=race_names[line.race_id],
                            started_at=line.race_started_at,
                            points_total=total,
                        )
                        for line, total in progression
                    ),
                )
            )
        return tuple(series)


def racer_profile(racer_id: int, *, uow: UnitOfWork) -> RacerProfile:
    """A racer's page: career and per-season stats, race history, trophies."""
    with uow:
        session = uow.session
        racer = session.get(Racer, racer_id)
        if racer is None:
            raise league.RacerNotFound(racer_id)
        standing_rows = session.exec(
            select(SeasonStanding, Season)
            .join(Season, col(Season.id) == SeasonStanding.season_id)
            .where(SeasonStanding.racer_id == racer_id)
            .order_by(col(Season.starts_on).desc(), col(Season.id).desc())
        ).all()
        seasons = []
        trophies = []
        for row, season in standing_rows:
            rank = row.rank_at_close or _rank_in(session, season.id, racer_id)
            average = _average(row.position_sum, row.finishes)
            seasons.append(
                SeasonStats(
                    season_id=season.id,
                    season_name=season.name,
                    season_status=season.status,
                    rank=rank,
                    points=row.points,
                    wins=row.wins,
                    races=row.races,
                    podiums=row.podiums,
                    average_finish=average,
                )
            )
            if season.status == SeasonStatus.CLOSED and rank <= TROPHY_RANK_MAX:
                trophies.append(
                    Trophy(
                        season_id=season.id,
                        season_name=season.name,
                        rank=rank,
                        sponsor_name=season.sponsor_name,
                        closed_at=season.closed_at,
                    )
                )
        career = CareerStats(
            races=sum(row.races for row, _ in standing_rows),
            wins=sum(row.wins for row, _ in standing_rows),
            podiums=sum(row.podiums for row, _ in standing_rows),
            points=sum(row.points for row, _ in standing_rows),
            average_finish=_average(
                sum(row.position_sum for row, _ in standing_rows),
                sum(row.finishes for row, _ in standing_rows),
            ),
        )
        return RacerProfile(
            racer=RacerCard.of(racer),
            created_at=racer.created_at,
            career=career,
            seasons=tuple(seasons),
            history=_history(session, racer_id),
            trophies=tuple(sorted(trophies, key=lambda trophy: (trophy.rank, -trophy.season_id))),
        )


def recompute_standings(season_id: int, *, uow: UnitOfWork) -> list[RacerTally]:
    """The standings recomputed from every result (the reference the stored table must equal)."""
    with uow:
        return league.compute_standings(league_repo.result_lines(uow.session, season_id))


def stored_standings(season_id: int, *, uow: UnitOfWork) -> list[RacerTally]:
    """The standings as stored, best first, as domain tallies."""
    with uow:
        return league_repo.standing_tallies(uow.session, season_id)


# --- internals ------------------------------------------------------------------


def _pick_season(session: Session, season_id: int | None) -> Season | None:
    if season_id is not None:
        season = session.get(Season, season_id)
        if season is None:
            raise SeasonNotFound(season_id)
        return season
    preference = case(
        (Season.status == SeasonStatus.ACTIVE, 0), (Season.status == SeasonStatus.CLOSED, 1), else_=2
    )
    return session.exec(
        select(Season)
        .order_by(preference, col(Season.closed_at).desc().nulls_last(), col(Season.id).desc())
        .limit(1)
    ).first()


def _build_standings_if_never_built(uow: UnitOfWork, season: Season) -> None:
    """Build the standings of a season whose final races were written without the
    league services (demo seeding, an import): its `standings_version` is still 0.

    Every finalisation through the services bumps the version, so this runs at
    most once per such season, and costs one small query otherwise.
    """
    if season.standings_version != 0 or season.status == SeasonStatus.CLOSED:
        return
    has_final_race = uow.session.exec(
        select(Race.id).where(Race.season_id == season.id, Race.status == league.RaceStatus.FINAL).limit(1)
    ).first()
    if has_final_race is None:
        return
    # Two first readers at once: the second waits for the first, then sees it built.
    if not uow.seasons.build_standings_never_built(season):
        return
    uow.commit()
    uow.session.refresh(season)
    assert season.standings_version > 0


def _plain_rows(session: Session, statement) -> list[Any]:
    """A Core statement's rows, as plain tuples to unpack."""
    return list(session.connection().execute(statement))


def _season_view(session: Session, season: Season) -> SeasonView:
    champion = session.get(Racer, season.champion_racer_id) if season.champion_racer_id else None
    return SeasonView.of(season, champion)


def _standing_count(session: Session, season_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(SeasonStanding).where(SeasonStanding.season_id == season_id)
    ).one()


def _rank_in(session: Session, season_id: int, racer_id: int) -> int:
    statement = league_repo.standings_columns_statement(season_id)
    ordered = [values[0] for values in session.exec(statement)]
    return ordered.index(racer_id) + 1


def _average(position_sum: int, finishes: int) -> float | None:
    return float(Fraction(position_sum, finishes)) if finishes else None


def _history(session: Session, racer_id: int) -> tuple[HistoryLine, ...]:
    rows = session.exec(
        select(RaceEntry, Race)
        .join(Race, col(Race.id) == RaceEntry.race_id)
        .where(RaceEntry.racer_id == racer_id, Race.status != league.RaceStatus.CANCELLED)
        .order_by(col(Race.started_at).desc().nulls_first(), col(Race.id).desc())
        .limit(RACE_HISTORY_LENGTH_MAX)
    ).all()
    race_ids = [race.id for _, race in rows]
    sizes = dict(
        session.exec(
            select(RaceEntry.race_id, func.count())
            .where(col(RaceEntry.race_id).in_(race_ids))
            .group_by(col(RaceEntry.race_id))
        ).all()
    )
    season_ids = {race.season_id for _, race in rows if race.season_id is not None}
    season_names = dict(
        session.exec(select(Season.id, Season.name).where(col(Season.id).in_(season_ids))).all()
    )
    return tuple(
        HistoryLine(
            race_id=race.id,
            race_name=race.name,
            season_id=race.season_id,
            season_name=season_names.get(race.season_id) if race.season_id else None,
            status=race.status,
            started_at=race.started_at,
            racer_count=sizes.get(race.id, 0),
            position=entry.position,
            dnf=entry.dnf,
            points=entry.points,
        )
        for entry, race in rows
    )

"""Reads of the league (and the writes of its standings) inside an open session.

Shared by the repositories (`cozykart/db/repositories/`: services reach these
through them) and the read models. The ledger uses these inside its own
transaction (which race was live at a sale's instant; what a race's outcome
is), so they take a Session rather than opening one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Float, case, cast, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from cozykart.db.tables import Race, RaceEntry, Racer, Season, SeasonStanding
from cozykart.domain.events import RaceOutcome, RaceResult, RaceWindow, SplitRule
from cozykart.domain.league import (
    SPLIT_POLICY_DEFAULT,
    WINNER_BONUS_BPS_DEFAULT,
    RacerTally,
    RaceStatus,
    ResultLine,
    compute_standings,
    tally,
)

DEFAULT_SPLIT = SplitRule(policy=SPLIT_POLICY_DEFAULT, winner_bonus_bps=WINNER_BONUS_BPS_DEFAULT)


def race_live_at(session: Session, instant: datetime) -> RaceWindow | None:
    """The race whose commission window contains `instant`, if any."""
    statement = (
        select(Race)
        .where(Race.started_at.is_not(None), Race.started_at <= instant)
        .where(or_(Race.ended_at.is_(None), Race.ended_at > instant))
        .where(Race.status != RaceStatus.CANCELLED)
        .order_by(Race.started_at.desc())
        .limit(1)
    )
    race = session.exec(statement).first()
    if race is None:
        return None
    return RaceWindow(
        race_id=race.id,
        name=race.name,
        season_id=race.season_id,
        status=race.status,
        started_at=race.started_at,
        ended_at=race.ended_at,
    )


def race_outcome(session: Session, race_id: int) -> RaceOutcome | None:
    race = session.get(Race, race_id)
    if race is None:
        return None
    entries = session.exec(
        select(RaceEntry).where(RaceEntry.race_id == race_id).order_by(RaceEntry.racer_id)
    ).all()
    season = session.get(Season, race.season_id) if race.season_id is not None else None
    split = (
        SplitRule(policy=season.split_policy, winner_bonus_bps=season.winner_bonus_bps)
        if season is not None
        else DEFAULT_SPLIT
    )
    results = tuple(
        RaceResult(racer_id=e.racer_id, position=e.position, dnf=e.dnf, points=e.points or 0)
        for e in entries
        if e.position is not None or e.dnf
    )
    return RaceOutcome(
        race_id=race.id,
        name=race.name,
        season_id=race.season_id,
        status=race.status,
        racer_ids=tuple(e.racer_id for e in entries),
        results=results,
        split=split,
    )


def points_table(season: Season) -> dict[str, list[int]]:
    return json.loads(season.points_table)


# --- standings: kept in step with final results ---------------------------------


def result_lines(
    session: Session, season_id: int, racer_ids: Iterable[int] | None = None
) -> list[ResultLine]:
    """Every result of the season's final races (of `racer_ids` only, when given)."""
    statement = (
        select(RaceEntry.racer_id, Race.id, Race.started_at, RaceEntry.position, RaceEntry.points)
        .join(Race, Race.id == RaceEntry.race_id)
        .where(Race.season_id == season_id, Race.status == RaceStatus.FINAL)
    )
    if racer_ids is not None:
        statement = statement.where(RaceEntry.racer_id.in_(sorted(set(racer_ids))))
    lines = []
    for racer_id, race_id, started_at, position, points in session.exec(statement):
        assert started_at is not None and points is not None, "a final race has a start and points"
        lines.append(
            ResultLine(
                racer_id=racer_id,
                race_id=race_id,
                race_started_at=started_at,
                position=position,
                points=points,
            )
        )
    return lines


def refresh_standings(session: Session, season_id: int, racer_ids: Iterable[int]) -> None:
    """Recompute the standing rows of `racer_ids` from their results in the season.

    Called in the transaction that made a race final or fixed it. The season's
    row, then the racers' rows (in id order) are locked first -- the league's
    lock order is race, season, racers -- so concurrent finalisations touching
    the same racers apply one after the other and never deadlock.
    """
    racer_ids = sorted(set(racer_ids))
    if not racer_ids:
        return
    session.exec(select(Season.id).where(Season.id == season_id).with_for_update()).all()
    session.exec(select(Racer.id).where(Racer.id.in_(racer_ids)).order_by(Racer.id).with_for_update()).all()
    lines = result_lines(session, season_id, racer_ids)
    existing = {
        row.racer_id: row
        for row in session.exec(
            select(SeasonStanding).where(
                SeasonStanding.season_id == season_id, SeasonStanding.racer_id.in_(racer_ids)
            )
        )
    }
    for racer_id in racer_ids:
        counted = tally(racer_id, lines)
        row = existing.get(racer_id)
        if counted is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = SeasonStanding(season_id=season_id, racer_id=racer_id)
        row.points = counted.points
        row.wins = counted.wins
        row.podiums = counted.podiums
        row.races = counted.races
        row.finishes = counted.finishes
        row.position_sum = counted.position_sum
        row.reached_started_at = counted.reached_started_at
        row.reached_race_id = counted.reached_race_id
        session.add(row)
    session.flush()
    bump_standings_version(session, [season_id])


def bump_standings_version(session: Session, season_ids: Iterable[int]) -> None:
    """Mark the seasons' standings as changed (cached views of them are stale)."""
    season_ids = sorted(set(season_ids))
    if season_ids:
        session.exec(
            update(Season)
            .where(Season.id.in_(season_ids))
            .values(standings_version=Season.standings_version + 1)
        )


def racer_by_discord_id(session: Session, discord_id: str) -> Racer | None:
    return session.exec(select(Racer).where(Racer.discord_id == discord_id)).first()


def upsert_racer(
    session: Session,
    *,
    discord_id: str,
    username: str,
    display_name: str,
    avatar_url: str | None,
    now: datetime,
) -> Racer:
    """The racer for a Discord user, created on first sight; later calls refresh the names and avatar.

    The values are stored as given (the caller cleans them). A first sight in two
    requests at the same instant (two tabs logging in, a login and a slash
    command) creates one racer: the loser of the unique index reads the winner's.
    The Mario Kart Tour name is the racer's own and is kept.
    """
    racer = racer_by_discord_id(session, discord_id)
    if racer is None:
        try:
            with session.begin_nested():
                racer = Racer(
                    discord_id=discord_id,
                    username=username,
                    display_name=display_name,
                    avatar_url=avatar_url,
                    created_at=now,
                )
                session.add(racer)
        except IntegrityError:
            racer = racer_by_discord_id(session, discord_id)
            assert racer is not None
    if (racer.username, racer.display_name, racer.avatar_url) != (username, display_name, avatar_url):
        # Cached standings show names and avatars (and seasons lock before racers: the
        # lock order of every league transaction).
        bump_standings_version_of_racer(session, racer.id)
        racer.username, racer.display_name, racer.avatar_url = username, display_name, avatar_url
        session.add(racer)
    session.flush()
    return racer


def bump_standings_version_of_racer(session: Session, racer_id: int) -> None:
    """A racer's shown name or avatar changed: every season they stand in is stale."""
    season_ids = session.exec(
        select(SeasonStanding.season_id).where(SeasonStanding.racer_id == racer_id)
    ).all()
    bump_standings_version(session, season_ids)


def rebuild_standings(session: Session, season_id: int) -> int:
    """Recompute the whole season's standing rows from its results; the row count."""
    session.exec(delete(SeasonStanding).where(SeasonStanding.season_id == season_id))
    rows = compute_standings(result_lines(session, season_id))
    for row in rows:
        session.add(
            SeasonStanding(
                season_id=season_id,
                racer_id=row.racer_id,
                points=row.points,
                wins=row.wins,
                podiums=row.podiums,
                races=row.races,
                finishes=row.finishes,
                position_sum=row.position_sum,
                reached_started_at=row.reached_started_at,
                reached_race_id=row.reached_race_id,
            )
        )
    session.flush()
    bump_standings_version(session, [season_id])
    return len(rows)


def _average_finish_column():
    # Both databases divide in double precision; two different averages of
    # integers this small never round to the same double, so the order is exact.
    return cast(SeasonStanding.position_sum, Float) / func.nullif(SeasonStanding.finishes, 0)


def standings_statement(season_id: int):
    """The season's standing rows with their racers, best first (domain.standing_key's order)."""
    return (
        select(SeasonStanding, Racer)
        .join(Racer, Racer.id == SeasonStanding.racer_id)
        .where(SeasonStanding.season_id == season_id)
        .order_by(
            SeasonStanding.points.desc(),
            SeasonStanding.wins.desc(),
            case((SeasonStanding.finishes == 0, 1), else_=0),
            _average_finish_column(),
            SeasonStanding.reached_started_at,
            SeasonStanding.reached_race_id,
            SeasonStanding.racer_id,
        )
    )


def standing_tallies(session: Session, season_id: int) -> list[RacerTally]:
    """The stored standings as domain tallies, best first."""
    return [
        RacerTally(
            racer_id=row.racer_id,
            points=row.points,
            wins=row.wins,
            podiums=row.podiums,
            races=row.races,
            finishes=row.finishes,
            position_sum=row.position_sum,
            reached_started_at=row.reached_started_at,
            reached_race_id=row.reached_race_id,
        )
        for row, _racer in session.exec(standings_statement(season_id))
    ]


def standings_columns_statement(season_id: int):
    """Like `standings_statement`, but only the shown columns (fast to read for big seasons):
    racer_id, points, wins, podiums, races, finishes, position_sum, display_name, mkt_name, avatar_url.
    """
    ordered = standings_statement(season_id)
    return ordered.with_only_columns(
        SeasonStanding.racer_id,
        SeasonStanding.points,
        SeasonStanding.wins,
        SeasonStanding.podiums,
        SeasonStanding.races,
        SeasonStanding.finishes,
        SeasonStanding.position_sum,
        Racer.display_name,
        Racer.mkt_name,
        Racer.avatar_url,
        maintain_column_froms=True,
    )

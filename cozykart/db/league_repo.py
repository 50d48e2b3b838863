"""Reads of the league inside an open session, shared by services.

The ledger uses these inside its own transaction (which race was live at a
sale's instant; what a race's outcome is), so they take a Session rather than
opening one.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, or_, select

from cozykart.db.tables import Race, RaceEntry, Season
from cozykart.domain.events import RaceOutcome, RaceResult, RaceWindow, SplitRule

DEFAULT_SPLIT = SplitRule(policy="even", winner_bonus_bps=5000)


def race_live_at(session: Session, instant: datetime) -> RaceWindow | None:
    """The race whose commission window contains `instant`, if any."""
    statement = (
        select(Race)
        .where(Race.started_at.is_not(None), Race.started_at <= instant)
        .where(or_(Race.ended_at.is_(None), Race.ended_at > instant))
        .where(Race.status != "cancelled")
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

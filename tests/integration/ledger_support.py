"""Set-up for ledger tests: racers, races and results written directly as rows.

The league's services are built separately; these helpers only create the rows
the ledger reads (a race with its window and entries) and emit the league's
events the way the league does, inside a unit of work.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from cozykart.db.league_repo import race_outcome
from cozykart.db.tables import Race, RaceEntry, Racer, Season
from cozykart.domain.events import RaceFinalized, ResultsCorrected
from cozykart.domain.league import DEFAULT_POINTS_TABLE
from cozykart.settings import Settings

ADMIN_DISCORD_ID = "900000000000000001"
T0 = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


def settings_for(database, **overrides) -> Settings:
    values = {"db_url": database.url, "admin_discord_ids": frozenset({ADMIN_DISCORD_ID})}
    values.update(overrides)
    return Settings(**values)


def make_racers(database, count: int, *, prefix: str = "racer") -> list[int]:
    with database.uow() as uow:
        existing = len(uow.session.exec(select(Racer)).all())
        racers = [
            Racer(
                discord_id=f"{100000 + existing + n}",
                username=f"{prefix}{existing + n}",
                display_name=f"{prefix.title()} {existing + n}",
            )
            for n in range(count)
        ]
        uow.session.add_all(racers)
        uow.session.flush()
        ids = [racer.id for racer in racers]
        uow.commit()
    return ids


def make_admin(database) -> int:
    with database.uow() as uow:
        admin = Racer(discord_id=ADMIN_DISCORD_ID, username="admin", display_name="Admin")
        uow.session.add(admin)
        uow.session.flush()
        admin_id = admin.id
        uow.commit()
    return admin_id


def make_season(database, *, policy: str = "even", winner_bonus_bps: int = 5000) -> int:
    with database.uow() as uow:
        count = len(uow.session.exec(select(Season)).all())
        season = Season(
            name=f"Season {count + 1}",
            starts_on=T0.date(),
            ends_on=(T0 + timedelta(days=90)).date(),
            points_table=json.dumps({"default": list(DEFAULT_POINTS_TABLE)}),
            split_policy=policy,
            winner_bonus_bps=winner_bonus_bps,
            status="upcoming",
        )
        uow.session.add(season)
        uow.session.flush()
        season_id = season.id
        uow.commit()
    return season_id


def make_race(
    database,
    racer_ids: list[int],
    *,
    started_at: datetime = T0,
    ended_at: datetime | None = None,
    status: str = "live",
    season_id: int | None = None,
    name: str | None = None,
) -> int:
    with database.uow() as uow:
        count = len(uow.session.exec(select(Race)).all())
        race = Race(
            name=name or f"Race {count + 1}",
            host_racer_id=racer_ids[0],
            season_id=season_id,
            status=status,
            started_at=started_at,
            ended_at=ended_at,
        )
        uow.session.add(race)
        uow.session.flush()
        for racer_id in racer_ids:
            uow.session.add(RaceEntry(race_id=race.id, racer_id=racer_id))
        race_id = race.id
        uow.commit()
    return race_id


def end_race(database, race_id: int, *, ended_at: datetime) -> None:
    with database.uow() as uow:
        race = uow.session.get(Race, race_id)
        race.status = "ended"
        race.ended_at = ended_at
        uow.session.add(race)
        uow.commit()


def _set_results(uow, race_id: int, positions: dict[int, int | None]) -> None:
    size = len(positions)
    table = list(DEFAULT_POINTS_TABLE) + [0] * max(0, size - len(DEFAULT_POINTS_TABLE))
    for entry in uow.session.exec(select(RaceEntry).where(RaceEntry.race_id == race_id)).all():
        position = positions.get(entry.racer_id)
        entry.position = position
        entry.dnf = position is None
        entry.points = table[position - 1] if position else 0
        uow.session.add(entry)


def finalize_race(database, race_id: int, positions: dict[int, int | None], *, at: datetime) -> None:
    """What the league does: results final, then RaceFinalized in the same transaction."""
    with database.uow() as uow:
        race = uow.session.get(Race, race_id)
        if race.ended_at is None:
            race.ended_at = at
        race.status = "final"
        race.finalized_at = at
        uow.session.add(race)
        _set_results(uow, race_id, positions)
        uow.session.flush()
        uow.emit(RaceFinalized(outcome=race_outcome(uow.session, race_id), finalized_at=at))
        uow.commit()


def fix_results(
    database, race_id: int, positions: dict[int, int | None], *, fix_id: int, at: datetime
) -> None:
    """What an admin fix does: new results, then ResultsCorrected in the same transaction."""
    with database.uow() as uow:
        _set_results(uow, race_id, positions)
        uow.session.flush()
        uow.emit(
            ResultsCorrected(
                outcome=race_outcome(uow.session, race_id),
                fix_ids=(fix_id,),
                reason="wrong finishing order",
                corrected_at=at,
            )
        )
        uow.commit()

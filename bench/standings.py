"""Benchmark: standings of a season of 5,000 racers and 200,000 results on SQLite.

    python bench/standings.py [--racers 5000] [--results 200000] [--repeat 30] [--db PATH] [--json]

Builds a fresh, migrated SQLite database (a temporary file unless --db), fills
one season with final races of 8 racers, builds the stored standings, then
times, and prints as JSON (milliseconds; nothing is asserted about time):
- `read_ms`: `season_standings` (the service the pages call), all rows, with
  its per-process cache emptied first: the cost after every change
- `read_cached_ms`: the same while nothing changed (one check of the season's
  standings version)
- `read_top_ms`: a cold read with `limit=20` (the dashboard's leaders)
- `recompute_sql_ms`: a plain GROUP BY over every result (points, wins, podiums,
  average) -- what a recomputation would cost per read, without the "reached its
  total first" tie-break
- `recompute_full_ms`: the domain's full recomputation from every result
  (`compute_standings` over `result_lines`), which the stored table must equal
- `finalize_ms`: making one more 8-racer race final through the services (the
  incremental upkeep: 8 racers' rows recomputed)
Each figure is the median with p95 and max over `--repeat` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import case, func, insert, select

from bench import _served
from cozykart.db import league_repo
from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import upgrade
from cozykart.db.tables import Race, RaceEntry, Racer, Season
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import DEFAULT_POINTS_TABLE, PointsTable, compute_standings
from cozykart.services import league
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import standings
from cozykart.settings import Settings

RACE_SIZE = 8
INSERT_BATCH_SIZE = 10_000
SEED = 20261121
ADMIN_DISCORD_ID = "bench-admin"


def _fill(engine, racer_count: int, result_count: int) -> int:
    draw = random.Random(SEED)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    race_count = result_count // RACE_SIZE
    with engine.begin() as connection:
        connection.execute(
            insert(Racer),
            [
                {
                    "discord_id": f"bench-{index}",
                    "username": f"racer{index}",
                    "display_name": f"Racer {index}",
                    "avatar_url": f"/avatars/{index}.svg",
                    "is_host": False,
                    "is_dj": False,
                    "created_at": start,
                }
                for index in range(racer_count)
            ]
            + [
                {
                    "discord_id": ADMIN_DISCORD_ID,
                    "username": "admin",
                    "display_name": "Admin",
                    "avatar_url": None,
                    "is_host": True,
                    "is_dj": False,
                    "created_at": start,
                }
            ],
        )
        racer_ids = list(connection.execute(select(Racer.id).order_by(Racer.id)).scalars())
        admin_id = racer_ids.pop()
        season_id = connection.execute(
            insert(Season).returning(Season.id),
            {
                "name": "Bench season",
                "starts_on": date(2026, 1, 1),
                "ends_on": date(2026, 12, 31),
                "points_table": PointsTable().to_json(),
                "split_policy": "even",
                "winner_bonus_bps": 5000,
                "status": "active",
                "created_at": start,
                "activated_at": start,
            },
        ).scalar_one()
        races = []
        for index in range(race_count):
            started_at = start + timedelta(minutes=20 * index)
            races.append(
                {
                    "season_id": season_id,
                    "name": f"Race {index}",
                    "host_racer_id": admin_id,
                    "status": "final",
                    "disputed": False,
                    "created_at": started_at,
                    "started_at": started_at,
                    "ended_at": started_at + timedelta(minutes=15),
                    "finalized_at": started_at + timedelta(minutes=16),
                }
            )
        for offset in range(0, len(races), INSERT_BATCH_SIZE):
            connection.execute(insert(Race), races[offset : offset + INSERT_BATCH_SIZE])
        race_ids = list(connection.execute(select(Race.id).order_by(Race.id)).scalars())
        entries = []
        for race_id, race in zip(race_ids, races, strict=True):
            field = draw.sample(racer_ids, RACE_SIZE)
            dnf_index = RACE_SIZE - 1 if draw.random() < 0.1 else None
            for index, racer_id in enumerate(field):
                dnf = index == dnf_index
                position = None if dnf else index + 1
                entries.append(
                    {
                        "race_id": race_id,
                        "racer_id": racer_id,
                        "joined_at": race["created_at"],
                        "reported_position": position,
                        "reported_dnf": dnf,
                        "reported_at": race["ended_at"],
                        "position": position,
                        "dnf": dnf,
                        "points": 0 if dnf else DEFAULT_POINTS_TABLE[index],
                    }
                )
        for offset in range(0, len(entries), INSERT_BATCH_SIZE):
            connection.execute(insert(RaceEntry), entries[offset : offset + INSERT_BATCH_SIZE])
    return season_id


def _recompute_sql(uow: UnitOfWork, season_id: int) -> None:
    with uow:
        statement = (
            select(
                RaceEntry.racer_id,
                func.sum(RaceEntry.points).label("points"),
                func.sum(case((RaceEntry.position == 1, 1), else_=0)).label("wins"),
                func.sum(case((RaceEntry.position <= 3, 1), else_=0)),
                func.count(),
                func.avg(RaceEntry.position).label("average"),
            )
            .join(Race, Race.id == RaceEntry.race_id)
            .where(Race.season_id == season_id, Race.status == "final")
            .group_by(RaceEntry.racer_id)
            .order_by(
                func.sum(RaceEntry.points).desc(),
                func.sum(case((RaceEntry.position == 1, 1), else_=0)).desc(),
            )
        )
        uow.session.exec(statement).all()


def _recompute_full(uow: UnitOfWork, season_id: int) -> list:
    with uow:
        return compute_standings(league_repo.result_lines(uow.session, season_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--racers", type=int, default=5000)
    parser.add_argument("--results", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout (bench/run.py)")
    args = parser.parse_args()
    # Only the report goes to stdout; anything printed on the way (migrations) goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        figures = _measure(args)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2), flush=True)


def _measure(args: argparse.Namespace) -> dict:

    directory = tempfile.TemporaryDirectory(prefix="cozykart-bench-")
    path = args.db or Path(directory.name) / "bench.db"
    if path.exists():
        path.unlink()
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_db_engine(url)
    settings = Settings(db_url=url, admin_discord_ids=frozenset({ADMIN_DISCORD_ID}))

    started = time.perf_counter()
    season_id = _fill(engine, args.racers, args.results)
    fill_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with UnitOfWork(engine, handlers=HANDLERS) as uow:
        rows = league_repo.rebuild_standings(uow.session, season_id)
        uow.commit()
    rebuild_ms = (time.perf_counter() - started) * 1000

    figures: dict = {
        "bench": "standings",
        "racers": args.racers,
        "results": (args.results // RACE_SIZE) * RACE_SIZE,
        "standing_rows": rows,
        "fill_ms": round(fill_ms, 1),
        "rebuild_ms": round(rebuild_ms, 1),
    }
    view = standings.season_standings(season_id, uow=UnitOfWork(engine, handlers=HANDLERS))
    assert view is not None and len(view.rows) == rows
    stored = [row.racer.racer_id for row in view.rows]
    assert stored == [
        row.racer_id for row in _recompute_full(UnitOfWork(engine, handlers=HANDLERS), season_id)
    ]

    def cold_read(limit: int | None = None) -> None:
        standings.clear_standings_cache()
        standings.season_standings(season_id, uow=UnitOfWork(engine, handlers=HANDLERS), limit=limit)

    figures["read_ms"] = _served.timed(cold_read, args.repeat)
    figures["read_cached_ms"] = _served.timed(
        lambda: standings.season_standings(season_id, uow=UnitOfWork(engine, handlers=HANDLERS)), args.repeat
    )
    figures["read_top_ms"] = _served.timed(lambda: cold_read(limit=20), args.repeat)
    figures["recompute_sql_ms"] = _served.timed(
        lambda: _recompute_sql(UnitOfWork(engine, handlers=HANDLERS), season_id), max(3, args.repeat // 5)
    )
    figures["recompute_full_ms"] = _served.timed(
        lambda: _recompute_full(UnitOfWork(engine, handlers=HANDLERS), season_id), max(3, args.repeat // 10)
    )

    with UnitOfWork(engine, handlers=HANDLERS) as uow:
        racer_pool = list(
            uow.session.exec(select(Racer.id).where(Racer.discord_id != ADMIN_DISCORD_ID)).scalars()
        )
        admin_id = uow.session.exec(select(Racer.id).where(Racer.discord_id == ADMIN_DISCORD_ID)).one()
    draw = random.Random(SEED + 1)
    clock = [datetime(2027, 1, 1, tzinfo=UTC)]

    def tick() -> datetime:
        clock[0] += timedelta(seconds=1)
        return clock[0]

    def one_race_final() -> None:
        field = draw.sample(racer_pool, RACE_SIZE)
        kw = {"actor_id": admin_id}
        race = league.open_lobby(
            "Bench race", uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings), now=tick(), **kw
        )
        for racer_id in field:
            league.join_lobby(
                race.race_id,
                actor_id=racer_id,
                uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
                now=tick(),
            )
        league.start_race(
            race.race_id, uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings), now=tick(), **kw
        )
        league.end_race(
            race.race_id, uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings), now=tick(), **kw
        )
        started = time.perf_counter()
        league.set_results(
            race.race_id,
            {racer_id: index for index, racer_id in enumerate(field, start=1)},
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
            now=tick(),
            **kw,
        )
        finalize_samples.append((time.perf_counter() - started) * 1000)

    finalize_samples: list[float] = []
    for _ in range(max(3, args.repeat // 3)):
        one_race_final()
    finalize_samples.sort()
    figures["finalize_ms"] = {
        "median": round(statistics.median(finalize_samples), 2),
        "max": round(finalize_samples[-1], 2),
        "runs": len(finalize_samples),
    }
    with UnitOfWork(engine, handlers=HANDLERS) as uow:
        stored_after = [row.racer_id for row in league_repo.standing_tallies(uow.session, season_id)]
    figures["stored_equals_recomputed"] = stored_after == [
        row.racer_id for row in _recompute_full(UnitOfWork(engine, handlers=HANDLERS), season_id)
    ]
    engine.dispose()
    directory.cleanup()
    return figures


if __name__ == "__main__":
    main()

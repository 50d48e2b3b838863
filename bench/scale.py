"""How cost grows with the league: reconcile, standings, the wallet page and the supporters board at 1x, 10x, 100x.

    python bench/scale.py [--factors 1,10,100] [--repeat 20] [--wallet-lines 10000,100000,1000000]
                          [--postgres-url URL] [--charts DIR] [--json]

One database per engine (SQLite in a temporary file; PostgreSQL in a throwaway
schema when a URL is given) is grown step by step with bench/grow.py (1x: 500
racers, 20,000 results, 2,000 payments, ~10,000 postings; 100x: 50,000 racers,
2M results, 200,000 payments, ~1M postings), and at each size:
- `reconcile_s`: `python -m cozykart reconcile --json` as the operator runs it
  (a new process: imports included), and that it is clean;
- `standings_cold_ms`: the season's standings with the per-process cache emptied
  (median, p95, max; and CPU ms): the read after every change, in a process that
  holds the served app (imported first, so its objects are frozen as served);
  `standings_app_heap`: the same read's CPU ms with the collector unfrozen (as
  before cozykart/cozykart.py froze it) and frozen;
- `supporters_ms`: one refresh of each board, as a Live Pot push reads it: the
  race board of one grown race; the season board summed over every payment (the
  aggregate every push ran before the per-process tally: `season_full`), read
  again while nothing changed (`season_unchanged`), and just after one more tip
  (`season_after_tip`), each checked equal to the full aggregate;
- `late_sale_ms`: a late sale (paid inside a grown race's window, arriving once the
  race is final), recorded through the ledger's service: it is split among the
  race's racers at once, odd cents ordered by the season's rounding so far
  (before migration 0020 that read every final race of the season per sale:
  seconds at 10x, and at 100x SQLite refused the statement);
- `wallet` (a separate fresh database per size, bench/wallet.py's method): the
  /wallet page of one racer with `--wallet-lines` lines.
Every figure carries the load average when it was taken: the machine is shared.
Prints one JSON object; asserts nothing about time. `--charts DIR` also draws
the curves (bench/charts.py).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench import _served, charts, grow, wallet
from cozykart.db import ledger_repo
from cozykart.db.engine import create_db_engine
from cozykart.db.tables import Race, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import reconcile, standings, supporters
from cozykart.settings import Settings

FACTORS_DEFAULT = "1,10,100"
WALLET_LINES_DEFAULT = "10000,100000,1000000"
REPEAT_DEFAULT = 20
RECONCILE_TIMEOUT_S = 1800
ROOT = Path(__file__).resolve().parent.parent


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def reconcile_seconds(url: str) -> dict:
    """The CLI as the operator runs it: wall seconds, and whether the ledger is clean."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "cozykart", "reconcile", "--json"],
        cwd=ROOT,
        env=dict(os.environ, REFLEX_DB_URL=url),
        capture_output=True,
        text=True,
        timeout=RECONCILE_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    report = json.loads(completed.stdout)
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu_s, 2),  # the process's own CPU: what a quiet machine's wall time would be near
        "clean": report["clean"],
        "exit_status": completed.returncode,
        "transactions_checked": report["transactions_checked"],
        "load_average": load(),
    }


def standings_cold(engine, season_id: int, repeat: int) -> dict:
    def cold_read() -> None:
        standings.clear_standings_cache()
        standings.season_standings(season_id, uow=UnitOfWork(engine, handlers=HANDLERS))

    cold_read()  # the first read builds nothing more (grow rebuilt the standings) but warms imports
    cpu_ms = []
    for _ in range(repeat):
        started = time.process_time()
        cold_read()
        cpu_ms.append((time.process_time() - started) * 1000)
    cpu_ms.sort()
    figures = _served.timed(cold_read, repeat)
    cpu = {"median": round(cpu_ms[len(cpu_ms) // 2], 2), "p95": round(cpu_ms[int(len(cpu_ms) * 0.95)], 2)}
    return {**figures, "cpu_ms": cpu, "load_average": load()}


def standings_with_app_heap(engine, season_id: int, repeat: int) -> dict:
    """The cold read in a process that holds the served app's objects, collector as is and frozen.

    The served process imports cozykart/cozykart.py, which freezes what it built (gc.freeze); the
    `unfrozen` figure is the same read before that line existed.
    """

    def cpu_timed() -> dict:
        samples = []
        for _ in range(repeat):
            started = time.process_time()
            standings.clear_standings_cache()
            standings.season_standings(season_id, uow=UnitOfWork(engine, handlers=HANDLERS))
            samples.append((time.process_time() - started) * 1000)
        samples.sort()
        return {
            "median": round(samples[len(samples) // 2], 2),
            "p95": round(samples[int(len(samples) * 0.95)], 2),
        }

    gc.unfreeze()
    unfrozen = cpu_timed()
    gc.freeze()
    frozen = cpu_timed()
    return {"unfrozen_cpu_ms": unfrozen, "frozen_cpu_ms": frozen, "runs": repeat, "load_average": load()}


def _grown_race(engine) -> tuple[int, object, object]:
    """A race from the middle of the grown season: its id and window (a race board's query)."""
    race = Race.__table__
    with engine.connect() as connection:
        race_ids = select(race.c.id).where(race.c.name.like("Grown %")).order_by(race.c.id)
        count = connection.execute(select(func.count()).select_from(race_ids.subquery())).scalar_one()
        race_id = connection.execute(race_ids.offset(count // 2).limit(1)).scalar_one()
        started_at, ended_at = connection.execute(
            select(race.c.started_at, race.c.ended_at).where(race.c.id == race_id)
        ).one()
    return race_id, started_at, ended_at


def supporters_refresh(engine, url: str, season_id: int, repeat: int, tips: list[int]) -> dict:
    """One refresh of each board; the season board before (full aggregate) and after (the tally)."""
    race_id, started_at, ended_at = _grown_race(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(engine, handlers=HANDLERS, settings=Settings(db_url=url))

    def race_board() -> None:
        with uow() as work:
            work.supporters.top_of_race(race_id, started_at, ended_at, limit=supporters.SUPPORTERS_MAX)

    def full() -> list:
        with uow() as work:
            return work.supporters.top_of_season(season_id, limit=supporters.SUPPORTERS_MAX)

    def tallied() -> list:
        with uow() as work:
            return supporters.season_top(work, season_id, limit=supporters.SUPPORTERS_MAX)

    figures = {"race": _served.timed(race_board, repeat)}
    figures["season_full"] = _served.timed(full, max(3, repeat // 4))
    supporters.clear_season_tallies()
    started = time.perf_counter()
    assert tallied() == full(), "the tallied season board equals the full aggregate"
    figures["season_first_tally_ms"] = round((time.perf_counter() - started) * 1000, 2)
    figures["season_unchanged"] = _served.timed(tallied, repeat)
    dj_id = _dj(engine)
    after_tip = []
    for _ in range(max(3, repeat // 4)):
        tips[0] += 1
        ledger.record_tip(
            key=f"scale-tip-{tips[0]}",
            dj_racer_id=dj_id,
            tip_cents=300,
            tipped_at=started_at + timedelta(seconds=30),
            song="Rainbow Road",
            fan_name=f"Fan {tips[0] % 7}",
            uow=uow(),
        )
        begun = time.perf_counter()
        tallied()
        after_tip.append((time.perf_counter() - begun) * 1000)
    assert tallied() == full(), "after new tips, the tallied board still equals the full aggregate"
    after_tip.sort()
    figures["season_after_tip"] = {
        "median": round(after_tip[len(after_tip) // 2], 2),
        "max": round(after_tip[-1], 2),
        "runs": len(after_tip),
    }
    figures["load_average"] = load()
    return figures


def late_sales(engine, url: str, repeat: int, sales: list[int]) -> dict:
    """Late sales into the middle grown race (final): each split at once; the time of each."""
    _race_id, started_at, _ended_at = _grown_race(engine)
    times = []
    for _ in range(max(5, repeat // 2)):
        sales[0] += 1
        begun = time.perf_counter()
        receipt = ledger.record_sale(
            key=f"scale-late-{sales[0]}",
            gross_cents=1999 + sales[0],
            sold_at=started_at + timedelta(minutes=1, seconds=sales[0] % 600),
            item="Tee",
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=Settings(db_url=url)),
        )
        times.append((time.perf_counter() - begun) * 1000)
        assert receipt.distributed and not receipt.replayed, receipt
    times.sort()
    return {
        "median": round(times[len(times) // 2], 2),
        "max": round(times[-1], 2),
        "runs": len(times),
        "load_average": load(),
    }


def _dj(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(Racer.__table__.c.id).where(Racer.__table__.c.is_dj).limit(1)
        ).scalar_one()


def _payments(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ledger_repo.payment_table)).scalar_one()


def curve(url: str, factors: list[float], repeat: int) -> list[dict]:
    """The database grown to each factor in turn, and the figures at each size."""
    points = []
    grown = 0.0
    tips, sales = [0], [0]
    for factor in factors:
        _served.log(f"growing to {factor}x")
        added = grow.grow(url, factor - grown)
        grown = factor
        engine = create_db_engine(url)
        try:
            point = {
                "factor": factor,
                "totals": added["database_totals"],
                "grow_s": round(added["league_s"] + added["ledger_s"] + added["standings_s"], 1),
            }
            _served.log(f"{factor}x: {point['totals']}; reconcile")
            point["reconcile"] = reconcile_seconds(url)
            started = time.perf_counter()
            checked = reconcile.reconcile(uow=UnitOfWork(engine, handlers=HANDLERS))
            point["reconcile"]["checks_in_process_s"] = round(time.perf_counter() - started, 2)
            assert checked.clean, checked.violations[:5]
            _served.log(f"{factor}x: standings and supporters")
            point["standings_cold_ms"] = standings_cold(engine, added["season_id"], repeat)
            point["standings_app_heap"] = standings_with_app_heap(engine, added["season_id"], repeat)
            point["supporters_ms"] = supporters_refresh(engine, url, added["season_id"], repeat, tips)
            _served.log(f"{factor}x: late sales into a final race")
            point["late_sale_ms"] = late_sales(engine, url, repeat, sales)
            point["payments"] = _payments(engine)
        finally:
            engine.dispose()
        points.append(point)
        gc.collect()
    return points


def wallet_curve(url_of, lines: list[int], repeat: int) -> list[dict]:
    points = []
    for count in lines:
        _served.log(f"wallet with {count} lines")
        with url_of() as url:
            figures = wallet.bench(url, count, repeat)
        points.append({**figures, "load_average": load()})
    return points


@contextlib.contextmanager
def _sqlite_url(name: str):
    with tempfile.TemporaryDirectory(prefix="cozykart-scale-") as directory:
        yield f"sqlite:///{directory}/{name}.db"


@contextlib.contextmanager
def _postgres_url(base: str):
    url, schema = _served.postgres_schema(base, "scale")
    try:
        yield url
    finally:
        _served.drop_schema(base, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", default=FACTORS_DEFAULT)
    parser.add_argument("--wallet-lines", default=WALLET_LINES_DEFAULT)
    parser.add_argument("--repeat", type=int, default=REPEAT_DEFAULT)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--charts", type=Path, default=None, help="also draw the curves as PNGs here")
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout (bench/run.py)")
    args = parser.parse_args()
    factors = sorted(float(value) for value in args.factors.split(","))
    lines = sorted(int(value) for value in args.wallet_lines.split(","))
    report: dict = {
        "bench": "scale",
        "factors": factors,
        "load_average_at_start": load(),
        "cores": os.cpu_count(),
        "statistic": "median, p95, max over repeat; seconds for reconcile",
    }
    with contextlib.redirect_stdout(sys.stderr):
        # The served app's objects in this process, as the server holds them (and frozen, as it does).
        import cozykart.cozykart  # noqa: F401

        with _sqlite_url("scale") as url:
            report["sqlite"] = {"curve": curve(url, factors, args.repeat)}
        report["sqlite"]["wallet"] = wallet_curve(lambda: _sqlite_url("wallet"), lines, args.repeat)
        if args.postgres_url:
            with _postgres_url(args.postgres_url) as url:
                report["postgresql"] = {"curve": curve(url, factors, args.repeat)}
            report["postgresql"]["wallet"] = wallet_curve(
                lambda: _postgres_url(args.postgres_url), lines, args.repeat
            )
        report["load_average_at_end"] = load()
        if args.charts:
            report["charts"] = [str(path) for path in charts.draw(report, args.charts)]
    print(json.dumps(report) if args.json else json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()

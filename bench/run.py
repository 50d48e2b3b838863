"""Every Cozy-Kart benchmark in one command, as one JSON report with the goals beside the figures.

    python bench/run.py [--quick] [--postgres-url URL] [--only NAME[,NAME...]]
                        [--timeout-s SECONDS] [--out FILE]

Runs each bench under bench/ as a subprocess with `--json` (each prints one JSON
object as its only stdout; progress goes to stderr, passed through here), then
prints one JSON object:

- `machine`: cores, load average when the run started, git commit (and whether the
  tree had uncommitted changes), Python, platform. Figures from a loaded machine
  are figures from a loaded machine: read `load_average_at_start` with them.
- `postgresql`: "used", or "skipped: no PostgreSQL URL". The URL comes from
  `--postgres-url` or COZYKART_TEST_POSTGRES_URL; without one no bench touches
  PostgreSQL (the variable is removed from their environment).
- `goals`: each goal of issue 9 with its target, the measured figure and `met`
  (true/false; null with `skipped` when the figure was not measured).
- `ledger_beside_raw_sqlite`: the ledger service's sales per second beside the
  same writes in raw sqlite3 (the ceiling), and on PostgreSQL.
- `benches`: per bench, `ok`, the seconds it took, its arguments and its own
  report (`result`), or its `error` and the tail of its stderr.

The benches (`--only` picks some; names as below):
  webhooks   bench/webhooks.py  signed sales to the served app: settled/s, ack p50/p99 at 200/s
  webhooks_wrk bench/webhooks_wrk.py  the same driven by wrk: settled/s, share of /ping, CPU/event
  webhooks_grown bench/webhooks_wrk.py --grow 10,100  settled/s on a fresh and a grown league, one run
  ledger     bench/ledger.py    the ledger service's sales/s beside raw sqlite3 (the ceiling)
  standings  bench/standings.py a season of 5,000 racers and 200,000 results
  wallet     bench/wallet.py    /wallet's page for a racer with 100,000 wallet lines
  fanout     bench/fanout.py    a sale to the new pot at 1,000 websocket viewers; memory per viewer
  scale      bench/scale.py     reconcile, standings, wallet, supporters board at 1x/10x/100x data

`--quick` runs every bench at a small size (seconds, not minutes) to check that the
report can be produced; its figures are not the goals' figures. A bench that fails
(non-zero exit, no JSON, timeout) is reported with its error and the others still
run; the exit status is then 1. A missed goal is a figure, not a failure (exit 0).
A bench file that does not exist is reported as `ok: false`, "missing".
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL_ENV = "COZYKART_TEST_POSTGRES_URL"
TIMEOUT_S_DEFAULT = 1800
QUICK_TIMEOUT_S_DEFAULT = 600
STDERR_TAIL_LINES = 40
STDOUT_HEAD_CHARS = 4000
READER_JOIN_TIMEOUT_S = 10
SKIPPED_NO_POSTGRES = "skipped: no PostgreSQL URL"


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    full_args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    takes_postgres: bool = True  # passes --postgres-url when one is set
    notes: str = ""


BENCHES = (
    Bench("webhooks", "bench/webhooks.py", (), ("--events", "100", "--rate", "50", "--seconds", "2")),
    Bench(
        "webhooks_wrk",
        "bench/webhooks_wrk.py",
        (),
        ("--events", "300", "--rate", "50", "--seconds", "2", "--ping-seconds", "1"),
        notes="wrk drives the server; PostgreSQL with 1 and 2 workers (Redis)",
    ),
    Bench(
        "webhooks_grown",
        "bench/webhooks_wrk.py",
        ("--grow", "10,100"),
        ("--grow", "0.05", "--events", "300", "--rate", "50", "--seconds", "2", "--ping-seconds", "1"),
        notes="wrk, one worker: a fresh database, then grown 10x and 100x (bench/grow.py), in one run",
    ),
    Bench("ledger", "bench/ledger.py", (), ("--sales", "50", "--rounds", "1")),
    Bench(
        "standings",
        "bench/standings.py",
        (),
        ("--racers", "200", "--results", "4000", "--repeat", "3"),
        takes_postgres=False,
        notes="SQLite",
    ),
    Bench("wallet", "bench/wallet.py", (), ("--entries", "2000", "--repeat", "3")),
    Bench(
        "scale",
        "bench/scale.py",
        ("--charts", "docs/bench"),
        ("--factors", "0.05", "--repeat", "2", "--wallet-lines", "300"),
        notes="1x/10x/100x of the league (bench/grow.py); charts in docs/bench/",
    ),
    Bench(
        "fanout",
        "bench/fanout.py",
        ("--viewers", "250,500,1000", "--workers", "1,2"),
        ("--viewers", "5,10", "--rounds", "1", "--client-processes", "1"),
        notes="one worker, and two with a Redis of its own (full run); PostgreSQL when a URL is given",
    ),
)
BENCH_NAMES = tuple(bench.name for bench in BENCHES)


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict:
    load_1, load_5, load_15 = os.getloadavg()
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cores": os.cpu_count(),
        "load_average_at_start": [round(load_1, 2), round(load_5, 2), round(load_15, 2)],
        "git_commit": _git("rev-parse", "HEAD"),
        "git_uncommitted_changes": None if status is None else bool(status),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_bench(bench: Bench, *, quick: bool, postgres_url: str | None, timeout_s: float) -> dict:
    """One bench as a subprocess; its one JSON object, or why there is none."""
    script = ROOT / bench.script
    args = list(bench.quick_args if quick else bench.full_args)
    if bench.takes_postgres and postgres_url:
        args += ["--postgres-url", postgres_url]
    outcome: dict = {
        "script": bench.script,
        "args": [a if a != postgres_url else "<postgres-url>" for a in args],
    }
    if bench.notes:
        outcome["notes"] = bench.notes
    if not script.exists():
        return {**outcome, "ok": False, "error": f"missing: {bench.script} does not exist"}
    env = dict(os.environ)
    env.pop(POSTGRES_URL_ENV, None)  # a bench sees PostgreSQL only through --postgres-url
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, str(script), *args, "--json"]
    print(f"bench/run: {bench.name}: {' '.join(outcome['args'])} --json", file=sys.stderr, flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    stdout_parts: list[str] = []
    readers = [
        threading.Thread(target=_relay_stderr, args=(process.stderr, stderr_tail), daemon=True),
        threading.Thread(target=lambda: stdout_parts.append(process.stdout.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return {
            **outcome,
            "ok": False,
            "seconds": round(time.perf_counter() - started, 1),
            "error": f"timed out after {timeout_s:.0f} s",
            "stderr_tail": "".join(stderr_tail),
        }
    finally:
        for reader in readers:
            reader.join(timeout=READER_JOIN_TIMEOUT_S)
    stdout = "".join(stdout_parts)
    outcome["seconds"] = round(time.perf_counter() - started, 1)
    if process.returncode != 0:
        return {
            **outcome,
            "ok": False,
            "error": f"exited with status {process.returncode}",
            "stderr_tail": "".join(stderr_tail),
        }
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError as error:
        return {
            **outcome,
            "ok": False,
            "error": f"stdout is not one JSON object ({error})",
            "stdout_head": stdout[:STDOUT_HEAD_CHARS],
        }
    if not isinstance(result, dict):
        return {**outcome, "ok": False, "error": "stdout is JSON but not an object"}
    return {**outcome, "ok": True, "result": result}


def _relay_stderr(stream, tail: collections.deque[str]) -> None:
    """A bench's progress, shown as it comes (on our stderr), its last lines kept for the report."""
    for line in stream:
        sys.stderr.write(line)
        sys.stderr.flush()
        tail.append(line)


# --- goals ---------------------------------------------------------------------


def _goal(
    goal: str,
    bench: str,
    target: str,
    measured,
    unit: str,
    met: Callable[[float], bool],
    *,
    database: str | None = None,
    detail: str | None = None,
    skipped: str | None = None,
) -> dict:
    line: dict = {"goal": goal, "bench": bench}
    if database:
        line["database"] = database
    line["target"] = target
    if skipped is not None or measured is None:
        return {
            **line,
            "measured": None,
            "unit": unit,
            "met": None,
            "skipped": skipped or "not measured (see benches)",
        }
    line.update({"measured": measured, "unit": unit, "met": bool(met(measured))})
    if detail:
        line["detail"] = detail
    return line


def _dig(data, *keys):
    """data[k1][k2]... or None where a key is missing (a bench's report may lack a figure)."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def goals(benches: dict[str, dict], *, postgres: bool, quick: bool) -> list[dict]:
    """Issue 9's goals beside what was measured (None where the bench did not run or failed)."""
    lines = []
    webhooks = _dig(benches, "webhooks", "result") or {}
    by_database = {
        report.get("database"): report for report in webhooks.get("reports", []) if isinstance(report, dict)
    }
    for database in ("sqlite", "postgresql"):
        skipped = SKIPPED_NO_POSTGRES if database == "postgresql" and not postgres else None
        report = by_database.get(database, {})
        lines.append(
            _goal(
                "settled events per second",
                "webhooks",
                ">= 1000 /s",
                _dig(report, "throughput", "settled_per_s"),
                "events/s",
                lambda v: v >= 1000,
                database=database,
                skipped=skipped,
            )
        )
        offered = _dig(report, "fixed_rate", "offered_per_s")
        lines.append(
            _goal(
                "acknowledgement p99 at 200 events/s",
                "webhooks",
                "< 50 ms",
                _dig(report, "fixed_rate", "ack_p99_ms"),
                "ms",
                lambda v: v < 50,
                database=database,
                detail=f"offered {offered}/s, p50 {_dig(report, 'fixed_rate', 'ack_p50_ms')} ms",
                skipped=skipped,
            )
        )
    lines += _wrk_goals(benches, postgres=postgres)
    lines += _grown_goals(benches, postgres=postgres)
    lines.extend(fanout_goals(_dig(benches, "fanout", "result") or {}))
    standings = _dig(benches, "standings", "result") or {}
    lines.append(
        _goal(
            "standings, 5,000 racers / 200,000 results (cold read, median)",
            "standings",
            "< 50 ms",
            _dig(standings, "read_ms", "median"),
            "ms",
            lambda v: v < 50,
            database="sqlite",
            detail=f"p95 {_dig(standings, 'read_ms', 'p95')} ms, cached "
            f"{_dig(standings, 'read_cached_ms', 'median')} ms"
            if standings
            else None,
        )
    )
    wallet = _dig(benches, "wallet", "result") or {}
    for database in ("sqlite", "postgresql"):
        skipped = SKIPPED_NO_POSTGRES if database == "postgresql" and not postgres else None
        lines.append(
            _goal(
                "wallet page, 100,000 entries (median)",
                "wallet",
                "< 20 ms",
                _dig(wallet, database, "first_page_ms", "median"),
                "ms",
                lambda v: v < 20,
                database=database,
                skipped=skipped,
                detail=f"p95 {_dig(wallet, database, 'first_page_ms', 'p95')} ms",
            )
        )
    lines += _scale_goals(_dig(benches, "scale", "result") or {}, postgres=postgres)
    if quick:
        for line in lines:
            line["note"] = "--quick sizes: not the goal's size"
    return lines


def fanout_goals(fanout: dict) -> list[dict]:
    """Issue 21's fan-out goal per worker count: p99 at the largest audience, memory per idle viewer beside it."""
    lines = []
    for run in [run for run in fanout.get("runs", []) if isinstance(run, dict)] or [{}]:
        largest = max(run.get("steps", []), key=lambda step: step.get("viewers", 0), default={})
        workers = run.get("workers", 1)
        lines.append(
            _goal(
                f"live-pot fan-out p99 at 1,000 viewers, {workers} worker(s)"
                + (" with Redis" if workers > 1 else ""),
                "fanout",
                "<= 250 ms",
                largest.get("p99_ms"),
                "ms",
                lambda v: v <= 250,
                detail=f"{largest.get('viewers')} viewers on {fanout.get('database')}, p50 {largest.get('p50_ms')} ms, "
                f"missed {largest.get('missed')}, server CPU {largest.get('server_cpu_ms_per_round_median')} ms "
                f"a round, {run.get('memory_per_idle_viewer_kb')} KB per idle viewer"
                if largest
                else None,
            )
        )
    return lines


def _scale_goals(scale: dict, *, postgres: bool) -> list[dict]:
    """Issue 21's growth goals from the scale bench's largest size (and its 5,000-racer size)."""
    lines = []
    for database in ("sqlite", "postgresql"):
        curve = _dig(scale, database, "curve") or []
        largest = max(curve, key=lambda point: point["totals"]["postings"], default={})
        lines.append(
            _goal(
                "reconcile at 1M postings (CLI, wall time)",
                "scale",
                "< 10 s",
                _dig(largest, "reconcile", "seconds"),
                "s",
                lambda v: v < 10,
                database=database,
                detail=f"{_dig(largest, 'totals', 'postings')} postings, clean "
                f"{_dig(largest, 'reconcile', 'clean')}, load {_dig(largest, 'reconcile', 'load_average')}",
                skipped=SKIPPED_NO_POSTGRES if database == "postgresql" and not postgres else None,
            )
        )
    curve = _dig(scale, "sqlite", "curve") or []
    near_5k = min(curve, key=lambda point: abs(point["totals"]["racers"] - 5000), default={})
    lines.append(
        _goal(
            "standings cold p95 at 5,000 racers",
            "scale",
            "< 50 ms",
            _dig(near_5k, "standings_cold_ms", "p95"),
            "ms",
            lambda v: v < 50,
            database="sqlite",
            detail=f"{_dig(near_5k, 'totals', 'racers')} racers, median "
            f"{_dig(near_5k, 'standings_cold_ms', 'median')} ms",
        )
    )
    return lines


# Issue 21's goals for the webhook path under wrk: (goal, database, workers, target, figure, unit, met).
WRK_GOALS = (
    ("settled events/s (wrk)", "sqlite", 1, ">= 1600 /s", ("settled", "settled_per_s"), "events/s", 1600.0),
    (
        "settled share of the same server's /ping rate",
        "sqlite",
        1,
        ">= 0.30",
        ("settled_share_of_noop",),
        "ratio",
        0.30,
    ),
    (
        "server CPU per settled event",
        "sqlite",
        1,
        "<= 0.5 ms",
        ("settled", "server_cpu_ms_per_event"),
        "ms",
        -0.5,
    ),
    (
        "settled events/s (wrk)",
        "postgresql",
        1,
        ">= 1000 /s",
        ("settled", "settled_per_s"),
        "events/s",
        1000.0,
    ),
    (
        "settled share of the same server's /ping rate",
        "postgresql",
        1,
        ">= 0.20",
        ("settled_share_of_noop",),
        "ratio",
        0.20,
    ),
)  # a negative bound is a ceiling (at most its absolute value), a positive one a floor


def _wrk_detail(run: dict) -> str | None:
    if not run:
        return None
    return (
        f"no-op {_dig(run, 'noop', 'before_per_s')}/{_dig(run, 'noop', 'after_per_s')} /s before/after, "
        f"load {run.get('load_average_before')}, ack p50/p99 at {_dig(run, 'fixed_rate', 'achieved_per_s')}/s "
        f"{_dig(run, 'fixed_rate', 'ack_p50_ms')}/{_dig(run, 'fixed_rate', 'ack_p99_ms')} ms"
    )


def _wrk_goals(benches: dict[str, dict], *, postgres: bool) -> list[dict]:
    """Issue 21's goals beside bench/webhooks_wrk.py's figures (one worker, production, live race),
    and two PostgreSQL workers with Redis against one."""
    runs = _dig(benches, "webhooks_wrk", "result", "reports") or []
    by_run = {(run.get("database"), run.get("workers")): run for run in runs if isinstance(run, dict)}
    lines = []
    for goal, database, workers, target, figure, unit, bound in WRK_GOALS:
        run = by_run.get((database, workers), {})
        skipped = SKIPPED_NO_POSTGRES if database == "postgresql" and not postgres else None
        met = (lambda v, b=bound: v <= -b) if bound < 0 else (lambda v, b=bound: v >= b)
        lines.append(
            _goal(
                goal,
                "webhooks_wrk",
                target,
                _dig(run, *figure),
                unit,
                met,
                database=database,
                detail=_wrk_detail(run),
                skipped=skipped,
            )
        )
    one = _dig(by_run.get(("postgresql", 1), {}), "settled", "settled_per_s")
    two = _dig(by_run.get(("postgresql", 2), {}), "settled", "settled_per_s")
    lines.append(
        _goal(
            "two workers (Redis) over one, settled events/s",
            "webhooks_wrk",
            "> 1.0",
            round(two / one, 2) if one and two else None,
            "ratio",
            lambda v: v > 1.0,
            database="postgresql",
            detail=f"{two} /s against {one} /s" if one and two else None,
            skipped=None if postgres else SKIPPED_NO_POSTGRES,
        )
    )
    return lines


GROWN_SHARE_MIN = 0.90  # settled events/s on the grown league within 10% of the fresh database's


def _grown_goals(benches: dict[str, dict], *, postgres: bool) -> list[dict]:
    """Issue 21's "within 10% of the empty database": the largest grown league's settled rate over the
    fresh database's, taken in the same run."""
    runs = [
        run for run in _dig(benches, "webhooks_grown", "result", "reports") or [] if isinstance(run, dict)
    ]
    lines = []
    for database in ("sqlite", "postgresql"):
        rates = {
            run.get("grow_factor"): _dig(run, "settled", "settled_per_s")
            for run in runs
            if run.get("database") == database
        }
        largest = max((factor for factor in rates if factor), default=None)
        empty, grown = rates.get(0.0), rates.get(largest)
        lines.append(
            _goal(
                f"settled events/s on the league grown {largest:g}x over a fresh database"
                if largest
                else "settled events/s on the grown league over a fresh database",
                "webhooks_grown",
                f">= {GROWN_SHARE_MIN:.2f}",
                round(grown / empty, 3) if empty and grown else None,
                "ratio",
                lambda v: v >= GROWN_SHARE_MIN,
                database=database,
                detail=", ".join(f"{factor:g}x: {rate} /s" for factor, rate in sorted(rates.items())),
                skipped=SKIPPED_NO_POSTGRES if database == "postgresql" and not postgres else None,
            )
        )
    return lines


def ledger_figures(benches: dict[str, dict]) -> dict | None:
    """The ledger's settled sales per second beside the raw-sqlite3 ceiling (no goal: a figure)."""
    ledger = _dig(benches, "ledger", "result")
    if not ledger:
        return None
    names = (
        "sqlite_raw_sales_per_s",
        "sqlite_service_final_race_sales_per_s",
        "sqlite_service_live_race_sales_per_s",
        "sqlite_service_share_of_raw_ceiling",
        "postgresql_service_final_race_sales_per_s",
        "postgresql_service_live_race_sales_per_s",
    )
    return {name: ledger[name] for name in names if name in ledger}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of the report")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV),
        help=f"PostgreSQL for the benches that take one (default: ${POSTGRES_URL_ENV})",
    )
    parser.add_argument(
        "--only", default=",".join(BENCH_NAMES), help=f"comma-separated: {', '.join(BENCH_NAMES)}"
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=None,
        help=f"per bench (default {TIMEOUT_S_DEFAULT}, {QUICK_TIMEOUT_S_DEFAULT} with --quick)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCH_NAMES))
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)} (known: {', '.join(BENCH_NAMES)})")
    timeout_s = args.timeout_s or (QUICK_TIMEOUT_S_DEFAULT if args.quick else TIMEOUT_S_DEFAULT)

    report: dict = {
        "report": "cozykart benchmarks",
        "quick": args.quick,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "postgresql": "used" if args.postgres_url else SKIPPED_NO_POSTGRES,
    }
    results: dict[str, dict] = {}
    for bench in BENCHES:
        if bench.name in chosen:
            results[bench.name] = run_bench(
                bench, quick=args.quick, postgres_url=args.postgres_url, timeout_s=timeout_s
            )
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["goals"] = [
        line
        for line in goals(results, postgres=bool(args.postgres_url), quick=args.quick)
        if line["bench"] in chosen
    ]
    if "ledger" in chosen:
        report["ledger_beside_raw_sqlite"] = ledger_figures(results)
    report["benches"] = results
    report["failed"] = [name for name, outcome in results.items() if not outcome["ok"]]
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text, flush=True)
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

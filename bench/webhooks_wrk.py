"""Signed Stripe sales driven at the served app by `wrk`, so the figures are the server's.

    python bench/webhooks_wrk.py [--events 10000] [--rate 200] [--seconds 10] [--ping-seconds 5]
                                 [--postgres-url URL] [--workers 1,2] [--redis-url URL]
                                 [--sqlite-only] [--profile DIR] [--grow 10,100] [--json]

bench/webhooks.py drives the server from 16 httpx clients in a Python process on the same
cores, so it measures its clients as much as the server. Here the load comes from `wrk`
(C, one thread, 16 connections; installed with apt-get when missing and run as root) and
a Lua script (bench/wrk/stripe_sales.lua) that sends pre-signed, unique
`checkout.session.completed` deliveries, each once. For SQLite (one worker) and, with a
PostgreSQL URL, PostgreSQL with each of `--workers` (two or more share Redis: `--redis-url`,
else a redis-server of the bench's own), the app is served as in production
(`reflex run --env prod --backend-only`, a live 8-racer race, a fresh database) and measured:

- `noop`: the same server's `GET /ping` rate under the same wrk, before and after the
  webhook run; `settled_share_of_noop` is the settled rate over their mean: a ratio that
  carries across machines and across the load other work puts on this one;
- `settled`: `--events` deliveries as fast as they are answered; settled events/s is the
  inbox rows applied (counted in the database) over the seconds from the first request to
  the last answer; wrk's own request rate and non-2xx count beside it; the server's CPU per
  settled event (its process group's user + system time from /proc; the system part beside it) and, on PostgreSQL, the
  CPU of the backends serving it (found in pg_stat_activity by a per-run application_name);
- `fixed_rate`: `--rate` deliveries a second for `--seconds` on a fixed schedule (wrk's
  `delay()`), acknowledgement p50/p99 and the rate achieved;
- the load average before and after each run: read every figure with it.

Stripe's libraries refuse a signature whose timestamp is older than their tolerance, five
minutes by default ("Check the webhook signatures", "Prevent replay attacks",
https://docs.stripe.com/webhooks#verify-manually; stripe_payments.TOLERANCE_S here), so each
phase's deliveries are signed just before it starts and a phase is sized to end well within it. `--profile DIR` samples the served backend with py-spy during
the settled run (bench/webhooks.py's profiler) and puts the top functions in the report; the
sampler takes CPU on the same cores, so that run's figures say `"profiled": true`.
`--grow 10,100` measures how the rate holds as the league grows: one worker on each database,
first on a fresh database (factor 0) and then on databases grown by bench/grow.py to each
factor (10x: 5,000 racers, 200k results, 100k postings; 100x: 50,000 racers, 2M results, 1M
postings) before the live race is opened, all in the same run; each run names its factor.
Prints one JSON report (with `--json`, on one line, the only stdout); asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench import _served, grow, redis_drill, webhooks  # noqa: E402
from cozykart.db.engine import READ_ONLY_OPTION, create_db_engine  # noqa: E402
from cozykart.integrations import stripe_payments  # noqa: E402

THREADS = 1
CONNECTIONS = 16
SALE_CENTS = 3000
SCRIPT = ROOT / "bench" / "wrk" / "stripe_sales.lua"
WARM_UP_EVENTS = 300
REQUEST_TIMEOUT_S = 30  # wrk's own default (2 s) would count a slow commit as an error
WRK_MARGIN_S = 60  # beyond the slowest plausible run: wrk's -d is a bound here, not the plan
SLOWEST_PLAUSIBLE_PER_S = 50
# Every delivery is signed when its phase starts: a phase ends (cut short, and says so) before the
# first signatures would pass Stripe's tolerance and be refused.
PHASE_BOUND_S_MAX = stripe_payments.TOLERANCE_S - 60
WRK_POLL_S = 0.05
WRK_EXIT_TIMEOUT_S = 30
SETTLE_WAIT_S_MAX = 30
SETTLE_POLL_S = 0.25
PROFILE_TOP_LINES = 30
PING_RATE_PATTERN = re.compile(r"Requests/sec:\s+([0-9.]+)")
NON_2XX_PATTERN = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def ensure_wrk() -> str:
    """The path of `wrk`, installed from the distribution's packages when missing and root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed: run `apt-get install -y wrk` as root, then this bench again")
    _served.log("wrk is missing: installing it with apt-get")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, stdout=sys.stderr, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get installed no wrk on PATH")
    return found


def write_deliveries(path: Path, count: int) -> None:
    """`count` unique sales, signed now, one a line: the Stripe-Signature header, a tab, the body."""
    signed_at = int(time.time())
    with path.open("w") as out:
        for _ in range(count):
            body = json.dumps(_served.sale_event(SALE_CENTS, item="Bench tee"))
            signature = stripe_payments.sign(body, _served.STRIPE_SECRET, timestamp=signed_at)
            out.write(f"{signature}\t{body}\n")


def run_sales(wrk: str, base_url: str, workdir: Path, events: int, rate_per_s: int = 0) -> dict:
    """`events` deliveries through the Lua script (as fast as answered, or at `rate_per_s`);
    the script's report: counts, wrk's errors, latency in ms."""
    deliveries = workdir / f"deliveries-{uuid.uuid4().hex[:8]}.txt"
    report_path = deliveries.with_suffix(".json")
    write_deliveries(deliveries, events)
    pace_per_s = rate_per_s or SLOWEST_PLAUSIBLE_PER_S
    bound_s = min(int(events / pace_per_s) + WRK_MARGIN_S, PHASE_BOUND_S_MAX)
    command = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{bound_s}s", f"--timeout={REQUEST_TIMEOUT_S}s"]
    command += ["-s", str(SCRIPT), f"{base_url}/api/webhooks/stripe", "--"]
    command += [str(deliveries), str(report_path), str(rate_per_s)]
    _run_until_answered(command, Path(f"{report_path}.done"), bound_s)
    report = json.loads(report_path.read_text())
    deliveries.unlink()
    return report


def _run_until_answered(command: list[str], done_marker: Path, bound_s: int) -> None:
    """wrk until the script marks every delivery answered, then SIGINT (wrk's main thread would
    otherwise sleep out all of -d), bounded by `bound_s`."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=sys.stderr, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + bound_s + WRK_EXIT_TIMEOUT_S
        while process.poll() is None and not done_marker.exists() and time.monotonic() < deadline:
            time.sleep(WRK_POLL_S)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=WRK_EXIT_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with status {process.returncode}")


def ping_rate(wrk: str, base_url: str, seconds: int) -> dict:
    """The same server's no-op: `GET /ping` under the same wrk (threads, connections)."""
    command = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", f"{base_url}/ping"]
    completed = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60)
    rate = PING_RATE_PATTERN.search(completed.stdout)
    non_2xx = NON_2XX_PATTERN.search(completed.stdout)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate: {completed.stdout[-2000:]}")
    return {"per_s": float(rate.group(1)), "non_2xx": int(non_2xx.group(1)) if non_2xx else 0}


def inbox_counts(db_url: str) -> tuple[int, int]:
    """Rows in the webhook inbox: applied, and all (a read: on SQLite a deferred snapshot, never the
    write lock the server's writer needs)."""
    engine = create_db_engine(db_url)
    try:
        with engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as connection:
            row = connection.execute(
                text("SELECT count(*) FILTER (WHERE status = 'applied'), count(*) FROM webhook_event")
            ).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def settled_counts(db_url: str, before: tuple[int, int], expected: int) -> tuple[int, int]:
    """New applied and all rows since `before`, once `expected` are in (bounded wait: every delivery
    was answered, so this is a check, not a race)."""
    deadline = time.monotonic() + SETTLE_WAIT_S_MAX
    while True:
        applied, rows = inbox_counts(db_url)
        if rows - before[1] >= expected or time.monotonic() > deadline:
            return applied - before[0], rows - before[1]
        time.sleep(SETTLE_POLL_S)


def _applied_once(sales: dict, applied: int, rows: int) -> bool:
    """Every inbox row applied (none failed, none twice: the inbox is unique per event), every
    acknowledged delivery among them; a run cut short by its bound may leave up to one delivery
    per connection applied but never answered."""
    in_flight_max = CONNECTIONS if sales["answered"] < sales["sent"] else 0
    return applied == rows and sales["applied"] <= applied <= sales["applied"] + in_flight_max


class CpuMeter:
    """CPU seconds of the served process group and, on PostgreSQL, of the backends named
    `application_name`, between `start()` and `stop()`."""

    def __init__(self, pgid: int, db_url: str, application_name: str | None) -> None:
        self.pgid, self.db_url, self.application_name = pgid, db_url, application_name
        self.server_s = 0.0
        self.server_system_s = 0.0
        self.backends: dict[int, float] = {}
        self.postgres_s: float | None = None
        self.backend_count = 0

    def _backend_cpu(self) -> dict[int, float]:
        if self.application_name is None:
            return {}
        pids = _served.postgres_backend_pids(self.db_url, self.application_name)
        return _served.processes_cpu_s(pids)

    def start(self) -> None:
        self.backends = self._backend_cpu()
        self.server_s = _served.process_group_cpu_s(self.pgid)
        self.server_system_s = _served.process_group_system_cpu_s(self.pgid)

    def stop(self) -> None:
        self.server_s = _served.process_group_cpu_s(self.pgid) - self.server_s
        self.server_system_s = _served.process_group_system_cpu_s(self.pgid) - self.server_system_s
        if self.application_name is None:
            return
        after = self._backend_cpu()
        # A backend born during the run counts whole; one that ended during it is lost (the pool keeps them).
        self.postgres_s = sum(used - self.backends.get(pid, 0.0) for pid, used in after.items())
        self.backend_count = len(after)


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _settled_run(
    wrk: str, server: _served.Server, db_url: str, meter: CpuMeter, args, workdir: Path, label: str
) -> dict:
    before = inbox_counts(db_url)
    profiler = None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        assert server.process is not None
        profiler = webhooks._start_profiler(server.process, args.profile / f"{label}.raw.txt")
    meter.start()
    sales = run_sales(wrk, server.base_url, workdir, args.events)
    meter.stop()
    top = None
    if profiler is not None:
        raw, summary = args.profile / f"{label}.raw.txt", args.profile / f"{label}.top.txt"
        webhooks._stop_profiler(profiler, raw, summary)
        top = summary.read_text().splitlines()[:PROFILE_TOP_LINES] if summary.exists() else None
    applied, rows = settled_counts(db_url, before, sales["answered"])
    wall_s = sales["sending_s"]
    figures = {
        "events": args.events,
        "answered": sales["answered"],
        "acknowledged_applied": sales["applied"],
        "refused": sales["refused"],
        "inbox_rows_applied": applied,
        "inbox_rows": rows,
        "cut_short": sales["answered"] < args.events,
        "all_applied_once": _applied_once(sales, applied, rows),
        "wall_s": round(wall_s, 3),
        "settled_per_s": round(applied / wall_s, 1) if wall_s else None,
        "wrk_requests_per_s": round(sales["requests"] / sales["duration_s"], 1),
        "wrk_non_2xx": sales["non_2xx"],
        "wrk_socket_errors": sales["connect_errors"] + sales["read_errors"] + sales["write_errors"],
        "wrk_timeouts": sales["timeouts"],
        "spare_pings_sent": sales["spares_sent"],
        "ack_p50_ms": sales["latency_ms"]["p50"],
        "ack_p99_ms": sales["latency_ms"]["p99"],
        "profiled": bool(args.profile),
        "server_cpu_s": round(meter.server_s, 3),
        "server_cpu_ms_per_event": round(1000 * meter.server_s / max(applied, 1), 3),
        "server_system_cpu_ms_per_event": round(1000 * meter.server_system_s / max(applied, 1), 3),
    }
    if meter.postgres_s is not None:
        figures["postgres_backends"] = meter.backend_count
        figures["postgres_cpu_ms_per_event"] = round(1000 * meter.postgres_s / max(applied, 1), 3)
        figures["server_and_postgres_cpu_ms_per_event"] = round(
            1000 * (meter.server_s + meter.postgres_s) / max(applied, 1), 3
        )
    if top is not None:
        figures["profile_top"] = top
    return figures


def _fixed_rate_run(wrk: str, server: _served.Server, db_url: str, args, workdir: Path) -> dict:
    events = args.rate * args.seconds
    before = inbox_counts(db_url)
    sales = run_sales(wrk, server.base_url, workdir, events, rate_per_s=args.rate)
    applied, rows = settled_counts(db_url, before, sales["answered"])
    return {
        "offered_per_s": args.rate,
        "achieved_per_s": round(sales["answered"] / sales["sending_s"], 1) if sales["sending_s"] else None,
        "events": events,
        "answered": sales["answered"],
        "inbox_rows_applied": applied,
        "cut_short": sales["answered"] < events,
        "all_applied_once": _applied_once(sales, applied, rows),
        "wrk_non_2xx": sales["non_2xx"],
        "ack_p50_ms": sales["latency_ms"]["p50"],
        "ack_p90_ms": sales["latency_ms"]["p90"],
        "ack_p99_ms": sales["latency_ms"]["p99"],
        "ack_max_ms": sales["latency_ms"]["max"],
    }


def measure(
    wrk: str, database: str, db_url: str, workers: int, redis_url: str | None, args, grow_factor: float = 0
) -> dict:
    """One served app on a fresh database (grown by `grow_factor` first): no-op, settled run, no-op
    again, fixed rate."""
    grown = None
    if grow_factor > 0:
        _served.log(f"{database}: growing the league {grow_factor:g}x")
        grown = grow.grow(db_url, grow_factor)
    application_name = None
    if database == "postgresql":
        application_name = f"cozykart-wrk-{uuid.uuid4().hex[:10]}"
        db_url = _served.with_application_name(db_url, application_name)
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="cozykart-wrk-") as tmp:
        workdir = Path(tmp)
        _served.prepare(db_url)
        extra = {"GRANIAN_WORKERS": str(workers)} if workers > 1 else {}
        env = _served.server_env(db_url, workdir, redis_url=redis_url if workers > 1 else None, **extra)
        server = _served.Server(env, workdir)
        server.start()
        try:
            assert server.process is not None
            label = f"{database}-{workers}w" + (f"-grown-{grow_factor:g}x" if grow_factor else "")
            _served.log(f"{label}: warming up")
            run_sales(wrk, server.base_url, workdir, WARM_UP_EVENTS)
            _served.log(f"{label}: GET /ping for {args.ping_seconds} s")
            ping_before = ping_rate(wrk, server.base_url, args.ping_seconds)
            _served.log(f"{label}: {args.events} sales from wrk, {CONNECTIONS} connections")
            meter = CpuMeter(server.process.pid, db_url, application_name)
            settled = _settled_run(wrk, server, db_url, meter, args, workdir, label)
            ping_after = ping_rate(wrk, server.base_url, args.ping_seconds)
            _served.log(f"{label}: {args.rate}/s for {args.seconds} s")
            fixed_rate = _fixed_rate_run(wrk, server, db_url, args, workdir)
        finally:
            server.stop()
    noop_per_s = (ping_before["per_s"] + ping_after["per_s"]) / 2
    share = settled["settled_per_s"] / noop_per_s if settled["settled_per_s"] and noop_per_s else None
    return {
        "database": database,
        "workers": workers,
        "grow_factor": grow_factor,
        "grown": grown and {key: grown[key] for key in ("database_totals", "ledger_s") if key in grown},
        "load_average_before": load_before,
        "load_average_after": _load(),
        "noop": {"before_per_s": ping_before["per_s"], "after_per_s": ping_after["per_s"]},
        "settled": settled,
        "settled_share_of_noop": round(share, 3) if share is not None else None,
        "fixed_rate": fixed_rate,
    }


def _on_fresh_database(
    wrk: str, database: str, args, workers: int = 1, redis_url: str | None = None, grow_factor: float = 0
) -> dict:
    """`measure` on a database of its own: a temporary SQLite file, or a throwaway PostgreSQL schema."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cozykart-wrk-db-") as tmp:
            return measure(wrk, database, f"sqlite:///{tmp}/bench.db", workers, None, args, grow_factor)
    url, schema = _served.postgres_schema(args.postgres_url, "wrk")
    try:
        return measure(wrk, database, url, workers, redis_url, args, grow_factor)
    finally:
        _served.drop_schema(args.postgres_url, schema)


def _postgres_runs(wrk: str, args) -> list[dict]:
    with contextlib.ExitStack() as stack:
        redis_url = args.redis_url
        if any(workers > 1 for workers in args.workers) and not redis_url:
            redis = redis_drill.RedisServer(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            redis.start()
            stack.callback(redis.stop)
            redis_url = redis.url
        return [_on_fresh_database(wrk, "postgresql", args, workers, redis_url) for workers in args.workers]


def _measure(args) -> list[dict]:
    wrk = ensure_wrk()
    with_postgres = bool(args.postgres_url) and not args.sqlite_only
    if args.grow:  # one worker on each database: a fresh database, then one grown to each factor
        databases = ["sqlite", "postgresql"] if with_postgres else ["sqlite"]
        return [
            _on_fresh_database(wrk, database, args, grow_factor=factor)
            for database in databases
            for factor in [0.0, *args.grow]
        ]
    reports = [_on_fresh_database(wrk, "sqlite", args)]
    if with_postgres:
        reports += _postgres_runs(wrk, args)
    return reports


def _factors(value: str) -> list[float]:
    factors = [float(part) for part in value.split(",") if part.strip()]
    if not factors or min(factors) <= 0:
        raise argparse.ArgumentTypeError("grow: a comma-separated list of factors > 0, e.g. 10,100")
    return factors


def _workers(value: str) -> list[int]:
    counts = [int(part) for part in value.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("workers: a comma-separated list of counts >= 1, e.g. 1,2")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10000, help="deliveries in the settled run")
    parser.add_argument("--rate", type=int, default=200, help="offered deliveries/s in the latency run")
    parser.add_argument("--seconds", type=int, default=10, help="length of the latency run")
    parser.add_argument("--ping-seconds", type=int, default=5, help="each GET /ping run, before and after")
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--workers", type=_workers, default=[1, 2], help="PostgreSQL runs, by worker count (2+ use Redis)"
    )
    parser.add_argument(
        "--redis-url", help="Redis for 2+ workers (default: a redis-server of this bench's own)"
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even when a URL is set")
    parser.add_argument("--profile", type=Path, help="py-spy profiles of each settled run go here")
    parser.add_argument(
        "--grow", type=_factors, default=[], help="also on databases grown to these factors (one worker)"
    )
    parser.add_argument("--json", action="store_true", help="the report as one JSON line, the only stdout")
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):
        reports = _measure(args)
    report = {
        "bench": "webhooks_grown" if args.grow else "webhooks_wrk",
        "load_generator": f"wrk -t{THREADS} -c{CONNECTIONS}, bench/wrk/stripe_sales.lua",
        "racers": _served.RACERS_PER_RACE,
        "cores": os.cpu_count(),
        "reports": reports,
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()

"""Database fault drill: the database fails under load; nothing unstored is acknowledged, the app
recovers without a restart, and the provider's retries leave every event applied exactly once.

    python bench/db_fault_drill.py [--scenario terminate|outage|outage-blackhole|locked ...]
                                   [--events 400] [--postgres-url URL] [--json]

Each scenario serves the backend once (`bench/_served.Server`), drives signed Stripe deliveries at
it (`crash_drill.plan`, `_deliver`: sales, tips, refunds of acknowledged sales) from CONCURRENCY
clients, and once WARMUP_ACKS are acknowledged, injects its fault:
- `terminate` (PostgreSQL): `pg_terminate_backend` on every connection of the app (found by its
  `application_name`) TERMINATE_TIMES times, TERMINATE_EVERY_S apart, and on (up to
  TERMINATE_TIMES_MAX) until one has cut a transaction: a terminated idle connection is replaced by
  the pool's pre-ping without anyone noticing, which is the point, but proves nothing;
- `outage` (PostgreSQL): the app reaches PostgreSQL through a loopback proxy (`bench/tcp_proxy.py`),
  which is cut for OUTAGE_S: open connections closed, new ones refused (RST), as when the server
  is down; then restored;
- `outage-blackhole` (PostgreSQL): the same, but new connections hang unanswered, as when the network
  is partitioned: only libpq's `connect_timeout` (`cozykart/db/engine.py`) ends each attempt;
- `locked` (SQLite): another process holds `BEGIN EXCLUSIVE` on the app's database file for
  LOCK_BUSY_TIMEOUTS times the app's busy timeout and LOCK_MARGIN_S more (`settings.SQLITE_BUSY_TIMEOUT_MS`), then commits.
The load goes on through the fault and RECOVERY_WATCH_S past its end (the time from the end of the
fault to the first acknowledged delivery is the recovery). Then, like a provider (Stripe resends an
event not answered 2xx, for up to three days: https://docs.stripe.com/webhooks/process-undelivered-events), every
unacknowledged delivery is sent again (`crash_drill.retry_like_a_provider`: bounded attempts, then
duplicates), the inbox is awaited, `reconcile --json` runs, and `crash_drill.expected_of/observe/check`
compare the database with exactly-once application of the deliveries. The server must be the same
processes at the end as at the start (never restarted).

Prints one JSON report (`--json`: one object, the only stdout); exits 1 when a scenario fails.
Bounded: every request, wait and fault has a limit (under 90 s a scenario on an idle machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import _served, crash_drill
from bench.tcp_proxy import TcpProxy
from cozykart.settings import SQLITE_BUSY_TIMEOUT_MS, load_settings

SCENARIOS = ("terminate", "outage", "outage-blackhole", "locked")
POSTGRES_SCENARIOS = ("terminate", "outage", "outage-blackhole")
EVENTS_DEFAULT = 400
CONCURRENCY = crash_drill.CONCURRENCY
WARMUP_ACKS = 40  # acknowledged before the fault: the app was serving
PACE_S = 0.8  # a client's pause between two deliveries (16 clients: at most 20 deliveries a second)
RECOVERY_WATCH_S = 6.0  # the load goes on this long after the fault ends
LOAD_TIMEOUT_S = 60.0
TERMINATE_TIMES = 8
TERMINATE_TIMES_MAX = 40  # more, until one hit a transaction (an idle connection is replaced unseen)
TERMINATE_EVERY_S = 0.5
OUTAGE_S = 10.0
LOCK_BUSY_TIMEOUTS = 2  # the lock outlasts two busy timeouts: the batch waiting when it began, and the next
LOCK_MARGIN_S = 3.0
LOCK_READY_TIMEOUT_S = 30.0
SEED = 20261203


@dataclass
class Attempt:
    """One request of the load: when it was sent and answered (monotonic seconds), and how."""

    sent_at: float
    answered_at: float
    status: str  # "200 applied", "500", or the client's error ("ConnectError", "ReadTimeout")
    acknowledged: bool


@dataclass
class FaultWindow:
    began_at: float | None = None
    ended_at: float | None = None
    answered_5xx: int = 0  # by the load, since the fault began
    details: dict = field(default_factory=dict)


# --- the faults: each runs in a thread, marks its window, and returns what it did ----------------


def terminate_fault(admin_url: str, application_name: str) -> Callable[[FaultWindow], None]:
    """`pg_terminate_backend` on the app's connections, TERMINATE_TIMES times or more (see the module)."""

    def run(window: FaultWindow) -> None:
        engine = create_engine(admin_url)
        terminated = []
        try:
            window.began_at = time.monotonic()
            while len(terminated) < TERMINATE_TIMES or (
                window.answered_5xx == 0 and len(terminated) < TERMINATE_TIMES_MAX
            ):
                with engine.begin() as connection:
                    killed = connection.execute(
                        text(
                            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE application_name = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": application_name},
                    ).scalar_one()
                terminated.append(int(killed))
                time.sleep(TERMINATE_EVERY_S)
            window.ended_at = time.monotonic()
        finally:
            engine.dispose()
        window.details = {"terminations": len(terminated), "connections_terminated": terminated}

    return run


def outage_fault(proxy: TcpProxy, mode: str) -> Callable[[FaultWindow], None]:
    """The proxy cut for OUTAGE_S (`mode`: refuse or blackhole), then restored."""

    def run(window: FaultWindow) -> None:
        window.began_at = time.monotonic()
        closed = proxy.cut(mode)  # type: ignore[arg-type]
        time.sleep(OUTAGE_S)
        proxy.restore()
        window.ended_at = time.monotonic()
        window.details = {
            "mode": mode,
            "outage_s": OUTAGE_S,
            "connections_closed_by_cut": closed,
            "connections_blackholed": proxy.counts.blackholed,
        }

    return run


def lock_fault(database: str) -> Callable[[FaultWindow], None]:
    """Another process holds BEGIN EXCLUSIVE on the file past the app's busy timeout, then commits."""
    hold_s = LOCK_BUSY_TIMEOUTS * SQLITE_BUSY_TIMEOUT_MS / 1000 + LOCK_MARGIN_S
    script = (
        "import sqlite3, sys, time\n"
        "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "connection.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "connection.execute('COMMIT')\n"
    )

    def run(window: FaultWindow) -> None:
        holder = subprocess.Popen(
            [sys.executable, "-c", script, database, str(hold_s)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert holder.stdout is not None
            ready = holder.stdout.readline().strip()
            window.began_at = time.monotonic()
            if ready != "locked":
                raise RuntimeError(f"the lock holder did not take the lock: {ready!r}")
            holder.wait(timeout=hold_s + LOCK_READY_TIMEOUT_S)
            window.ended_at = time.monotonic()
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait(timeout=LOCK_READY_TIMEOUT_S)
        window.details = {
            "lock_held_s": hold_s,
            "busy_timeout_ms": SQLITE_BUSY_TIMEOUT_MS,
            "holder_exit": holder.returncode,
        }

    return run


# --- the load --------------------------------------------------------------------------------


async def load_through_fault(
    url: str, deliveries: list[crash_drill.Delivery], fault: Callable[[FaultWindow], None]
) -> tuple[list[Attempt], FaultWindow]:
    """Paced deliveries until the fault has ended and RECOVERY_WATCH_S more passed (or they ran out)."""
    queue = list(reversed(deliveries))
    attempts: list[Attempt] = []
    window = FaultWindow()
    fault_task: asyncio.Future | None = None
    acked = 0
    give_up_at = time.monotonic() + LOAD_TIMEOUT_S

    def watching() -> bool:
        if time.monotonic() > give_up_at:
            return False
        return window.ended_at is None or time.monotonic() < window.ended_at + RECOVERY_WATCH_S

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acked, fault_task
        while queue and watching():
            delivery = queue.pop()
            sent_at = time.monotonic()
            ok = await crash_drill._deliver(client, url, delivery)
            attempts.append(Attempt(sent_at, time.monotonic(), delivery.statuses[-1], ok))
            if window.began_at is not None and delivery.statuses[-1][:1] == "5":
                window.answered_5xx += 1
            if ok:
                acked += 1
                if crash_drill._refund_due(delivery):
                    refund = crash_drill._refund_for(delivery)
                    deliveries.append(refund)
                    queue.insert(max(0, len(queue) - CONCURRENCY), refund)
            if acked >= WARMUP_ACKS and fault_task is None:
                fault_task = asyncio.get_running_loop().run_in_executor(None, fault, window)
            await asyncio.sleep(max(0.0, PACE_S - (time.monotonic() - sent_at)))

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=crash_drill.REQUEST_TIMEOUT_S, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    if fault_task is not None:
        await fault_task
    return attempts, window


def measure(attempts: list[Attempt], window: FaultWindow) -> dict:
    """What the clients saw during the fault (requests in flight at any moment of it) and after it."""
    if window.began_at is None or window.ended_at is None:
        return {"fault_happened": False}
    began, ended = window.began_at, window.ended_at
    during = [a for a in attempts if a.sent_at <= ended and a.answered_at >= began]
    acks_after = sorted(a.answered_at for a in attempts if a.acknowledged and a.answered_at >= ended)
    return {
        "fault_happened": True,
        "fault_seconds": round(ended - began, 2),
        "requests_during_fault": len(during),
        "acknowledged_during_fault": sum(a.acknowledged and a.answered_at <= ended for a in during),
        "answered_5xx_during_fault": sum(a.status[:1] == "5" for a in during),
        "answered_5xx": sum(a.status[:1] == "5" for a in attempts),
        # Anything but 5xx or an acknowledgement (a 4xx, "200 failed") would be a wrong answer.
        "answered_other": sorted(
            {
                a.status
                for a in attempts
                if not a.acknowledged and a.status[:1].isdigit() and a.status[:1] != "5"
            }
        ),
        # The client's own errors by kind: a ReadTimeout is a request the app held past the client's limit.
        "connection_errors": dict(Counter(a.status for a in attempts if not a.status[:1].isdigit())),
        "recovery_seconds": round(acks_after[0] - ended, 2) if acks_after else None,
        "slowest_answer_during_fault_s": round(
            max((a.answered_at - a.sent_at for a in during), default=0.0), 2
        ),
    }


def _group_pids(pgid: int) -> set[int]:
    """The processes of the served app's process group (from /proc): the same set before and after
    the fault means no worker died and was respawned."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.add(int(stat.parent.name))
    return pids


# --- one scenario ------------------------------------------------------------------------------


def scenario(
    name: str, db_url: str, app_db_url: str, workdir: Path, fault, *, events: int, seed: int
) -> dict:
    """Serve on `app_db_url` (the database itself, or through the proxy), load, fault, retry, check `db_url`."""
    started = time.perf_counter()
    draw = random.Random(seed)
    league = _served.prepare(db_url)
    env = _served.server_env(app_db_url, workdir)
    settings = load_settings(env)
    server = _served.Server(env, workdir)
    deliveries = crash_drill.plan(events, draw)
    url = f"{server.base_url}/api/webhooks/stripe"
    report: dict = {"scenario": name, "database": db_url.split(":")[0].split("+")[0]}
    try:
        server.start()
        assert server.process is not None
        pids_before = _group_pids(server.process.pid)
        attempts, window = asyncio.run(load_through_fault(url, deliveries, fault))
        report["fault"] = window.details
        report["load"] = measure(attempts, window)
        report["load"]["never_sent"] = sum(not delivery.attempts for delivery in deliveries)
        report["load"]["unacknowledged"] = sum(bool(d.attempts) and not d.acked for d in deliveries)
        report["retry"] = asyncio.run(crash_drill.retry_like_a_provider(url, deliveries, draw))
        report["inbox_not_applied_after_wait"] = crash_drill._wait_for_inbox(db_url)
        report["server"] = {
            "starts": server.starts,
            "alive": server.process.poll() is None,
            "same_processes": _group_pids(server.process.pid) == pids_before,
            "processes": len(pids_before),
        }
    finally:
        server.stop()
    return _verdict(report, deliveries, db_url, settings, league, started)


def _verdict(report, deliveries, db_url, settings, league, started) -> dict:
    verdict = crash_drill.judge(db_url, deliveries, settings, league)
    expected, observed, problems = verdict.expected, verdict.observed, verdict.problems
    load, server = report.get("load", {}), report.get("server", {})
    if not load.get("fault_happened"):
        problems.append("the fault never began (too few deliveries acknowledged before it)")
    elif load["answered_5xx_during_fault"] == 0:
        problems.append("no delivery was answered 5xx during the fault: the fault did nothing")
    if load.get("recovery_seconds") is None:
        problems.append("no delivery was acknowledged after the fault: no recovery seen")
    if server.get("starts") != 1 or not server.get("alive") or not server.get("same_processes"):
        problems.append(f"the server restarted or died: {server}")
    applied = {event_id for event_id, status in observed["inbox"] if status == "applied"}
    acknowledged = [delivery for delivery in deliveries if delivery.acked]
    report.update(
        {
            "deliveries": len(deliveries),
            "distinct_events": len(expected.event_ids),
            "acknowledged": len(acknowledged),
            "applied_once": sum(delivery.event_id in applied for delivery in acknowledged)
            if len(observed["inbox"]) == len({event_id for event_id, _ in observed["inbox"]})
            else 0,
            "retried": load.get(
                "unacknowledged"
            ),  # sent, refused, sent again (never-sent ones are not retries)
            "reconcile": verdict.reconcile,
            "problems": problems,
            "ok": not problems,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return report


def run_scenario(name: str, workdir: Path, *, postgres_url: str | None, events: int, seed: int) -> dict:
    """One scenario on a fresh database (a SQLite file in `workdir`, or a fresh PostgreSQL schema)."""
    if name == "locked":
        path = workdir / "drill.db"
        return scenario(
            name,
            f"sqlite:///{path}",
            f"sqlite:///{path}",
            workdir,
            lock_fault(str(path)),
            events=events,
            seed=seed,
        )
    assert postgres_url, f"the {name} scenario needs PostgreSQL"
    db_url, schema = _served.postgres_schema(postgres_url, "dbfault")
    try:
        if name == "terminate":
            application_name = f"cozykart-{schema}"  # this run's connections only, not a neighbour's
            app_url = make_url(db_url).update_query_dict({"application_name": application_name})
            return scenario(
                name,
                db_url,
                app_url.render_as_string(hide_password=False),
                workdir,
                terminate_fault(postgres_url, application_name),
                events=events,
                seed=seed,
            )
        upstream = make_url(db_url)
        with TcpProxy(
            upstream_port=upstream.port or 5432, upstream_host=upstream.host or "127.0.0.1"
        ) as proxy:
            app_url = upstream.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            mode = "blackhole" if name == "outage-blackhole" else "refuse"
            return scenario(
                name, db_url, app_url, workdir, outage_fault(proxy, mode), events=events, seed=seed
            )
    finally:
        _served.drop_schema(postgres_url, schema)


def summary(report: dict) -> str:
    """One line of measured figures, for the test run's summary."""
    load = report.get("load", {})
    return (
        f"{report['scenario']} ({report['database']}): {report['acknowledged']} acknowledged = "
        f"{report['applied_once']} applied once, {load.get('answered_5xx_during_fault')} answered 5xx during "
        f"the {load.get('fault_seconds')} s fault ({load.get('acknowledged_during_fault')} acknowledged in it), "
        f"{sum(load.get('connection_errors', {}).values())} client timeouts, "
        f"{report['retried']} retried, recovery {load.get('recovery_seconds')} s, "
        f"reconcile {'clean' if report['reconcile']['clean'] else 'NOT clean'}, {report['seconds']} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="default: all that can run")
    parser.add_argument("--events", type=int, default=EVENTS_DEFAULT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    names = args.scenario or [n for n in SCENARIOS if args.postgres_url or n not in POSTGRES_SCENARIOS]
    runs = {}
    with contextlib.redirect_stdout(sys.stderr):
        for name in names:
            with tempfile.TemporaryDirectory(prefix="cozykart-dbfault-") as tmp:
                runs[name] = run_scenario(
                    name, Path(tmp), postgres_url=args.postgres_url, events=args.events, seed=args.seed
                )
            _served.log(summary(runs[name]))
    _served.finish_drill("db-fault", runs, as_json=args.json)


if __name__ == "__main__":
    main()

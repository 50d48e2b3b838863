"""Graceful-stop drill: SIGTERM the served app mid-load, restart it, retry like a provider, prove the ledger.

    python bench/sigterm_drill.py [--events 300] [--stops 3] [--stop-after 0.2] [--postgres-url URL] [--json]

SIGTERM is what `systemctl stop` and `docker stop` send first; SIGKILL follows
when the process outlives TimeoutStopSec (systemd.kill(5), systemd.service(5):
https://man7.org/linux/man-pages/man5/systemd.kill.5.html) or the grace period
(`docker stop -t`, 10 s by default: https://docs.docker.com/reference/cli/docker/container/stop/). For SQLite (a file) and, when a URL is given or COZYKART_TEST_POSTGRES_URL
is set, PostgreSQL (a fresh schema):
1. prepares the crash drill's database (a live 8-racer race and a DJ) and serves the
   backend (`reflex run --env prod --backend-only`: Granian), announcing to a fake
   Discord webhook on loopback that answers slowly, so the outbox sender is often
   mid-send when the signal comes;
2. drives signed Stripe deliveries from crash_drill.CONCURRENCY clients (sales,
   tips, refunds of acknowledged sales: crash_drill.plan);
3. once `--stop-after` of them more are acknowledged, sends SIGTERM with requests in
   flight, to the server's whole process group (systemd's default) in odd cycles and to
   its main process only (`docker stop` on PID 1) in even ones, times it until every process is gone,
   and classifies each request that was in flight at the signal: answered 200
   (must be committed), answered 5xx or closed without an answer (may or may not
   be committed: the provider retries and the inbox dedups), and answered 200 but
   not committed (a defect: must be zero, over every 200 of the cycle); a fresh
   connection tried after the signal must find no server taking it;
4. restarts on the same database, `--stops` times, then retries every delivery
   still unacknowledged and sends duplicates (crash_drill.retry_like_a_provider),
   waits for the inbox and the outbox, stops gracefully once more, runs reconcile
   and checks the database with crash_drill.expected_of/observe/check, and that
   the fake Discord got every announcement exactly once (none half-sent, none twice).

Then `held_up_stop`: SIGTERM while another transaction holds the lock the writer's
batch needs (as a slow disk or a busy database would), released HOLD_AFTER_SIGTERM_S
later: the server must still be alive then, and answer 200 and commit every delivery
it had been handed.

Prints one JSON report (with `--json`: one object, the only stdout); exits 1 when a
check fails on any database. Bounded: every request, start, stop and wait has a limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from bench import _served, crash_drill
from cozykart.db.engine import create_db_engine
from cozykart.db.outbox_tables import DiscordOutbox
from cozykart.settings import load_settings
from tests.fake_discord_webhook import FakeDiscordWebhook

EVENTS_DEFAULT = 300
STOP_AFTER_DEFAULT = 0.2  # share of the deliveries acknowledged between two SIGTERMs
STOPS_DEFAULT = 3
STOP_TIMEOUT_S = 30  # the drill's TimeoutStopSec: past it the group is SIGKILLed and the cycle fails
PROBE_AFTER_S = 0.3  # a fresh connection tried this long after SIGTERM must not be served
PROBE_TIMEOUT_S = 3
DISCORD_DELAY_S = 0.05  # the fake Discord answers this slowly (a send is often in flight at the signal)
OUTBOX_SETTLE_TIMEOUT_S = 40
SHUTDOWN_LOG_DEFECTS = ("Traceback", "did not stop within", "refused to gracefully stop", "still unwritten")


@dataclass
class Attempt:
    """One request of a cycle: when it started and ended (monotonic seconds), and what came of it."""

    delivery: crash_drill.Delivery
    started: float
    ended: float = 0.0
    status: str = ""  # crash_drill's words: "200 applied", "503", "ReadError"...
    acknowledged: bool = False


async def _attempt(client: httpx.AsyncClient, url: str, delivery: crash_drill.Delivery, log: list) -> bool:
    attempt = Attempt(delivery, time.monotonic())
    log.append(attempt)
    attempt.acknowledged = await crash_drill._deliver(client, url, delivery)
    attempt.ended, attempt.status = time.monotonic(), delivery.statuses[-1]
    return attempt.acknowledged


@dataclass
class _Stop:
    """The SIGTERM of one cycle, sent from a thread while the clients keep their requests open."""

    signalled_at: float = 0.0
    seconds_to_exit: float = 0.0
    stopped_by_itself: bool = False
    probe: str = ""  # what a fresh connection after the signal met: refused | answered NNN
    whole_group: bool = True  # SIGTERM to every process of the group, or to the main one only


def _terminate(server: _served.Server, stopping: threading.Event, stop: _Stop) -> None:
    stopping.set()  # clients take no new delivery; the ones in flight meet the SIGTERM
    stop.signalled_at = time.monotonic()
    probe = threading.Thread(target=_probe, args=(server, stop), daemon=True)
    probe.start()
    stop.seconds_to_exit, stop.stopped_by_itself = server.terminate(
        STOP_TIMEOUT_S, whole_group=stop.whole_group
    )
    probe.join(PROBE_AFTER_S + PROBE_TIMEOUT_S + 1)


def _probe(server: _served.Server, stop: _Stop) -> None:
    """A new connection after the signal (never a kept-alive one): refused, or left unanswered."""
    time.sleep(PROBE_AFTER_S)
    try:
        response = httpx.get(f"{server.base_url}/api/health", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as error:
        stop.probe = f"refused ({type(error).__name__})"
    else:
        stop.probe = f"answered {response.status_code}"


async def under_load_then_terminate(
    url: str,
    deliveries: list[crash_drill.Delivery],
    server: _served.Server,
    stop_after: int,
    *,
    whole_group: bool = True,
) -> tuple[list[Attempt], _Stop, int]:
    """Send every unacknowledged delivery until `stop_after` more are acknowledged, then SIGTERM the
    server's group with requests in flight; returns every attempt, the stop, and how many were never sent."""
    queue = [delivery for delivery in deliveries if not delivery.acked]
    queue.reverse()
    stopping = threading.Event()
    stop = _Stop(whole_group=whole_group)
    attempts: list[Attempt] = []
    acked = 0
    stop_task: asyncio.Future | None = None

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acked, stop_task
        while queue and not stopping.is_set():
            delivery = queue.pop()
            if not await _attempt(client, url, delivery, attempts):
                continue
            acked += 1
            if crash_drill._refund_due(delivery):
                refund = crash_drill._refund_for(delivery)
                deliveries.append(refund)
                queue.insert(max(0, len(queue) - crash_drill.CONCURRENCY), refund)
            if acked >= stop_after and stop_task is None:
                stop_task = asyncio.get_running_loop().run_in_executor(
                    None, _terminate, server, stopping, stop
                )

    concurrency = crash_drill.CONCURRENCY
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=crash_drill.REQUEST_TIMEOUT_S, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    if stop_task is not None:
        await stop_task
    return attempts, stop, len(queue)


def classify(attempts: list[Attempt], stop: _Stop, committed: set[str]) -> dict:
    """Every request in flight at the signal by what it got; and every 200 of the cycle not committed."""
    in_flight = [a for a in attempts if a.started < stop.signalled_at < a.ended]
    answered = [a for a in in_flight if a.acknowledged]
    unanswered = [a for a in in_flight if not a.acknowledged]
    return {
        "in_flight_at_sigterm": len(in_flight),
        "answered_200_after_sigterm": len(answered),
        "answered_5xx_after_sigterm": sum(a.status[:1] == "5" for a in unanswered),
        "closed_without_answer": sum(not a.status[:1].isdigit() for a in unanswered),
        "unanswered_but_committed": sum(a.delivery.event_id in committed for a in unanswered),
        "acknowledged_in_cycle": sum(a.acknowledged for a in attempts),
        "acknowledged_not_committed": sum(
            a.acknowledged and a.delivery.event_id not in committed for a in attempts
        ),
        "statuses_in_flight": dict(Counter(a.status for a in in_flight)),
    }


def _committed_event_ids(db_url: str) -> set[str]:
    return {event_id for event_id, _status in crash_drill.observe(db_url)["inbox"]}


def _shutdown_log_defects(log_path: Path) -> list[str]:
    """Lines of a server's log that say its stop was not clean (a traceback, a task or worker that hung)."""
    if not log_path.exists():
        return []
    lines = log_path.read_text(errors="replace").splitlines()
    return [line[:300] for line in lines if any(defect in line for defect in SHUTDOWN_LOG_DEFECTS)]


def one_cycle(
    db_url: str,
    url: str,
    deliveries: list[crash_drill.Delivery],
    server: _served.Server,
    stop_after: int,
    *,
    whole_group: bool,
) -> dict:
    """Start, load, SIGTERM mid-load; the cycle's figures."""
    started = time.monotonic()
    server.start()
    restart_seconds = time.monotonic() - started
    attempts, stop, never_sent = asyncio.run(
        under_load_then_terminate(url, deliveries, server, stop_after, whole_group=whole_group)
    )
    cycle = classify(attempts, stop, _committed_event_ids(db_url))
    cycle.update(
        {
            "sigterm_sent": stop.signalled_at > 0,
            "sigterm_to": "process group" if whole_group else "main process",
            "seconds_sigterm_to_exit": round(stop.seconds_to_exit, 2),
            "stopped_by_itself": stop.stopped_by_itself,
            "new_connection_after_sigterm": stop.probe,
            "never_sent": never_sent,
            "start_seconds": round(restart_seconds, 1),
            "shutdown_log_defects": _shutdown_log_defects(server.workdir / f"server-{server.starts}.log"),
        }
    )
    return cycle


def _outbox_counts(db_url: str) -> dict[str, int]:
    outbox = DiscordOutbox.__table__
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(outbox.c.status, func.count())
                .where(outbox.c.channel == "announce")
                .group_by(outbox.c.status)
            ).all()
        return {str(status): int(count) for status, count in rows}
    finally:
        engine.dispose()


def _wait_for_outbox(db_url: str) -> dict[str, int]:
    """Bounded wait until no announcement is pending; the announce channel's rows by status."""
    deadline = time.monotonic() + OUTBOX_SETTLE_TIMEOUT_S
    while True:
        counts = _outbox_counts(db_url)
        if not counts.get("pending") or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def announcement_problems(counts: dict[str, int], discord: FakeDiscordWebhook) -> list[str]:
    """Each announcement sent exactly once: as many distinct messages as rows sent, none twice."""
    bodies = Counter(json.dumps(body, sort_keys=True) for body in discord.received)
    problems = []
    if counts.get("pending") or counts.get("failed"):
        problems.append(f"announcements not sent: {counts}")
    if len(bodies) != counts.get("sent", 0):
        problems.append(f"{len(bodies)} distinct announcements reached Discord, {counts.get('sent', 0)} sent")
    doubled = sum(n - 1 for n in bodies.values() if n > 1)
    if doubled:
        problems.append(f"{doubled} announcements reached Discord twice (sent but not marked sent)")
    return problems


def drill(
    db_url: str,
    workdir: Path,
    *,
    events: int = EVENTS_DEFAULT,
    stop_after: float = STOP_AFTER_DEFAULT,
    stops: int = STOPS_DEFAULT,
    seed: int = crash_drill.SEED,
) -> dict:
    """One drill on one database; `ok` is true when every check holds and reconcile is clean."""
    started = time.perf_counter()
    draw = random.Random(seed)
    league = _served.prepare(db_url)
    discord = FakeDiscordWebhook(delay_s=DISCORD_DELAY_S).start()
    env = _served.server_env(db_url, workdir, DISCORD_ANNOUNCE_WEBHOOK_URL=discord.url)
    settings = load_settings(env)
    server = _served.Server(env, workdir)
    deliveries = crash_drill.plan(events, draw)
    url = f"{server.base_url}/api/webhooks/stripe"
    report: dict = {"deliveries_planned": events, "cycles": []}
    try:
        for number in range(stops):
            cycle = one_cycle(
                db_url, url, deliveries, server, max(1, int(events * stop_after)), whole_group=number % 2 == 0
            )
            _served.log(f"SIGTERM cycle: {cycle}")
            report["cycles"].append(cycle)
        server.start()
        report["retry"] = asyncio.run(crash_drill.retry_like_a_provider(url, deliveries, draw))
        report["inbox_not_applied_after_wait"] = crash_drill._wait_for_inbox(db_url)
        report["outbox"] = _wait_for_outbox(db_url)
        seconds, by_itself = server.terminate(STOP_TIMEOUT_S)
        report["final_stop"] = {"seconds_sigterm_to_exit": round(seconds, 2), "stopped_by_itself": by_itself}
    finally:
        server.stop()
        discord.stop()
    return _judge(report, deliveries, db_url, settings, league, discord, started)


def _judge(report, deliveries, db_url, settings, league, discord, started) -> dict:
    verdict = crash_drill.judge(db_url, deliveries, settings, league)
    expected, problems = verdict.expected, verdict.problems
    problems += announcement_problems(report["outbox"], discord)
    for number, cycle in enumerate(report["cycles"], start=1):
        if cycle["acknowledged_not_committed"]:
            problems.append(
                f"cycle {number}: {cycle['acknowledged_not_committed']} answered 200 but not committed"
            )
        if not (cycle["sigterm_sent"] and cycle["stopped_by_itself"]):
            problems.append(f"cycle {number}: did not stop by itself within {STOP_TIMEOUT_S} s of SIGTERM")
        if cycle["new_connection_after_sigterm"].startswith("answered"):
            problems.append(f"cycle {number}: a new connection after SIGTERM was served")
        if cycle["shutdown_log_defects"]:
            problems.append(f"cycle {number}: the stop logged {cycle['shutdown_log_defects'][:2]}")
    if not report["final_stop"]["stopped_by_itself"]:
        problems.append("the final stop needed SIGKILL")
    report.update(
        {
            "deliveries": dict(Counter(delivery.kind for delivery in deliveries)),
            "distinct_events": len(expected.event_ids),
            "announcements_received": len(discord.received),
            "reconcile": verdict.reconcile,
            "problems": problems,
            "ok": not problems,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return report


HELD_DELIVERIES = 8
HAND_OVER_S = 1.0  # the held-up requests are all handed to the writer by then
HOLD_AFTER_SIGTERM_S = 2.0  # the writer stays unable to commit this long after the signal


@contextlib.contextmanager
def _writer_held_up(db_url: str) -> Iterator[Callable[[], None]]:
    """Another transaction holding the lock the writer's next batch needs (as a slow disk or a
    busy database would); yields the function that releases it."""
    engine = create_db_engine(db_url)
    connection = engine.connect()
    transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE takes the write lock
    if not db_url.startswith("sqlite"):
        connection.execute(text("LOCK TABLE webhook_event IN ACCESS EXCLUSIVE MODE"))

    def release() -> None:
        if transaction.is_active:
            transaction.rollback()

    try:
        yield release
    finally:
        if transaction.is_active:
            transaction.rollback()
        connection.close()
        engine.dispose()


def _terminate_while_held(server: _served.Server, release: Callable[[], None], stop: _Stop) -> bool:
    """SIGTERM, keep the writer held HOLD_AFTER_SIGTERM_S, release it; whether the server was still
    alive (waiting for its requests) when the hold ended."""
    stop.signalled_at = time.monotonic()
    waiting = threading.Thread(target=lambda: _record_exit(server, stop), daemon=True)
    waiting.start()
    time.sleep(HOLD_AFTER_SIGTERM_S)
    alive = server.process is not None and server.process.poll() is None
    release()
    waiting.join(STOP_TIMEOUT_S + 5)
    return alive


def _record_exit(server: _served.Server, stop: _Stop) -> None:
    stop.seconds_to_exit, stop.stopped_by_itself = server.terminate(STOP_TIMEOUT_S)


def held_up_stop(db_url: str, workdir: Path, *, seed: int = crash_drill.SEED) -> dict:
    """SIGTERM while the writer cannot commit: the server must wait, commit and answer every delivery
    handed over, then exit; what was not acknowledged is retried after a restart; then the checks."""
    started = time.perf_counter()
    league = _served.prepare(db_url)
    env = _served.server_env(db_url, workdir)
    server = _served.Server(env, workdir)
    deliveries = crash_drill.plan(HELD_DELIVERIES, random.Random(seed))
    url = f"{server.base_url}/api/webhooks/stripe"
    stop = _Stop()
    attempts: list[Attempt] = []
    report: dict = {"handed_over": HELD_DELIVERIES, "hold_after_sigterm_s": HOLD_AFTER_SIGTERM_S}

    async def send_then_stop(release: Callable[[], None]) -> bool:
        async with httpx.AsyncClient(timeout=crash_drill.REQUEST_TIMEOUT_S) as client:
            sends = [asyncio.create_task(_attempt(client, url, d, attempts)) for d in deliveries]
            await asyncio.sleep(HAND_OVER_S)
            loop = asyncio.get_running_loop()
            alive = loop.run_in_executor(None, _terminate_while_held, server, release, stop)
            await asyncio.gather(*sends)
            return await alive

    try:
        server.start()
        with _writer_held_up(db_url) as release:
            report["alive_while_held"] = asyncio.run(send_then_stop(release))
        report.update(classify(attempts, stop, _committed_event_ids(db_url)))
        report["seconds_sigterm_to_exit"] = round(stop.seconds_to_exit, 2)
        report["stopped_by_itself"] = stop.stopped_by_itself
        if any(not delivery.acked for delivery in deliveries):
            server.start()
            report["retry"] = asyncio.run(
                crash_drill.retry_like_a_provider(url, deliveries, random.Random(seed))
            )
            report["inbox_not_applied_after_wait"] = crash_drill._wait_for_inbox(db_url)
    finally:
        server.stop()
    return _judge_held(report, deliveries, db_url, load_settings(env), league, started)


def _judge_held(report, deliveries, db_url, settings, league, started) -> dict:
    verdict = crash_drill.judge(db_url, deliveries, settings, league)
    expected, problems = verdict.expected, verdict.problems
    if report["acknowledged_not_committed"]:
        problems.append(f"{report['acknowledged_not_committed']} answered 200 but not committed")
    if not report["stopped_by_itself"]:
        problems.append(f"did not stop by itself within {STOP_TIMEOUT_S} s of SIGTERM")
    report.update(
        {
            "distinct_events": len(expected.event_ids),
            "reconcile": verdict.reconcile,
            "problems": problems,
            "ok": not problems,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS_DEFAULT, help="sales and tips to deliver")
    parser.add_argument(
        "--stop-after", type=float, default=STOP_AFTER_DEFAULT, help="share acknowledged between two SIGTERMs"
    )
    parser.add_argument(
        "--stops", type=int, default=STOPS_DEFAULT, help="SIGTERM and restart this many times"
    )
    parser.add_argument("--seed", type=int, default=crash_drill.SEED)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    options = {"events": args.events, "stop_after": args.stop_after, "stops": args.stops, "seed": args.seed}
    with contextlib.redirect_stdout(sys.stderr):
        runs = _served.on_each_database(
            lambda url, workdir: drill(url, workdir, **options),
            name="sigterm",
            postgres_url=args.postgres_url,
        )
        held = _served.on_each_database(
            lambda url, workdir: held_up_stop(url, workdir, seed=args.seed),
            name="sigterm",
            postgres_url=args.postgres_url,
        )
    runs.update({f"{database}-held": run for database, run in held.items()})
    _served.finish_drill("sigterm", runs, as_json=args.json)


if __name__ == "__main__":
    main()

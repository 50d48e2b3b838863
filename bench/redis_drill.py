"""Redis drill: stop Redis for 10 s under load with two workers, start it again empty, prove nothing is lost.

    python bench/redis_drill.py [--events 160] [--outage 10] [--postgres-url URL] [--json]

Needs PostgreSQL (several workers share one database) and `redis-server` on PATH:
1. starts its own `redis-server` on a free loopback port (no persistence, so a
   restart comes back empty, as a crashed cache would) and serves the app with two
   Granian workers on a fresh PostgreSQL schema, `REFLEX_REDIS_URL` pointing at it
   and a fake Discord webhook (tests/fake_discord_webhook.py) for announcements;
2. connects live viewers of `/` (tests/reflex_viewer.py) until both workers hold
   some (it reads /proc to know which worker took each connection);
3. drives signed Stripe sales and tips at a steady rate, and PRE_OUTAGE_S into it
   stops redis-server (SIGTERM) for `--outage` seconds while the deliveries go on;
   a new viewer tries to open the page meanwhile; one sale, a second before Redis
   returns, goes over one connection, so it lands on one worker only;
4. starts redis-server again on the same port, empty, and measures how long until
   every viewer shows the pot `GET /api/pot` reads from the database (a viewer
   whose socket dropped reconnects with its token, as the browser's socket.io
   client would); then one more sale must reach every viewer on both workers;
5. retries every unacknowledged delivery like a provider, sends duplicates
   (bench/crash_drill.retry_like_a_provider), waits for the inbox and the outbox,
   and checks the ledger (bench/crash_drill expected_of/observe/check, reconcile)
   and that every announcement reached Discord exactly once.

Prints one JSON report; exits 1 when a check fails. Bounded: every request, start and
wait has a limit (about 90 s on an idle machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from bench import _served, crash_drill
from cozykart.settings import load_settings
from tests.fake_discord_webhook import FakeDiscordWebhook
from tests.reflex_viewer import Viewer

EVENTS_DEFAULT = 160
RATE_PER_S = 10.0  # deliveries started per second, on CONCURRENCY connections
CONCURRENCY = 8
REQUEST_TIMEOUT_S = 20
PRE_OUTAGE_S = 5.0
OUTAGE_S_DEFAULT = 10.0
LOAD_ENDS_BEFORE_RETURN_S = 4.5  # then a quiet second at least, so the last pushes of the load are out
LONE_SALE_BEFORE_RETURN_S = 2.0  # the sale that reaches one worker only, this long before Redis returns
LONE_SALE_WATCH_S = 1.5
QUIET_BEFORE_LONE_S = 1.0
VIEWERS_PER_WORKER = 3
VIEWERS_MAX = 30
VIEWER_SEEDED_TIMEOUT_S = 30
OUTAGE_VIEWER_TIMEOUT_S = 6
RECOVERY_TIMEOUT_S = 45
RECONNECT_AFTER_S = 1.0  # socket.io's client waits about a second before its first reconnect
POLL_S = 0.1
PUSH_TIMEOUT_S = 15
REDIS_START_TIMEOUT_S = 20
REDIS_STOP_TIMEOUT_S = 10
ANNOUNCE_TIMEOUT_S = 60
QUIET_AFTER_S = 4  # two send intervals: a duplicate announcement would show up within it
SEED = 20261203


class RedisServer:
    """This drill's own redis-server on 127.0.0.1, nothing saved: stopping it loses every key."""

    def __init__(self, workdir: Path) -> None:
        self.port = _served.free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log_path = self.workdir / "redis.log"
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(
            command,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: redis-server closes every client connection and exits (nothing is saved)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=REDIS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=REDIS_STOP_TIMEOUT_S)

    def config(self, name: str) -> str:
        """The server's value of setting `name` (`CONFIG GET`)."""
        completed = subprocess.run(
            ["redis-cli", "-p", str(self.port), "config", "get", name],
            capture_output=True,
            text=True,
            timeout=5,
        )
        lines = completed.stdout.splitlines()
        return lines[1] if len(lines) > 1 else ""

    def _answers(self) -> bool:
        completed = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=5
        )
        return completed.stdout.strip() == "PONG"


@dataclass
class Attempt:
    delivery: crash_drill.Delivery
    sent_s: float  # seconds since the load started
    answered_s: float
    status: str
    acked: bool


@dataclass
class Watched:
    """A viewer, the worker that holds its socket, and what it received."""

    viewer: Tab
    worker: int
    reconnects: int = 0
    recovered_s: float | None = None
    outage_updates: int = 0
    outage_pots: list[int] = field(default_factory=list)


# --- viewers ----------------------------------------------------------------------


class Tab(Viewer):
    """A viewer that, like the frontend's `queueEvents` (reflex_base/.templates/web/utils/state.js),
    sends back on its socket every backend event an update queues (`Room.call`, a reload)."""

    def __init__(self, base_url: str, path: str = "/") -> None:
        super().__init__(base_url, path)
        self.echoed: Counter[str] = Counter()
        self._sending: set[asyncio.Task] = set()

    async def _on_event(self, update: dict) -> None:
        await super()._on_event(update)
        for event in update.get("events") or ():
            name = str(event.get("name") or "")
            if name and not name.startswith("_"):  # "_..." are the frontend's own (toasts, calls)
                self.echoed[name.rsplit(".", 1)[-1]] += 1
                task = asyncio.get_running_loop().create_task(self.send(name, event.get("payload")))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)


def _pot(viewer: Viewer) -> int | None:
    return viewer.var("live_pot_state", "pot_cents")


def _seeded(viewer: Viewer) -> bool:
    """The viewer has the pot from the database: the state's `loaded` came from the seed of `join`."""
    return bool(viewer.var("live_pot_state", "loaded"))


def _pot_rises(viewer: Viewer) -> asyncio.Future:
    """Set to the arrival time of the first delta that shows a higher pot than the viewer has now."""
    was = _pot(viewer) or 0
    return viewer.watch(lambda v: (_pot(v) or 0) > was)


async def _connect(server: _served.Server, token: str | None = None) -> tuple[Tab, int | None]:
    """A viewer of `/` (with `token`: the same tab again), and the worker its connection went to."""
    assert server.process is not None
    before = _served.connections_by_process(server.process.pid, server.port)
    viewer = Tab(server.base_url, "/")
    if token:
        viewer.token = token
    await viewer.connect()
    await viewer.wait_for(_seeded, VIEWER_SEEDED_TIMEOUT_S)
    after = _served.connections_by_process(server.process.pid, server.port)
    grown = [pid for pid, count in after.items() if count > before.get(pid, 0)]
    return viewer, grown[0] if len(grown) == 1 else None


async def _viewers_on_both_workers(server: _served.Server) -> list[Watched]:
    watched: list[Watched] = []
    while len(watched) < VIEWERS_MAX:
        viewer, worker = await _connect(server)
        if worker is None:  # two connections moved at once: this one's worker is unknown
            await viewer.disconnect()
            continue
        watched.append(Watched(viewer, worker))
        per_worker = Counter(one.worker for one in watched)
        if len(per_worker) >= 2 and min(per_worker.values()) >= VIEWERS_PER_WORKER:
            return watched
    raise RuntimeError(f"viewers did not land on two workers: {Counter(one.worker for one in watched)}")


async def _open_during_outage(server: _served.Server) -> tuple[Tab | None, str]:
    """A tab opened while Redis is down, and what it got."""
    viewer = Tab(server.base_url, "/")
    try:
        await asyncio.wait_for(viewer.connect(), OUTAGE_VIEWER_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - the outcome is the report
        return None, f"refused: {type(error).__name__}"
    try:
        await viewer.wait_for(_seeded, OUTAGE_VIEWER_TIMEOUT_S)
        return viewer, "connected and seeded"
    except TimeoutError:
        names = sorted({str(event.get("name")) for event in viewer.events})
        return viewer, f"connected, not seeded ({viewer.updates} updates, events {names})"


def _database_pot(server: _served.Server) -> int:
    return httpx.get(f"{server.base_url}/api/pot", timeout=REQUEST_TIMEOUT_S).json()["pot_cents"]


async def _recover(server: _served.Server, watched: list[Watched], returned: float) -> float | None:
    """Seconds from Redis's return until every viewer shows the database's pot (None: not within the bound)."""
    deadline = returned + RECOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        database = await asyncio.to_thread(_database_pot, server)
        for one in watched:
            if not one.viewer.connected and time.monotonic() - returned >= RECONNECT_AFTER_S:
                with contextlib.suppress(Exception):  # the next round tries again
                    one.viewer, _worker = await _connect(server, one.viewer.token)
                    one.reconnects += 1
            if one.recovered_s is None and one.viewer.connected and _pot(one.viewer) == database:
                one.recovered_s = round(time.monotonic() - returned, 2)
        if all(one.recovered_s is not None for one in watched):
            return max(one.recovered_s or 0.0 for one in watched)
        await asyncio.sleep(POLL_S)
    return None


# --- load -------------------------------------------------------------------------


class Load:
    """Deliveries at RATE_PER_S on CONCURRENCY connections until stopped; every attempt timed."""

    def __init__(self, url: str, deliveries: list[crash_drill.Delivery]) -> None:
        self.url = url
        self.deliveries = deliveries
        self.attempts: list[Attempt] = []
        self.started = time.monotonic()
        self.stopped = asyncio.Event()

    def now(self) -> float:
        return time.monotonic() - self.started

    async def one(self, client: httpx.AsyncClient, delivery: crash_drill.Delivery) -> None:
        sent = self.now()
        acked = await crash_drill._deliver(client, self.url, delivery)
        self.attempts.append(Attempt(delivery, sent, self.now(), delivery.statuses[-1], acked))

    async def run(self) -> None:
        gate = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        tasks = []

        async def paced(client: httpx.AsyncClient, delivery: crash_drill.Delivery) -> None:
            async with gate:
                await self.one(client, delivery)

        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
            for n, delivery in enumerate(self.deliveries):
                wait_s = n / RATE_PER_S - self.now()
                if wait_s > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopped.wait(), wait_s)
                if self.stopped.is_set():
                    break
                tasks.append(asyncio.create_task(paced(client, delivery)))
            await asyncio.gather(*tasks)

    async def lone(self, delivery: crash_drill.Delivery) -> None:
        """One delivery on a connection of its own: it lands on one worker."""
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
            await self.one(client, delivery)


def _webhook_figures(attempts: list[Attempt], stop_s: float, return_s: float) -> dict:
    during = [a for a in attempts if stop_s <= a.sent_s < return_s]
    acked_during = [a for a in during if a.acked]
    after_stop = sorted(a.answered_s for a in acked_during)
    before = [a for a in attempts if a.sent_s < stop_s and a.acked]
    return {
        "attempts_during_outage": len(during),
        "acknowledged_during_outage": len(acked_during),
        "five_xx": sum(a.status.startswith("5") for a in attempts),
        "five_xx_during_outage": sum(a.status.startswith("5") for a in during),
        "errors_during_outage": sum(not a.status[:1].isdigit() for a in during),
        # How long after Redis stopped the first delivery sent after it was acknowledged.
        "recovery_s": round(after_stop[0] - stop_s, 2) if after_stop else None,
        "latency_before_outage_p95_s": _p95([a.answered_s - a.sent_s for a in before]),
        "latency_during_outage_p95_s": _p95([a.answered_s - a.sent_s for a in acked_during]),
    }


def _p95(samples: list[float]) -> float | None:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3) if ordered else None


# --- outbox -----------------------------------------------------------------------


def _outbox(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [
                (str(row[0]), str(row[1]), str(row[2]))
                for row in connection.execute(
                    text("select dedupe_key, status, payload from discord_outbox where channel = 'announce'")
                )
            ]
    finally:
        engine.dispose()


def _said(message: dict) -> str:
    """What an announcement says (the webhook client adds transport fields of its own)."""
    return json.dumps({key: message.get(key) for key in ("content", "embeds")}, sort_keys=True)


def _announcements(db_url: str, fake: FakeDiscordWebhook, tips: int) -> dict:
    deadline = time.monotonic() + ANNOUNCE_TIMEOUT_S
    while time.monotonic() < deadline:
        rows = _outbox(db_url)
        if rows and all(status == "sent" for _, status, _ in rows):
            break
        time.sleep(0.5)
    time.sleep(QUIET_AFTER_S)
    rows = _outbox(db_url)
    sent = Counter(_said(json.loads(payload)) for _, _, payload in rows)
    received = Counter(_said(message) for message in list(fake.received))
    return {
        "expected": len(rows),
        "tips_expected": tips,
        "tip_rows": sum(key.startswith("tip:") for key, _, _ in rows),
        "sent": sum(received.values()),
        "not_sent": sum(status != "sent" for _, status, _ in rows),
        "each_once": received == sent,
        "doubled": sum(max(0, count - sent[said]) for said, count in received.items()),
    }


# --- the drill --------------------------------------------------------------------


async def _scenario(server: _served.Server, redis: RedisServer, load: Load, outage_s: float) -> dict:
    watched = await _viewers_on_both_workers(server)
    report: dict = {
        "viewers": len(watched),
        "viewers_per_worker": sorted(Counter(w.worker for w in watched).values()),
    }
    new_tab: Tab | None = None
    try:
        sender = asyncio.create_task(load.run())
        await asyncio.sleep(PRE_OUTAGE_S)
        updates_before = {id(one): one.viewer.updates for one in watched}
        await asyncio.to_thread(redis.stop)
        stop_s = load.now()
        _served.log(f"redis stopped at {stop_s:.1f}s")
        opening = asyncio.create_task(_open_during_outage(server))
        await asyncio.sleep(max(0.0, stop_s + outage_s - LOAD_ENDS_BEFORE_RETURN_S - load.now()))
        load.stopped.set()
        await sender
        # A quiet second at least, so the pushes of the load's last batches are out.
        await asyncio.sleep(
            max(QUIET_BEFORE_LONE_S, stop_s + outage_s - LONE_SALE_BEFORE_RETURN_S - load.now())
        )
        report["lone_sale"] = await _lone_sale(load, watched)
        await asyncio.sleep(max(0.0, stop_s + outage_s - load.now()))
        new_tab, report["new_tab_during_outage"] = await opening
        report["during_outage"] = await _outage_view(server, watched, updates_before)
        await asyncio.to_thread(redis.start)
        return_s = load.now()
        returned = time.monotonic()
        _served.log(f"redis back at {return_s:.1f}s")
        report["viewer_recovery_s"] = await _recover(server, watched, returned)
        report["viewer_reconnects"] = sum(one.reconnects for one in watched)
        report["new_tab_recovery_s"] = await _tab_recovery(server, new_tab, returned)
        report["page_reloads_asked"], report["page_reload_s"] = await _reloads_asked(watched, returned)
        report["webhooks"] = _webhook_figures(load.attempts, stop_s, return_s)
        report["outage_s"] = round(return_s - stop_s, 2)
        report["keyspace_events_after_return"] = await asyncio.to_thread(
            redis.config, "notify-keyspace-events"
        )
        report["cross_worker_after_return_s"] = await _probe(load, watched)
    finally:
        tabs = [one.viewer for one in watched] + ([new_tab] if new_tab else [])
        await asyncio.gather(*(tab.disconnect() for tab in tabs), return_exceptions=True)
    return report


async def _lone_sale(load: Load, watched: list[Watched]) -> dict:
    """One sale on one connection while Redis is down: which viewers see it, and how soon after its answer."""
    cents = 4321
    lone = crash_drill.Delivery("sale", cents, _served.sale_event(cents, item="Lone tee"))
    load.deliveries.append(lone)
    seen = [_pot_rises(one.viewer) for one in watched]
    await load.lone(lone)
    answered = time.perf_counter()
    await asyncio.wait(seen, timeout=LONE_SALE_WATCH_S)
    arrivals = {
        id(one): future.result() - answered
        for one, future in zip(watched, seen, strict=True)
        if future.done()
    }
    for future in seen:
        future.cancel()
    per_worker = Counter(one.worker for one in watched)
    seen_per_worker = Counter(one.worker for one in watched if id(one) in arrivals)
    return {
        "acknowledged": lone.acked,
        "seen_of_viewers_per_worker": sorted(f"{seen_per_worker[w]}/{n}" for w, n in per_worker.items()),
        "viewers_seeing_it": len(arrivals),
        "workers_seeing_it": len(seen_per_worker),
        "seconds_to_its_viewers": round(max(arrivals.values()), 3) if arrivals else None,
    }


async def _outage_view(
    server: _served.Server, watched: list[Watched], updates_before: dict[int, int]
) -> dict:
    database = await asyncio.to_thread(_database_pot, server)
    for one in watched:
        one.outage_updates = one.viewer.updates - updates_before[id(one)]
    by_worker: dict[int, list[int]] = {}
    for one in watched:
        by_worker.setdefault(one.worker, []).append(one.outage_updates)
    return {
        "updates_per_worker": sorted(sorted(updates) for updates in by_worker.values()),
        "viewers_connected_at_end": sum(one.viewer.connected for one in watched),
        "viewers_behind_database_at_end": sum(_pot(one.viewer) != database for one in watched),
    }


async def _reloads_asked(watched: list[Watched], returned: float) -> tuple[int, float | None]:
    """Page reloads the viewers were asked for, and seconds from Redis's return until each had one.

    A viewer can show the database's pot before its worker has resubscribed (its own
    webhooks kept it current), so the reload request may come after the pot: wait for it.
    """

    def asked() -> int:
        return sum(one.viewer.echoed["on_load_internal"] for one in watched)

    deadline = returned + RECOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        if all(one.viewer.echoed["on_load_internal"] for one in watched):
            return asked(), round(time.monotonic() - returned, 2)
        await asyncio.sleep(POLL_S)
    return asked(), None


async def _tab_recovery(server: _served.Server, tab: Tab | None, returned: float) -> float | None:
    """Seconds from Redis's return until the tab opened during the outage shows the database's pot."""
    if tab is None:
        return None
    deadline = returned + RECOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        database = await asyncio.to_thread(_database_pot, server)
        if tab.connected and _seeded(tab) and _pot(tab) == database:
            return round(time.monotonic() - returned, 2)
        await asyncio.sleep(POLL_S)
    return None


async def _probe(load: Load, watched: list[Watched]) -> float | None:
    """One sale after Redis is back: seconds until every viewer on both workers shows it (None: not all did)."""
    rises = [_pot_rises(one.viewer) for one in watched]
    cents = 1234
    probe = crash_drill.Delivery("sale", cents, _served.sale_event(cents, item="Probe tee"))
    load.deliveries.append(probe)
    started = time.perf_counter()
    await load.lone(probe)
    try:
        arrivals = await asyncio.wait_for(asyncio.gather(*rises), PUSH_TIMEOUT_S)
    except TimeoutError:
        return None
    return round(max(arrivals) - started, 3)


def drill(db_url: str, workdir: Path, *, events: int, outage_s: float, seed: int = SEED) -> dict:
    """One drill; `ok` is true when every check holds."""
    started = time.perf_counter()
    draw = random.Random(seed)
    league = _served.prepare(db_url)
    redis = RedisServer(workdir)
    fake = FakeDiscordWebhook().start()
    env = _served.server_env(
        db_url, workdir, redis_url=redis.url, GRANIAN_WORKERS="2", DISCORD_ANNOUNCE_WEBHOOK_URL=fake.url
    )
    settings = load_settings(env)
    server = _served.Server(env, workdir)
    deliveries = crash_drill.plan(events, draw)
    url = f"{server.base_url}/api/webhooks/stripe"
    try:
        redis.start()
        server.start()
        load = Load(url, deliveries)
        report = asyncio.run(_scenario(server, redis, load, outage_s))
        report["retry"] = asyncio.run(crash_drill.retry_like_a_provider(url, deliveries, draw))
        report["inbox_not_applied_after_wait"] = crash_drill._wait_for_inbox(db_url)
        tips = sum(delivery.kind == "tip" for delivery in deliveries)
        report["announcements"] = _announcements(db_url, fake, tips)
    finally:
        server.stop()
        redis.stop()
        fake.stop()
    verdict = crash_drill.judge(db_url, deliveries, settings, league)
    expected, problems = verdict.expected, verdict.problems
    applied_once = not crash_drill.check(expected, verdict.observed)
    problems += _problems(report)
    report.update(
        {
            "deliveries": dict(Counter(delivery.kind for delivery in deliveries)),
            "distinct_events": len(expected.event_ids),
            "acknowledged": sum(delivery.acked for delivery in deliveries),
            "applied_once": applied_once,
            "reconcile": verdict.reconcile,
            "problems": problems,
            "ok": not problems,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return report


def _problems(report: dict) -> list[str]:
    problems = []
    if report["webhooks"]["acknowledged_during_outage"] == 0:
        problems.append("no webhook was acknowledged while Redis was down")
    if report["viewer_recovery_s"] is None:
        problems.append(f"viewers did not all show the database's pot within {RECOVERY_TIMEOUT_S}s")
    if report["new_tab_recovery_s"] is None:
        problems.append(f"the tab opened during the outage never showed the pot within {RECOVERY_TIMEOUT_S}s")
    if report["page_reload_s"] is None:
        problems.append(f"not every viewer was asked to reload its page within {RECOVERY_TIMEOUT_S}s")
    if report["cross_worker_after_return_s"] is None:
        problems.append(f"a sale after Redis returned did not reach every viewer within {PUSH_TIMEOUT_S}s")
    if report["retry"]["never_acknowledged"]:
        problems.append(f"{report['retry']['never_acknowledged']} deliveries never acknowledged")
    if report["inbox_not_applied_after_wait"]:
        problems.append(f"{report['inbox_not_applied_after_wait']} inbox rows not applied")
    announced = report["announcements"]
    if (
        not announced["each_once"]
        or announced["not_sent"]
        or announced["tip_rows"] != announced["tips_expected"]
    ):
        problems.append(f"announcements not each sent once: {announced}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS_DEFAULT, help="sales and tips planned")
    parser.add_argument("--outage", type=float, default=OUTAGE_S_DEFAULT, help="seconds Redis stays down")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    parser.add_argument("--keep", type=Path, help="keep the server and Redis logs in this directory")
    args = parser.parse_args()
    if not args.postgres_url or shutil.which("redis-server") is None:
        print("redis drill needs PostgreSQL (--postgres-url) and redis-server on PATH", file=sys.stderr)
        sys.exit(2)
    with contextlib.redirect_stdout(sys.stderr):
        db_url, schema = _served.postgres_schema(args.postgres_url, "redis_drill")
        try:
            with tempfile.TemporaryDirectory(prefix="cozykart-redis-drill-") as tmp:
                workdir = args.keep or Path(tmp)
                workdir.mkdir(parents=True, exist_ok=True)
                run = drill(db_url, workdir, events=args.events, outage_s=args.outage, seed=args.seed)
        finally:
            _served.drop_schema(args.postgres_url, schema)
    _served.finish_drill("redis", {"postgresql": run}, as_json=args.json)


if __name__ == "__main__":
    main()

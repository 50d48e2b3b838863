"""Several workers on PostgreSQL and Redis: live viewers and the Discord outbox.

Two servers of the real app share one PostgreSQL schema and one Redis database
(`REFLEX_REDIS_URL`), as several machines behind one proxy would: A runs two
Granian worker processes on one port, B one more on another port. Viewers are
real websocket clients of `/` (tests/reflex_viewer.py); the test reads /proc to
know which worker process holds each viewer's connection, and keeps connecting
until both of A's workers hold one. Then:
- a sale posted to A, and one posted to B, reach every viewer on every worker
  (the live-pot channel goes through Redis);
- the live race ended by a Discord `/end` on B reaches the Watch page of every
  viewer on every worker (the live-race channel goes through Redis);
- tips posted to both servers are each announced to the fake Discord webhook
  exactly once, with three announcement senders running.

Skips with a message without COZYKART_TEST_POSTGRES_URL or a reachable Redis
(COZYKART_TEST_REDIS_URL, default redis://127.0.0.1:6379/11: the test empties
that database before and after).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from bench._served import connections_by_process, drop_schema, postgres_schema
from cozykart.integrations import stripe_payments
from tests.e2e.conftest import STRIPE_WEBHOOK_SECRET, _app_env, _free_port, _run_cli
from tests.e2e.test_provider_corpus import SECRETS
from tests.fake_discord_webhook import FakeDiscordWebhook
from tests.provider_corpus import DISCORD_PUBLIC_KEY, MASON, Corpus
from tests.reflex_viewer import Viewer, run_async
from tests.served_process import stop_process_group, wait_until_ready

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("COZYKART_TEST_REDIS_URL") or "redis://127.0.0.1:6379/11"
START_TIMEOUT_S = 240
PUSH_TIMEOUT_S = 10
VIEWERS_MAX = 40
ANNOUNCE_TIMEOUT_S = 60
SLOW_SEND_S = 1.5  # well inside the sender's 5 s request timeout
QUIET_AFTER_S = 6  # three send intervals: a duplicate send would show up within it


@dataclass(frozen=True)
class Server:
    base_url: str
    port: int
    process: subprocess.Popen
    log_path: Path


@dataclass(frozen=True)
class Cluster:
    a: Server
    b: Server
    db_url: str
    fake_discord: FakeDiscordWebhook


def _flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def _redis_or_skip() -> None:
    try:
        _flush_redis()
    except redis.RedisError as error:
        pytest.skip(f"multi-worker test skipped: Redis at {REDIS_URL} is not reachable ({error})")


def _start(env: dict[str, str], workers: int, workdir: Path, name: str) -> Server:
    port = _free_port()
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "reflex",
                "run",
                "--env",
                "prod",
                "--backend-only",
                "--backend-port",
                str(port),
                "--backend-host",
                "127.0.0.1",
                "--loglevel",
                "info",
            ],
            cwd=Path(__file__).resolve().parents[2],
            env={**env, "GRANIAN_WORKERS": str(workers)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", port, process, log_path)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = os.environ.get("COZYKART_TEST_POSTGRES_URL", "").strip()
    if not base:
        pytest.skip(
            "multi-worker test skipped: COZYKART_TEST_POSTGRES_URL is not set (several workers need PostgreSQL)"
        )
    _redis_or_skip()
    db_url, schema = postgres_schema(base, "multi_worker")
    fake_discord = FakeDiscordWebhook().start()
    workdir = tmp_path_factory.mktemp("multi-worker")
    env = _app_env(
        db_url,
        workdir / "states",
        {
            "REFLEX_REDIS_URL": REDIS_URL,
            "DISCORD_ANNOUNCE_WEBHOOK_URL": fake_discord.url,
            "DISCORD_PUBLIC_KEY": DISCORD_PUBLIC_KEY,  # slash commands, signed as Discord signs them
            "COZYKART_ADMIN_DISCORD_IDS": MASON,
            "REFLEX_WEB_WORKDIR": str(workdir / "web"),
        },
    )
    servers: list[Server] = []
    try:
        _run_cli(env, "migrate")
        _run_cli(env, "seed-demo")
        servers = [_start(env, 2, workdir, "a"), _start(env, 1, workdir, "b")]
        for server in servers:
            wait_until_ready(
                server.process,
                server.log_path,
                lambda server=server: (
                    httpx.get(f"{server.base_url}/api/health", timeout=2).status_code == 200
                ),
                timeout_s=START_TIMEOUT_S,
                poll_s=0.5,
            )
        yield Cluster(a=servers[0], b=servers[1], db_url=db_url, fake_discord=fake_discord)
    finally:
        for server in servers:
            stop_process_group(server.process, timeout_s=30)
        fake_discord.stop()
        drop_schema(base, schema)
        _flush_redis()  # the test's Redis database is left empty


# --- which worker holds a connection (Linux /proc) ---------------------------------


def _connections_by_process(server: Server) -> Counter:
    """How many established connections to the server's port each of its processes holds."""
    return Counter(connections_by_process(server.process.pid, server.port))


# --- webhooks -----------------------------------------------------------------------


def _post(server: Server, metadata: dict[str, str], amount_cents: int, fan_name: str) -> None:
    """A signed Checkout sale or tip whose display name (`fan_name`, in the metadata the app sets) is public;
    the cardholder's name is another, never shown."""
    token = uuid.uuid4().hex[:12]
    event = stripe_payments.checkout_completed_event(
        event_id=f"evt_{token}",
        session_id=f"cs_{token}",
        payment_intent=f"pi_{token}",
        amount_cents=amount_cents,
        currency="usd",
        created=int(time.time()),
        metadata={**metadata, "fan_name": fan_name},
        customer_name="Cardholder Private",
    )
    body = json.dumps(event)
    response = httpx.post(
        f"{server.base_url}/api/webhooks/stripe",
        content=body,
        timeout=30,
        headers={"Stripe-Signature": stripe_payments.sign(body, STRIPE_WEBHOOK_SECRET)},
    )
    assert response.status_code == 200 and response.json()["status"] == "applied", response.text


def _pot(viewer: Viewer) -> int | None:
    return viewer.var("live_pot_state", "pot_cents")


def _seeded(viewer: Viewer) -> bool:
    """The viewer has the pot from the database: a delta of the pot state came after the hydrate's."""
    return viewer.deltas_for("live_pot_state") >= 2


async def _connect(server: Server) -> Viewer:
    viewer = Viewer(server.base_url, "/")
    await viewer.connect()
    await viewer.wait_for(_seeded, PUSH_TIMEOUT_S * 3)
    return viewer


async def _viewers_on_every_worker(cluster: Cluster) -> tuple[list[Viewer], list[Viewer]]:
    """Viewers of `/` on B, and on A until both of A's workers hold one."""
    viewers_a: list[Viewer] = []
    viewers_b = [await _connect(cluster.b) for _ in range(2)]
    while len(viewers_a) < VIEWERS_MAX:
        viewers_a.append(await _connect(cluster.a))
        if len(viewers_a) >= 4 and len(_connections_by_process(cluster.a)) >= 2:
            break
    workers_a = _connections_by_process(cluster.a)
    assert len(workers_a) == 2, f"A's viewers all landed on one worker: {workers_a}"
    assert sum(workers_a.values()) == len(viewers_a)
    return viewers_a, viewers_b


def test_a_sale_on_any_worker_reaches_viewers_on_every_worker(cluster):
    async def scenario() -> None:
        viewers_a: list[Viewer] = []
        viewers_b: list[Viewer] = []
        try:
            viewers_a, viewers_b = await _viewers_on_every_worker(cluster)
            everyone = viewers_a + viewers_b

            for server, amount_cents, fan in ((cluster.a, 5000, "Ava"), (cluster.b, 3000, "Bo")):
                before = [_pot(viewer) for viewer in everyone]
                assert len(set(before)) == 1, f"viewers disagree before the sale: {before}"
                _post(server, {"item": "Rainbow Road hoodie"}, amount_cents, fan)
                await asyncio.gather(
                    *(
                        viewer.wait_for(lambda v, was=was: (_pot(v) or 0) > was, PUSH_TIMEOUT_S)
                        for viewer, was in zip(everyone, before, strict=True)
                    )
                )
                after = {_pot(viewer) for viewer in everyone}
                assert len(after) == 1, f"viewers disagree after {fan}'s sale: {after}"
                newest = viewers_b[0].var("live_pot_state", "feed")[0]
                assert newest["headline"] == f"{fan} bought Rainbow Road hoodie"
        finally:
            await asyncio.gather(
                *(viewer.disconnect() for viewer in viewers_a + viewers_b), return_exceptions=True
            )

    run_async(scenario)


def _outbox(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text("select dedupe_key, status, payload from discord_outbox order by id")
                )
            ]
    finally:
        engine.dispose()


def _said(message: dict) -> str:
    """What an announcement says (the webhook client adds transport fields of its own)."""
    return json.dumps({key: message.get(key) for key in ("content", "embeds")}, sort_keys=True)


def test_each_announcement_is_sent_once_with_several_senders(cluster):
    tips = [(cluster.a, "Cy"), (cluster.b, "Di"), (cluster.a, "Ed"), (cluster.b, "Flo")]
    # Slow sends keep one sender busy for several of the others' wake-ups: without
    # the lease they would pick up the same head message and send it again.
    cluster.fake_discord.delay_s = SLOW_SEND_S
    for server, fan in tips:
        _post(server, {"kind": "tip", "song": f"{fan}'s song", "fan_name": fan}, 500, fan)

    deadline = time.monotonic() + ANNOUNCE_TIMEOUT_S
    while time.monotonic() < deadline:
        rows = _outbox(cluster.db_url)
        if rows and all(status == "sent" for _, status, _ in rows):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"announcements not all sent within {ANNOUNCE_TIMEOUT_S}s: {_outbox(cluster.db_url)}")
    time.sleep(QUIET_AFTER_S)

    rows = _outbox(cluster.db_url)
    assert sum(key.startswith("tip:") for key, _, _ in rows) == len(tips)
    sent = Counter(_said(json.loads(payload)) for _, _, payload in rows)
    received = Counter(_said(message) for message in list(cluster.fake_discord.received))
    assert received == sent, "every announcement reaches Discord exactly once"
    announced = " ".join(json.dumps(message) for message in cluster.fake_discord.received)
    for _, fan in tips:
        assert fan in announced


def _race_status(viewer: Viewer) -> str | None:
    return viewer.var("watch_state", "race_status")


def test_a_race_ended_on_one_worker_reaches_the_watch_page_on_every_worker(cluster):
    """Last (the sales and tips above need the demo's race live): `/end` on B, through Redis to A's workers."""

    async def scenario() -> None:
        viewers_a: list[Viewer] = []
        viewers_b: list[Viewer] = []
        try:
            viewers_a, viewers_b = await _viewers_on_every_worker(cluster)
            everyone = viewers_a + viewers_b
            await asyncio.gather(
                *(viewer.wait_for(lambda v: _race_status(v) == "live", PUSH_TIMEOUT_S) for viewer in everyone)
            )
            seen = [viewer.watch(lambda v: _race_status(v) not in (None, "live")) for viewer in everyone]
            with httpx.Client(base_url=cluster.b.base_url, timeout=30) as client:
                Corpus(client, reads=None, secrets=SECRETS).slash(MASON, "end")  # type: ignore[arg-type]
            answered = time.perf_counter()
            arrivals = await asyncio.wait_for(asyncio.gather(*seen), PUSH_TIMEOUT_S)
            assert {_race_status(viewer) for viewer in everyone} <= {"ended", "final"}
            await asyncio.gather(
                *(
                    viewer.wait_for(lambda v: v.var("live_pot_state", "has_race") is False, PUSH_TIMEOUT_S)
                    for viewer in everyone
                )
            )
            latencies_ms = sorted(round((arrived - answered) * 1000) for arrived in arrivals)
            print(
                f"\n/end on B reached {len(everyone)} viewers on 3 workers: {latencies_ms} ms after its answer"
            )
        finally:
            await asyncio.gather(
                *(viewer.disconnect() for viewer in viewers_a + viewers_b), return_exceptions=True
            )

    run_async(scenario)

"""`GET /metrics` and `GET /api/health` in-process, on SQLite and PostgreSQL: each figure follows a
real action (signed webhooks through the API, an outbox message parked after its last try, a payout
request, a broken cached balance), and only the clients the access rules allow can read them."""

from __future__ import annotations

import asyncio
import logging
import types
from datetime import timedelta

import httpx
import pytest
import socketio
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update
from starlette.testclient import TestClient

from bench._served import free_port
from cozykart.api import build_api
from cozykart.db.outbox_tables import DiscordOutbox
from cozykart.db.types import utc_now
from cozykart.integrations import shopify
from cozykart.services import outbox, payouts
from cozykart.services.reads.operations import health_report
from cozykart.settings import SettingsError, load_settings
from cozykart.ui import broadcast
from tests.fake_discord_webhook import server_error
from tests.integration.discord_support import FAST_RETRIES, Clock, notifier_for, stand_in_discord
from tests.integration.ledger_support import finalize_race
from tests.integration.webhook_support import checkout, live_race, shopify_post, stripe_post, webhook_settings
from tests.reflex_viewer import run_async

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
LOOPBACK = ("127.0.0.1", 50_000)
REMOTE = ("203.0.113.9", 50_000)  # TEST-NET-3: never this machine

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _client(settings, peer=LOOPBACK) -> TestClient:
    return TestClient(build_api(settings), base_url="http://127.0.0.1", client=peer)


def _scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    """One series' value; labels not named (like `worker`) may be anything, summed over."""
    wanted = set(labels.items())
    found = [value for (sample, have), value in samples.items() if sample == name and wanted <= have]
    assert found, f"no series {name}{labels}"
    return sum(found)


def _inbox(samples: Samples, provider: str, status: str) -> float:
    return _value(samples, "cozykart_webhook_events", provider=provider, status=status)


def _park_one_message(database) -> None:
    """A message Discord refuses on every try is parked (failed) after the last allowed one."""
    clock = Clock()
    with database.uow() as uow:
        outbox.record(uow, dedupe_key="test:unlucky", kind="test", message={"content": "unlucky"})
        uow.commit()
    with stand_in_discord() as fake:
        # the race's own announcement goes first, then "unlucky" fails its three tries
        fake.answer_next(*[server_error()] * (FAST_RETRIES.attempts_max + 1))
        for _ in range(2 * FAST_RETRIES.attempts_max + 2):
            outbox.deliver_due(
                notifier_for(fake), sender_id="test", uow=database.uow(), policy=FAST_RETRIES, clock=clock
            )
            clock.advance(FAST_RETRIES.backoff_max_s)


def test_the_metrics_follow_webhooks_the_outbox_and_payouts(database, monkeypatch):
    monkeypatch.setenv("COZYKART_HOLD_DAYS", "0")  # the race's shares are available at once
    settings = webhook_settings(database, hold_days=0)
    race = live_race(database, settings)
    client = _client(settings)
    before = _scrape(client)
    assert _value(before, "cozykart_database_up") == 1
    assert _inbox(before, "stripe", "applied") == 0
    assert (
        _value(before, "cozykart_outbox_messages", channel="announce", status="pending") == 1
    )  # race started
    assert _value(before, "cozykart_payouts_pending") == 0

    at = race.started_at + timedelta(minutes=1)
    sale = stripe_post(client, checkout("evt_metrics_sale", "pi_metrics_sale", 50_000, at))
    assert sale.json()["status"] == "applied"
    order = shopify.order_paid_payload(
        order_id=9101,
        total="25.00",
        currency="USD",
        processed_at=at,
        line_items=[{"sku": "T", "quantity": 1}],
    )
    shopify_post(client, "orders/paid", order, webhook_id="wh-9101")
    too_much = shopify.refund_payload(refund_id=91, order_id=9101, amount="30.00", currency="USD")
    assert (
        shopify_post(client, "refunds/create", too_much, webhook_id="wh-9101-r").json()["status"] == "failed"
    )
    early = shopify.refund_payload(refund_id=92, order_id=9999, amount="5.00", currency="USD")
    assert shopify_post(client, "refunds/create", early, webhook_id="wh-9999-r").json()["status"] == "waiting"
    stripe_post(client, checkout("evt_metrics_sale", "pi_metrics_sale", 50_000, at))  # a repeat

    after = _scrape(client)
    assert _inbox(after, "stripe", "applied") == 1  # the repeat is one event
    assert (_inbox(after, "shopify", "applied"), _inbox(after, "shopify", "failed")) == (1, 1)
    assert _inbox(after, "shopify", "waiting") == 1
    received = "cozykart_webhooks_received_total"
    assert _value(after, received, provider="stripe") - _value(before, received, provider="stripe") == 2
    assert _value(after, received, provider="shopify") - _value(before, received, provider="shopify") == 3
    batches = "cozykart_webhook_writer_batch_size_count"
    assert _value(after, batches) - _value(before, batches) == 5  # one request at a time: one per batch
    assert (
        _value(after, "cozykart_webhook_writer_batch_size_sum")
        - _value(before, "cozykart_webhook_writer_batch_size_sum")
        == 5
    )
    commits = "cozykart_webhook_writer_commit_seconds_count"
    assert _value(after, commits) - _value(before, commits) == 5
    assert _value(after, "cozykart_webhook_writer_commit_seconds_sum") > _value(
        before, "cozykart_webhook_writer_commit_seconds_sum"
    )

    _park_one_message(database)
    parked = _scrape(client)
    assert _value(parked, "cozykart_outbox_messages", channel="announce", status="failed") == 1
    assert _value(parked, "cozykart_outbox_messages", channel="announce", status="sent") == 1
    assert _value(parked, "cozykart_outbox_messages", channel="announce", status="pending") == 0
    assert _value(parked, "cozykart_outbox_oldest_pending_seconds", channel="announce") == 0

    finalize_race(database, race.race_id, {rid: n + 1 for n, rid in enumerate(race.racer_ids)}, at=at)
    payouts.request_payout(race.racer_ids[0], 2_000, key="metrics-payout", uow=database.uow(settings))
    paying = _scrape(client)
    assert _value(paying, "cozykart_payouts_pending") == 1
    assert _value(paying, "cozykart_payouts_pending_cents") == 2_000
    assert _value(paying, "cozykart_reconcile_clean") == 1
    assert _value(paying, "cozykart_reconcile_violations") == 0


def test_the_outbox_lag_is_the_oldest_pending_message_age(database):
    settings = webhook_settings(database)
    with database.uow() as uow:
        outbox.record(uow, dedupe_key="test:old", kind="test", message={"content": "old"})
        uow.commit()
    with database.engine.begin() as connection:  # it was queued half an hour ago
        connection.execute(update(DiscordOutbox).values(created_at=utc_now() - timedelta(minutes=30)))
    samples = _scrape(_client(settings))
    lag_s = _value(samples, "cozykart_outbox_oldest_pending_seconds", channel="announce")
    assert 30 * 60 <= lag_s < 31 * 60

    serving, report = health_report(settings)
    assert serving and report["ok"] and report["database"]["ok"]
    assert report["outbox"]["ok"] is False and report["outbox"]["pending"] == 1
    assert 30 * 60 <= report["outbox"]["oldest_pending_s"] < 31 * 60
    assert _client(settings).get("/api/health").status_code == 200  # behind, not down


def test_reconcile_is_cached_for_its_interval_and_then_sees_a_broken_balance(database):
    cached = webhook_settings(database, metrics_reconcile_interval_s=3_600)
    fresh = webhook_settings(database, metrics_reconcile_interval_s=0)
    race = live_race(database, cached)
    client = _client(fresh)
    stripe_post(client, checkout("evt_rec", "pi_rec", 10_000, race.started_at + timedelta(minutes=1)))
    assert _value(_scrape(client), "cozykart_reconcile_clean") == 1

    with database.engine.begin() as connection:  # a cached balance that its postings do not explain
        connection.execute(text("UPDATE ledger_account SET balance_cents = balance_cents + 1 WHERE id = 1"))

    still = _scrape(_client(cached))  # the verdict of a moment ago, reused
    assert _value(still, "cozykart_reconcile_clean") == 1
    broken = _scrape(client)
    assert _value(broken, "cozykart_reconcile_clean") == 0
    assert _value(broken, "cozykart_reconcile_violations") >= 1
    assert _value(broken, "cozykart_reconcile_age_seconds") < 5


@pytest.mark.parametrize("peer", [LOOPBACK, ("127.8.9.10", 1), ("::1", 1), ("::ffff:127.0.0.1", 1)])
def test_loopback_clients_read_the_metrics_without_a_token(database, peer):
    assert _client(webhook_settings(database), peer).get("/metrics").status_code == 200


@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        (REMOTE, {}),
        (REMOTE, {"X-Forwarded-For": "127.0.0.1"}),
        (REMOTE, {"Forwarded": "for=127.0.0.1", "X-Real-IP": "127.0.0.1"}),
        (LOOPBACK, {"X-Forwarded-For": "203.0.113.9"}),  # relayed by a proxy on this machine
        (("testclient", 1), {}),
    ],
)
def test_other_clients_are_refused_whatever_they_forward(database, peer, headers):
    response = _client(webhook_settings(database), peer).get("/metrics", headers=headers)
    assert response.status_code == 403
    assert "COZYKART_METRICS_TOKEN" in response.json()["error"]
    assert "cozykart_" not in response.text


def test_with_a_token_only_its_bearer_reads_the_metrics_from_anywhere(database, caplog):
    settings = webhook_settings(database, metrics_token=METRICS_TOKEN)
    caplog.set_level(logging.DEBUG)
    missing = _client(settings).get("/metrics")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = _client(settings).get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    basic = _client(settings).get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"})
    assert basic.status_code == 401
    assert _scrape(_client(settings, REMOTE), Authorization=f"Bearer {METRICS_TOKEN}")
    assert _scrape(_client(settings), Authorization=f"bearer {METRICS_TOKEN}")
    assert METRICS_TOKEN not in caplog.text
    assert METRICS_TOKEN not in repr(settings)


def test_health_names_the_part_that_is_down(database, tmp_path):
    settings = webhook_settings(database)
    up = _client(settings).get("/api/health")
    assert up.status_code == 200
    body = up.json()
    assert body["ok"] and body["database"]["ok"] and body["database"]["revision"] != "base"
    assert body["database_revision"] == body["database"]["revision"]
    assert body["redis"] == {"ok": True, "configured": False, "status": "not configured"}
    assert body["outbox"]["ok"] and body["outbox"]["failed"] == 0

    password, port = "redis-password-never-shown", free_port()  # nothing listens there
    no_redis = webhook_settings(database, redis_url=f"redis://:{password}@127.0.0.1:{port}/0")
    down = _client(no_redis).get("/api/health")
    assert down.status_code == 200  # reported, not a 503: webhooks need only the database
    body = down.json()
    assert body["ok"] is False and body["redis"]["ok"] is False and body["redis"]["configured"]
    assert body["database"]["ok"] and body["redis"]["latency_ms"] < 5_000
    assert password not in down.text and f"127.0.0.1:{port}" not in down.text

    (tmp_path / "a-file").write_text("not a directory")
    missing = webhook_settings(database, db_url=f"sqlite:///{tmp_path / 'a-file' / 'x.db'}")
    gone = _client(missing).get("/api/health")
    assert gone.status_code == 503
    assert gone.json()["database"]["ok"] is False and gone.json()["redis"]["ok"]
    assert gone.json()["outbox"]["ok"] is False  # unknown while the database is down
    assert _value(_scrape(_client(missing)), "cozykart_database_up") == 0


# --- live viewers: real sockets in a real Socket.IO room ------------------------------------

VIEWERS_WAIT_S = 20
VIEWERS_POLL_S = 0.05
VIEWERS_ROOM = "cozykart-test-metrics-room"


async def _until(condition, what: str) -> None:
    for _ in range(int(VIEWERS_WAIT_S / VIEWERS_POLL_S)):
        if await condition():
            return
        await asyncio.sleep(VIEWERS_POLL_S)
    raise AssertionError(f"not within {VIEWERS_WAIT_S}s: {what}")


async def _viewers_scenario(settings) -> None:
    """Two websocket viewers join a room of `broadcast.Room`; the scrape (on the same loop) counts them."""
    namespace = broadcast.event_namespace()
    server = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"])
    app = types.SimpleNamespace(sio=server)
    room = broadcast.Room(VIEWERS_ROOM)

    async def on_connect(sid, environ, auth=None):
        await room.join(app, sid)

    server.on("connect", on_connect, namespace=namespace)
    web_app = web.Application()
    server.attach(web_app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    transport = httpx.ASGITransport(app=build_api(settings), client=LOOPBACK)
    clients = [socketio.AsyncClient(reconnection=False) for _ in range(2)]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:

            async def viewers() -> float:
                scrape = (await http.get("/metrics")).text
                samples = {
                    (sample.name, frozenset(sample.labels.items())): sample.value
                    for family in text_string_to_metric_families(scrape)
                    for sample in family.samples
                }
                found = [v for (n, labels), v in samples.items() if ("room", VIEWERS_ROOM) in labels]
                return found[0] if found else -1

            for client in clients:
                await client.connect(
                    f"http://127.0.0.1:{port}", transports=["websocket"], namespaces=[namespace]
                )

            async def two() -> bool:
                return await viewers() == 2

            await _until(two, "two viewers counted")
            await clients[0].disconnect()

            async def one() -> bool:
                return await viewers() == 1

            await _until(one, "the viewer who left is no longer counted")
    finally:
        for client in clients:
            if client.connected:
                await client.disconnect()
        await runner.cleanup()


def test_live_viewers_are_the_sockets_in_this_workers_rooms(database):
    settings = webhook_settings(database)
    run_async(lambda: _viewers_scenario(settings))


def test_the_metrics_settings_come_from_the_environment_and_bad_values_are_refused():
    settings = load_settings(
        {"COZYKART_METRICS_TOKEN": f"  {METRICS_TOKEN} ", "COZYKART_METRICS_RECONCILE_INTERVAL_S": "15"}
    )
    assert (settings.metrics_token, settings.metrics_reconcile_interval_s) == (METRICS_TOKEN, 15)
    assert METRICS_TOKEN not in repr(settings)
    defaults = load_settings({})
    assert defaults.metrics_token is None and defaults.metrics_reconcile_interval_s == 60
    for bad in ("-1", "soon", "86401"):
        with pytest.raises(SettingsError, match="COZYKART_METRICS_RECONCILE_INTERVAL_S"):
            load_settings({"COZYKART_METRICS_RECONCILE_INTERVAL_S": bad})

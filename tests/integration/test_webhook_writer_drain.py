"""The webhook writer's shutdown drain: what was handed over is committed and answered before the stop.

On SIGTERM the app's lifespan ends with `webhook_writer.drain_writers`. These pin
the drain itself on real SQLite and PostgreSQL: the writer is held up by another
transaction's lock (as a slow disk or a busy database would), deliveries queue
behind it, and the drain must wait for them, commit them all, then refuse new
ones, all within its bound. The served drill is tests/e2e/test_sigterm_drill.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text

from cozykart.domain.ledger import pool_code
from cozykart.integrations import stripe_payments
from cozykart.services import webhook_writer, webhooks
from tests.integration.webhook_support import (
    STRIPE_SECRET,
    api_client,
    balance,
    checkout,
    live_race,
    stripe_post,
    webhook_settings,
)

QUEUED = 12
HOLD_S = 1.0  # how long another transaction holds the writer up (well under SQLite's busy timeout)
SALE_CENTS = 2500  # each sale's pool share is 20% of it: 500 cents


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    return database, settings, live_race(database, settings)


def _verified(event: dict):
    body = json.dumps(event)
    return stripe_payments.parse_webhook(
        body.encode(), stripe_payments.sign(body, STRIPE_SECRET), STRIPE_SECRET
    )


@contextmanager
def _writer_held_up(database) -> Iterator[object]:
    """Another transaction holding the lock the writer's next batch needs, until the caller releases it."""
    connection = database.engine.connect()
    transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE takes the write lock
    if database.backend == "postgresql":
        connection.execute(text("LOCK TABLE webhook_event IN ACCESS EXCLUSIVE MODE"))
    try:
        yield transaction
    finally:
        if transaction.is_active:
            transaction.rollback()
        connection.close()


async def _queue_sales(writer, settings, race, count: int, prefix: str) -> list[asyncio.Task]:
    at = race.started_at + timedelta(minutes=1)
    tasks = [
        asyncio.create_task(
            writer.receive(
                _verified(checkout(f"evt_{prefix}{n}", f"pi_{prefix}{n}", SALE_CENTS, at)),
                body_sha256="0" * 64,
                settings=settings,
            )
        )
        for n in range(count)
    ]
    await asyncio.sleep(0.2)  # every request has handed its delivery over; the first batch is blocked
    return tasks


def test_the_drain_waits_for_a_held_up_batch_commits_every_queued_delivery_then_refuses_new_ones(setup):
    database, settings, race = setup
    writer = webhook_writer.WebhookWriter(settings.db_url)

    async def scenario():
        with _writer_held_up(database) as lock:
            requests = await _queue_sales(writer, settings, race, QUEUED, "q")
            drain = asyncio.create_task(writer.drain(timeout_s=30))
            await asyncio.sleep(HOLD_S)
            still_waiting = not drain.done() and not any(request.done() for request in requests)
            lock.rollback()
            report = await drain
        answered = [request.result() for request in requests if request.done()]
        with pytest.raises(webhook_writer.WriterStopped):
            await writer.receive(
                _verified(
                    checkout("evt_late", "pi_late", SALE_CENTS, race.started_at + timedelta(minutes=2))
                ),
                body_sha256="0" * 64,
                settings=settings,
            )
        return still_waiting, report, answered

    still_waiting, report, answered = asyncio.run(scenario())

    assert still_waiting  # the drain did not return while the batch could not commit
    assert (report.settled, report.left) == (QUEUED, 0)
    assert report.seconds >= HOLD_S * 0.8
    assert len(answered) == QUEUED and {receipt.status for receipt in answered} == {"applied"}
    inbox = {row.event_id for row in webhooks.list_inbox(uow=database.uow(), limit=100)}
    assert inbox == {f"evt_q{n}" for n in range(QUEUED)}  # all committed; the late one never stored
    assert balance(database, pool_code(race.race_id)) == QUEUED * SALE_CENTS // 5


def test_a_drain_that_runs_out_of_time_returns_and_acknowledges_nothing_it_did_not_commit(setup):
    database, settings, race = setup
    writer = webhook_writer.WebhookWriter(settings.db_url)

    async def scenario():
        with _writer_held_up(database) as lock:
            requests = await _queue_sales(writer, settings, race, 4, "t")
            started = time.monotonic()
            report = await writer.drain(timeout_s=0.3)
            waited_s = time.monotonic() - started
            answered_while_held = sum(request.done() for request in requests)
            lock.rollback()
        receipts = await asyncio.wait_for(asyncio.gather(*requests), timeout=30)
        return report, waited_s, answered_while_held, receipts

    report, waited_s, answered_while_held, receipts = asyncio.run(scenario())

    assert (report.settled, report.left) == (0, 4)
    assert waited_s < 5  # bounded: the stop goes on; these four were never acknowledged
    assert answered_while_held == 0
    # The batch commits once the lock goes (in a real stop the process may be gone first: the
    # provider's retry finds them stored, or stores them then).
    assert [receipt.status for receipt in receipts] == ["applied"] * 4


def test_during_shutdown_a_webhook_is_answered_503_with_retry_after_and_nothing_is_stored(setup):
    database, settings, race = setup
    writer = webhook_writer.writer_for(settings.db_url)
    sale = checkout("evt_stop", "pi_stop", SALE_CENTS, race.started_at + timedelta(minutes=1))
    try:
        asyncio.run(webhook_writer.drain_writers(timeout_s=5))
        with api_client(settings) as client:
            refused = stripe_post(client, sale)
    finally:
        webhook_writer.reopen_writers()
    assert writer is webhook_writer.writer_for(settings.db_url)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert "shutting down" in refused.json()["error"]
    assert list(webhooks.list_inbox(uow=database.uow(), limit=10)) == []

    with api_client(settings) as client:  # after a restart (here: reopened) the retry applies it
        retried = stripe_post(client, sale)
    assert retried.status_code == 200 and retried.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == SALE_CENTS // 5

"""Group commit: many deliveries stored and applied in one transaction, each acknowledged only after it.

`webhooks.receive_batch` is the writer's transaction; `WebhookWriter` the thread
that forms batches from concurrent requests. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from cozykart.db.engine import create_db_engine, engine_for
from cozykart.db.pot_goal_tables import PotGoalReached
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.ledger import house_code, pool_code, wallet_code
from cozykart.integrations import stripe_payments
from cozykart.services import money_settings, outbox, pot_goals, webhook_writer, webhooks
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import reconcile as reconcile_service
from tests.integration.webhook_support import (
    STRIPE_SECRET,
    api_client,
    balance,
    checkout,
    live_race,
    stripe_post,
    unix,
    webhook_settings,
)


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    return database, settings, live_race(database, settings)


def _delivery(settings, event: dict) -> webhooks.Delivery:
    """A verified delivery (`settings` are the unit of work's that receives it)."""
    body = json.dumps(event)
    verified = stripe_payments.parse_webhook(
        body.encode(), stripe_payments.sign(body, STRIPE_SECRET), STRIPE_SECRET
    )
    return webhooks.Delivery(event=verified, body_sha256="0" * 64, received_at=utc_now())


def _commits(engine) -> list[int]:
    """A list that grows by one at each COMMIT sent on `engine`."""
    seen: list[int] = []
    event.listen(engine, "commit", lambda _connection: seen.append(1))
    return seen


def _inbox(database) -> dict[str, webhooks.InboxRow]:
    return {row.event_id: row for row in webhooks.list_inbox(uow=database.uow(), limit=200)}


def _assert_reconciles(database) -> None:
    report = reconcile_service.reconcile(uow=database.uow())
    assert report.clean, report


def test_a_batch_is_one_commit_and_every_sale_in_it_is_applied(setup):
    database, settings, race = setup
    at = race.started_at + timedelta(minutes=1)
    deliveries = [_delivery(settings, checkout(f"evt_b{n}", f"pi_b{n}", 1000 + n, at)) for n in range(20)]
    commits = _commits(database.engine)

    outcomes = webhooks.receive_batch(deliveries, uow=database.uow(settings))

    assert len(commits) == 1
    assert [o.status for o in outcomes] == ["applied"] * 20 and not any(o.duplicate for o in outcomes)
    gross = sum(1000 + n for n in range(20))
    pool = sum((1000 + n) * 2000 // 10000 for n in range(20))  # 20% of each sale, floored per sale
    assert balance(database, pool_code(race.race_id)) == pool
    assert balance(database, house_code()) == gross - pool
    assert {row.status for row in _inbox(database).values()} == {"applied"}
    _assert_reconciles(database)


def test_the_same_event_twice_in_one_batch_credits_once(setup):
    database, settings, race = setup
    sale = checkout("evt_twice", "pi_twice", 3000, race.started_at + timedelta(minutes=1))
    other = checkout("evt_other", "pi_other", 1000, race.started_at + timedelta(minutes=1))

    outcomes = webhooks.receive_batch(
        [_delivery(settings, sale), _delivery(settings, other), _delivery(settings, sale)],
        uow=database.uow(settings),
    )

    first, _, repeat = outcomes
    assert (first.status, first.duplicate) == ("applied", False)
    assert (repeat.status, repeat.duplicate, repeat.inbox_id) == ("applied", True, first.inbox_id)
    assert balance(database, pool_code(race.race_id)) == 600 + 200
    assert len(_inbox(database)) == 2
    _assert_reconciles(database)


def test_an_event_that_fails_is_stored_failed_and_the_rest_of_its_batch_applies(setup):
    database, settings, race = setup
    at = race.started_at + timedelta(minutes=1)
    tip_nobody_can_take = checkout(
        "evt_tip", "pi_tip", 500, at, metadata={"kind": "tip", "song": "Rainbow Road"}
    )
    deliveries = [
        _delivery(settings, checkout("evt_before", "pi_before", 2500, at)),
        _delivery(settings, tip_nobody_can_take),  # no racer has the DJ role
        _delivery(settings, checkout("evt_after", "pi_after", 2500, at)),
    ]

    outcomes = webhooks.receive_batch(deliveries, uow=database.uow(settings))

    assert [o.status for o in outcomes] == ["applied", "failed", "applied"]
    rows = _inbox(database)
    assert "No racer has the DJ role" in rows["evt_tip"].last_error
    assert rows["evt_tip"].next_attempt_at is not None
    assert balance(database, pool_code(race.race_id)) == 1000
    assert balance(database, house_code()) == 4000  # the tip's fee was not taken
    _assert_reconciles(database)


def test_a_refund_before_its_sale_in_the_same_batch_waits_then_applies_with_it(setup):
    database, settings, race = setup
    at = race.started_at + timedelta(minutes=1)
    refund = stripe_payments.charge_refunded_event(
        event_id="evt_refund",
        charge_id="ch_1",
        payment_intent="pi_late",
        amount_cents=2500,
        amount_refunded_cents=2500,
        currency="usd",
        created=unix(at) + 60,
    )

    outcomes = webhooks.receive_batch(
        [
            _delivery(settings, checkout("evt_first", "pi_first", 1000, at)),  # an unrelated sale before them
            _delivery(settings, refund),
            _delivery(settings, checkout("evt_sale", "pi_late", 2500, at)),
        ],
        uow=database.uow(settings),
    )

    assert [o.status for o in outcomes] == ["applied", "waiting", "applied"]
    assert {event_id: row.status for event_id, row in _inbox(database).items()} == {
        "evt_first": "applied",
        "evt_refund": "applied",
        "evt_sale": "applied",
    }
    assert balance(database, pool_code(race.race_id)) == 200 and balance(database, house_code()) == 800
    _assert_reconciles(database)


def test_a_batch_uses_the_money_settings_an_admin_stored(setup):
    database, settings, race = setup
    money_settings.change_money_setting(
        actor_id=race.admin_id,
        name="commission_rate_bps",
        value="25",
        reason="race night special",
        uow=database.uow(settings),
    )
    at = race.started_at + timedelta(minutes=1)

    webhooks.receive_batch(
        [_delivery(settings, checkout(f"evt_m{n}", f"pi_m{n}", 2000, at)) for n in range(3)],
        uow=database.uow(settings),
    )

    assert balance(database, pool_code(race.race_id)) == 3 * 500  # 25%, not the environment's 20%


def test_queued_deliveries_made_with_other_settings_are_applied_with_theirs(setup):
    """The writer gives each run of deliveries made with the same settings its own transaction."""
    database, settings, race = setup
    richer = dataclasses.replace(settings, commission_rate_bps=5000)
    at = race.started_at + timedelta(minutes=1)
    writer = webhook_writer.WebhookWriter(settings.db_url)

    async def write() -> list[webhooks.InboxReceipt]:
        loop = asyncio.get_running_loop()
        queued = [
            webhook_writer._Pending(
                _delivery(made_with, checkout(f"evt_s{n}", f"pi_s{n}", 1000, at)),
                made_with,
                loop,
                loop.create_future(),
                None,
            )
            for n, made_with in enumerate([settings, settings, richer])
        ]
        await asyncio.to_thread(writer._write, queued)
        return [await pending.future for pending in queued]

    receipts = asyncio.run(write())

    assert [receipt.status for receipt in receipts] == ["applied"] * 3
    assert (writer.batches, writer.deliveries) == (2, 3)
    assert balance(database, pool_code(race.race_id)) == 200 + 200 + 500
    _assert_reconciles(database)


def test_a_failed_commit_acknowledges_nothing_and_the_redelivery_applies_once(setup):
    database, settings, race = setup
    sale = checkout("evt_crash", "pi_crash", 4000, race.started_at + timedelta(minutes=1))
    engine = engine_for(settings.db_url)  # the writer's engine

    def fail_commit(_connection):
        raise RuntimeError("the disk went away")

    event.listen(engine, "commit", fail_commit)
    try:
        with api_client(settings) as client:
            refused = stripe_post(client, sale)
    finally:
        event.remove(engine, "commit", fail_commit)

    assert refused.status_code == 500
    assert _inbox(database) == {}
    assert balance(database, pool_code(race.race_id)) == 0

    with api_client(settings) as client:
        redelivered = stripe_post(client, sale)
        again = stripe_post(client, sale)

    assert redelivered.status_code == 200 and redelivered.json()["status"] == "applied"
    assert again.json()["duplicate"] is True
    assert balance(database, pool_code(race.race_id)) == 800
    _assert_reconciles(database)


def test_concurrent_requests_through_the_writer_each_apply_once(setup):
    database, settings, race = setup
    at = race.started_at + timedelta(minutes=1)
    events = [checkout(f"evt_c{n}", f"pi_c{n}", 1500, at) for n in range(40)]
    writer = webhook_writer.writer_for(settings.db_url)
    deliveries_before = writer.deliveries

    with api_client(settings) as client, ThreadPoolExecutor(max_workers=8) as pool:
        # every event twice, concurrently: 80 deliveries, 40 credits
        responses = list(pool.map(lambda sale: stripe_post(client, sale), events + events))

    assert all(r.status_code == 200 for r in responses)
    assert sum(not r.json()["duplicate"] for r in responses) == 40
    assert writer.deliveries - deliveries_before == 80
    assert balance(database, pool_code(race.race_id)) == 40 * 300
    assert {row.status for row in _inbox(database).values()} == {"applied"} and len(_inbox(database)) == 40
    _assert_reconciles(database)


def test_two_writers_with_the_same_event_at_once_store_and_credit_it_once(setup):
    """Two processes' writers (here: two engines on two threads) racing on one event."""
    database, settings, race = setup
    at = race.started_at + timedelta(minutes=1)
    sale = checkout("evt_race", "pi_race", 5000, at)
    first_engine, second_engine = create_db_engine(database.url), create_db_engine(database.url)
    holding = threading.Event()
    release = threading.Event()

    def hold_before_commit(_connection):
        holding.set()
        assert release.wait(timeout=30)

    event.listen(first_engine, "commit", hold_before_commit)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(
                webhooks.receive_batch,
                [_delivery(settings, sale)],
                uow=UnitOfWork(first_engine, handlers=HANDLERS, settings=settings),
            )
            assert holding.wait(timeout=30)
            second = pool.submit(
                webhooks.receive_batch,
                [_delivery(settings, sale), _delivery(settings, checkout("evt_else", "pi_else", 1000, at))],
                uow=UnitOfWork(second_engine, handlers=HANDLERS, settings=settings),
            )
            time.sleep(0.5)  # the second is now waiting on the first's locks
            assert not second.done()
            release.set()
            (stored,) = first.result(timeout=30)
            repeat, other = second.result(timeout=30)
    finally:
        release.set()
        event.remove(first_engine, "commit", hold_before_commit)
        first_engine.dispose()
        second_engine.dispose()

    assert (stored.status, stored.duplicate) == ("applied", False)
    assert (repeat.duplicate, repeat.inbox_id) == (True, stored.inbox_id)
    assert (other.status, other.duplicate) == ("applied", False)
    assert balance(database, pool_code(race.race_id)) == 1000 + 200
    assert balance(database, wallet_code(race.racer_ids[0])) == 0  # the race is live: nothing split yet
    _assert_reconciles(database)


@pytest.mark.parametrize("with_a_failing_event", [False, True], ids=["all-apply", "one-fails"])
def test_a_batch_that_crosses_the_pot_goal_celebrates_once_at_the_sale_that_reached_it(
    setup, with_a_failing_event
):
    """The goal is read once per batch (`goal_to_watch`); the pool per sale. With a failing event in
    the batch, the optimistic pass is undone and the per-delivery path runs: the same outcome."""
    database, settings, race = setup
    pot_goals.set_race_goal(race.race_id, "15", actor_id=race.host_id, uow=database.uow(settings))
    at = race.started_at + timedelta(minutes=1)
    events = [checkout(f"evt_goal_{n}", f"pi_goal_{n}", 2500, at) for n in range(4)]  # the pool: $5 a sale
    if with_a_failing_event:
        events.insert(1, checkout("evt_tip", "pi_tip", 500, at, metadata={"kind": "tip", "song": "Yoshi"}))

    outcomes = webhooks.receive_batch([_delivery(settings, e) for e in events], uow=database.uow(settings))

    statuses = [o.status for o in outcomes]
    assert statuses == (
        ["applied", "failed", "applied", "applied", "applied"] if with_a_failing_event else ["applied"] * 4
    )
    with database.uow() as uow:
        reached = uow.pot_goals.reached(race.race_id)
        (payment_id,) = uow.session.connection().execute(select(PotGoalReached.__table__.c.payment_id)).one()
        celebrated = uow.ledger.payment_by_id(payment_id)
    assert reached is not None and reached[0] == 1500
    assert celebrated.key.endswith("pi_goal_2"), celebrated.key  # $15.00 at the third sale, once
    assert balance(database, pool_code(race.race_id)) == 2000
    assert len([row for row in outbox.list_outbox(uow=database.uow(settings)) if row.kind == "pot_goal"]) == 1
    _assert_reconciles(database)

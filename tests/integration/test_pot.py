"""The Live Pot read model and `GET /api/pot`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from cozykart.db.engine import READ_ONLY_OPTION
from cozykart.db.uow import UnitOfWork
from cozykart.integrations import stripe_payments
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.pot import DISPUTED, REFUNDED, live_pot
from tests.integration.webhook_support import (
    api_client,
    checkout,
    live_race,
    stripe_post,
    unix,
    webhook_settings,
)

READ_WAIT_S = 2.0


def test_api_pot_shows_the_live_race_and_its_pool(database):
    settings = webhook_settings(database)
    race = live_race(database, settings, racer_count=3)
    with api_client(settings) as client:
        stripe_post(client, checkout("evt_p1", "pi_p1", 2500, race.started_at + timedelta(minutes=1)))
        stripe_post(client, checkout("evt_p2", "pi_p2", 1000, race.started_at + timedelta(minutes=2)))
        response = client.get("/api/pot")

    body = response.json()
    assert response.status_code == 200
    assert body["pot_cents"] == 700  # 20% of $25.00 + 20% of $10.00
    assert body["currency"] == "USD"
    assert body["race"]["id"] == race.race_id and body["race"]["status"] == "live"
    assert [racer["id"] for racer in body["race"]["racers"]] == race.racer_ids
    assert set(body) == {"race", "pot_cents", "currency"}


def test_with_no_live_race_the_pot_is_empty_and_the_feed_still_shows_sales(database):
    settings = webhook_settings(database)
    sold_at = datetime.now(UTC).replace(microsecond=0)
    with api_client(settings) as client:
        stripe_post(client, checkout("evt_h", "pi_h", 1500, sold_at))
        body = client.get("/api/pot").json()

    assert body == {"race": None, "pot_cents": 0, "currency": "USD"}
    pot = live_pot(uow=database.uow(settings))
    # "Fan Fiona" is only the cardholder (customer_details.name), never shown in public.
    assert [(line.kind, line.amount_cents, line.fan_name) for line in pot.feed] == [("sale", 1500, "A fan")]
    assert pot.feed[0].occurred_at == sold_at


def test_the_feed_marks_a_refunded_sale_and_one_held_by_an_open_chargeback(database):
    settings = webhook_settings(database)
    race = live_race(database, settings, racer_count=3)
    at = race.started_at
    reversals = [
        stripe_payments.charge_refunded_event(
            event_id="evt_f1_refund",
            charge_id="ch_f1",
            payment_intent="pi_f1",
            amount_cents=2000,
            amount_refunded_cents=500,
            currency="usd",
            created=unix(at + timedelta(minutes=4)),
        ),
        stripe_payments.dispute_event(
            event_id="evt_f2_dispute",
            event_type="charge.dispute.created",
            dispute_id="dp_f2",
            charge_id="ch_f2",
            payment_intent="pi_f2",
            amount_cents=3000,
            currency="usd",
            created=unix(at + timedelta(minutes=4)),
        ),
        stripe_payments.dispute_event(
            event_id="evt_f3_dispute",
            event_type="charge.dispute.created",
            dispute_id="dp_f3",
            charge_id="ch_f3",
            payment_intent="pi_f3",
            amount_cents=4000,
            currency="usd",
            created=unix(at + timedelta(minutes=4)),
        ),
        stripe_payments.dispute_event(
            event_id="evt_f3_won",
            event_type="charge.dispute.funds_reinstated",
            dispute_id="dp_f3",
            charge_id="ch_f3",
            payment_intent="pi_f3",
            amount_cents=4000,
            currency="usd",
            created=unix(at + timedelta(minutes=5)),
        ),
    ]
    with api_client(settings) as client:
        for minute, (payment_intent, cents) in enumerate(
            (("pi_f1", 2000), ("pi_f2", 3000), ("pi_f3", 4000)), 1
        ):
            sale = stripe_post(
                client,
                checkout(f"evt_{payment_intent}", payment_intent, cents, at + timedelta(minutes=minute)),
            )
            assert sale.json()["status"] == "applied", sale.text
        before = live_pot(uow=database.uow(settings))
        for event in reversals:
            response = stripe_post(client, event)
            assert response.json()["status"] == "applied", response.text

    assert [line.reversal for line in before.feed] == ["", "", ""]
    pot = live_pot(uow=database.uow(settings))
    assert {line.amount_cents: line.reversal for line in pot.feed} == {
        2000: REFUNDED,
        3000: DISPUTED,
        4000: "",
    }
    assert pot.pot_cents < before.pot_cents  # the refund and the open dispute took their share back


def test_pot_reads_do_not_wait_for_a_writer_holding_the_lock(database):
    """The Live Pot reads through `reader_for`: on SQLite a deferred snapshot, so a
    webhook batch holding the write lock does not hold up every viewer's push (and
    a pot read never makes the writer wait). The writer's engine, by contrast, waits."""
    settings = webhook_settings(database)
    race = live_race(database, settings, racer_count=2)
    with api_client(settings) as client:
        stripe_post(client, checkout("evt_r1", "pi_r1", 5000, race.started_at + timedelta(minutes=1)))
    reader = UnitOfWork(
        database.engine.execution_options(**{READ_ONLY_OPTION: True}), handlers=HANDLERS, settings=settings
    )

    with database.engine.connect() as writer:
        writer.begin()  # BEGIN IMMEDIATE on SQLite: the write lock, held
        writer.execute(
            text("UPDATE racer SET mkt_name = 'mid-write' WHERE id = :id"), {"id": race.racer_ids[0]}
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            read = pool.submit(live_pot, uow=reader)
            assert read.result(timeout=READ_WAIT_S).pot_cents == 1000  # the committed pot; not the open write
            if database.backend == "sqlite":
                blocked = pool.submit(live_pot, uow=database.uow(settings))
                with pytest.raises(FutureTimeout):
                    blocked.result(timeout=READ_WAIT_S)  # BEGIN IMMEDIATE queues behind the writer
            writer.rollback()
            if database.backend == "sqlite":
                assert blocked.result(timeout=READ_WAIT_S * 10).pot_cents == 1000

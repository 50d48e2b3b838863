"""Webhook amounts (issue 14, item 10): out-of-range or non-ASCII amounts are refused
with a 4xx and change nothing; a permanent (validation) failure is never retried.

Payload shapes follow what the providers document and send:
- Stripe's checkout.session object (`amount_total` in the smallest currency unit,
  `customer_details.name`), https://docs.stripe.com/api/checkout/sessions/object
  (a real one is stored at flan02/stripe-nextjs15, STRIPE-SUBSCRIPTIONS.md);
- Ko-fi's documented webhook example ("amount": "3.00", a decimal string), from
  Ko-fi's webhook page, quoted at
  https://meta.discourse.org/t/is-it-possible-to-catch-a-request-from-a-third-party-service-in-a-theme-component/255047
- Shopify's orders/paid sample (`"total_price": "49.00"`), as stored at
  mobileexpert1/dearbrightly, backend/db_shopify/tests/fixtures_shopify_webhook.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from cozykart.db.inbox_tables import WebhookEvent
from cozykart.domain.ledger import house_code, pool_code
from cozykart.domain.money import AMOUNT_CENTS_MAX
from cozykart.integrations import shopify, stripe_payments
from cozykart.services import webhooks
from tests.integration.webhook_support import (
    api_client,
    balance,
    checkout,
    kofi_post,
    live_race,
    shopify_post,
    stripe_post,
    webhook_settings,
)


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    with api_client(settings) as client:
        yield database, settings, race, client


def _inbox(database):
    return webhooks.list_inbox(uow=database.uow(), limit=200)


def _assert_nothing_changed(database, race) -> None:
    assert _inbox(database) == ()
    assert balance(database, house_code()) == 0
    assert balance(database, pool_code(race.race_id)) == 0


@pytest.mark.parametrize("amount_cents", [2**63, 2**64 + 1, AMOUNT_CENTS_MAX + 1])
def test_a_signed_stripe_amount_out_of_range_is_refused_and_changes_nothing(setup, amount_cents):
    database, _, race, client = setup
    event = checkout("evt_huge", "pi_huge", 2500, race.started_at + timedelta(minutes=1))
    event["data"]["object"]["amount_total"] = amount_cents

    response = stripe_post(client, event)

    assert response.status_code == 400
    assert "amount_total" in response.json()["error"]
    _assert_nothing_changed(database, race)


def test_the_largest_allowed_stripe_amount_is_still_accepted(setup):
    _, _, race, client = setup
    event = checkout("evt_max", "pi_max", AMOUNT_CENTS_MAX, race.started_at + timedelta(minutes=1))

    response = stripe_post(client, event)

    assert response.status_code == 200 and response.json()["status"] == "applied"


def test_a_stripe_refund_or_dispute_amount_out_of_range_is_refused(setup):
    database, _, race, client = setup
    refund = stripe_payments.charge_refunded_event(
        event_id="evt_r",
        charge_id="ch_1",
        payment_intent="pi_1",
        amount_cents=2500,
        amount_refunded_cents=2**63,
        currency="usd",
    )
    dispute = stripe_payments.dispute_event(
        event_id="evt_d",
        event_type="charge.dispute.created",
        dispute_id="dp_1",
        charge_id="ch_1",
        payment_intent="pi_1",
        amount_cents=2**63,
        currency="usd",
    )

    assert stripe_post(client, refund).status_code == 400
    assert stripe_post(client, dispute).status_code == 400
    _assert_nothing_changed(database, race)


@pytest.mark.parametrize(
    "amount", ["\u0663.00", "\uff13.00", "3.\u0660\u0660", "1" * 10, "100000000.01"]
)  # Arabic-Indic, full-width
def test_a_kofi_amount_with_non_ascii_digits_or_out_of_range_is_refused(setup, amount):
    database, _, race, client = setup
    response = kofi_post(
        client,
        message_id="m-uni",
        transaction_id="tx-uni",
        event_type="Shop Order",
        amount=amount,
        timestamp=race.started_at + timedelta(minutes=1),
    )

    assert response.status_code == 400
    assert "data.amount" in response.json()["error"]
    _assert_nothing_changed(database, race)


@pytest.mark.parametrize("amount", ["\u0663.00", "\uff12\uff15.00", "100000000.01"])
def test_a_shopify_total_or_refund_with_non_ascii_digits_or_out_of_range_is_refused(setup, amount):
    database, _, race, client = setup
    order = shopify.order_paid_payload(
        order_id=6001,
        total=amount,
        currency="USD",
        processed_at=race.started_at + timedelta(minutes=1),
        line_items=[{"sku": "TEE", "quantity": 1, "title": "Tee"}],
    )
    refund = shopify.refund_payload(refund_id=61, order_id=6001, amount=amount, currency="USD")

    assert shopify_post(client, "orders/paid", order, webhook_id="wh-amt-1").status_code == 400
    assert shopify_post(client, "refunds/create", refund, webhook_id="wh-amt-2").status_code == 400
    _assert_nothing_changed(database, race)


def _store_old_row(database, record: dict, at: datetime, *, status: str = "failed") -> int:
    """An inbox row as an earlier version stored it, before amounts were checked at the door."""
    with database.engine.begin() as connection:
        return connection.execute(
            insert(WebhookEvent.__table__).returning(WebhookEvent.__table__.c.id),
            {
                "provider": "stripe",
                "event_id": "evt_old",
                "event_type": "checkout.session.completed",
                "payment_key": record.get("payment_key"),
                "fact_kind": record["kind"],
                "fact": json.dumps(record, sort_keys=True),
                "body_sha256": "0" * 64,
                "status": status,
                "attempts": 1,
                "received_at": at,
                "next_attempt_at": at,
            },
        ).scalar_one()


def test_a_stored_event_with_an_impossible_amount_is_parked_not_retried(setup):
    database, settings, race, _ = setup
    at = race.started_at + timedelta(minutes=1)
    record = {
        "kind": "sale",
        "currency": "USD",
        "payment_key": "stripe:pi_old",
        "gross_cents": 2**63,
        "sold_at": at.isoformat(),
        "item": "merch",
        "fan_name": None,
        "skus": [],
    }
    inbox_id = _store_old_row(database, record, at)

    webhooks.retry_due(uow=database.uow(settings), now=at + timedelta(days=1))

    (row,) = _inbox(database)
    assert row.inbox_id == inbox_id and row.status == "failed"
    assert row.next_attempt_at is None, "a validation failure never succeeds on a later try"
    assert "amount" in row.last_error
    assert webhooks.retry_due(uow=database.uow(settings), now=at + timedelta(days=2)) == 0
    assert balance(database, house_code()) == 0


def test_a_validation_failure_while_applying_is_not_scheduled_for_retry(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    assert stripe_post(client, checkout("evt_a", "pi_same", 2500, at)).json()["status"] == "applied"

    # The same payment again, under another event id, with another amount: the ledger refuses it.
    response = stripe_post(client, checkout("evt_b", "pi_same", 9900, at))

    assert response.status_code == 200 and response.json()["status"] == "failed"
    failed = next(row for row in _inbox(database) if row.event_id == "evt_b")
    assert failed.next_attempt_at is None

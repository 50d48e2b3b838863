"""What an event that moves no money becomes (issue 15, items 3 to 5): a free order is ignored
(nothing was paid), a failure that cannot pass later fails once and is not retried, and a
Charges-API refund or dispute (`payment_intent: null`) meets its sale by the charge.

What the providers send, as documented:
- Stripe's Charge and Dispute objects, from Stripe's own OpenAPI fixtures
  (stripe/openapi, openapi/fixtures3.json, resources "charge" and "dispute"): the
  charge `ch_1PgafuB7WZ01zgkWXYmPNZs8` has `"payment_intent": null`, and the dispute
  `dp_1Pgc71B7WZ01zgkWMevJiAUx` names it in `charge`, also with
  `"payment_intent": null`. Only the amounts are set here (to the sale's, and
  `amount_refunded`/`refunded` as after a full refund).
- A PaymentIntent names its charge in `latest_charge`
  (https://docs.stripe.com/api/payment_intents/object); an expanded `payment_intent`
  is how a checkout session's payload can carry it.
- A Checkout Session that needs no payment (a 100% discount) has
  `payment_status: "no_payment_required"` and `amount_total: 0`
  (https://docs.stripe.com/api/checkout/sessions/object).
- Shopify marks a $0.00 order (a 100% discount code) paid and sends `orders/paid` with
  `"total_price": "0.00"`; its refunds/create carries `transactions` of kind
  "refund" (the shapes of mobileexpert1/dearbrightly,
  backend/db_shopify/tests/fixtures_shopify_webhook.py).
- Ko-fi's `amount` is a decimal string ("3.00") and `kofi_transaction_id` an id, as in
  its documented example, quoted at
  https://meta.discourse.org/t/is-it-possible-to-catch-a-request-from-a-third-party-service-in-a-theme-component/255047
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from cozykart.db.inbox_tables import WebhookEvent
from cozykart.domain.ledger import house_code, pool_code
from cozykart.integrations import shopify, stripe_payments
from cozykart.services import webhooks
from cozykart.services.reads import reconcile as reconcile_service
from tests.integration.webhook_support import (
    STRIPE_SECRET,
    api_client,
    balance,
    checkout,
    kofi_post,
    live_race,
    shopify_post,
    stripe_event,
    stripe_post,
    webhook_settings,
)

CHARGE_ID = "ch_1PgafuB7WZ01zgkWXYmPNZs8"
DISPUTE_ID = "dp_1Pgc71B7WZ01zgkWMevJiAUx"


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    with api_client(settings) as client:
        yield database, settings, race, client


def _row(database, event_id: str) -> webhooks.InboxRow:
    return next(row for row in webhooks.list_inbox(uow=database.uow(), limit=200) if row.event_id == event_id)


def _assert_reconciles(database) -> None:
    report = reconcile_service.reconcile(uow=database.uow())
    assert report.clean, report


def _store_old_row(database, event_id: str, record: dict, at: datetime, *, status: str = "failed") -> int:
    """An inbox row as an earlier version stored it, due for a retry at `at`."""
    with database.engine.begin() as connection:
        return connection.execute(
            insert(WebhookEvent.__table__).returning(WebhookEvent.__table__.c.id),
            {
                "provider": "stripe",
                "event_id": event_id,
                "event_type": "checkout.session.completed",
                "payment_key": record.get("payment_key"),
                "fact_kind": record.get("kind", "sale"),
                "fact": json.dumps(record, sort_keys=True),
                "body_sha256": "0" * 64,
                "status": status,
                "attempts": 1,
                "received_at": at,
                "next_attempt_at": at,
            },
        ).scalar_one()


# --- item 3: free orders ---------------------------------------------------------------------


def test_a_free_shopify_order_is_ignored_because_nothing_was_paid(setup):
    database, settings, race, client = setup
    order = shopify.order_paid_payload(
        order_id=8001,
        total="0.00",
        currency="USD",
        processed_at=race.started_at + timedelta(minutes=1),
        line_items=[{"sku": "STICKER", "quantity": 1, "title": "Sticker"}],
    )
    order["discount_codes"] = [{"code": "FREE100", "amount": "5.00", "type": "percentage"}]

    response = shopify_post(client, "orders/paid", order, webhook_id="wh-free")

    assert response.status_code == 200 and response.json()["status"] == "ignored"
    row = _row(database, "wh-free")
    assert (row.last_error, row.next_attempt_at) == ("nothing was paid", None)
    assert webhooks.retry_due(uow=database.uow(settings), now=race.started_at + timedelta(days=1)) == 0
    assert _row(database, "wh-free").status == "ignored"
    assert balance(database, house_code()) == balance(database, pool_code(race.race_id)) == 0


def test_a_free_stripe_checkout_or_kofi_order_is_ignored_because_nothing_was_paid(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    event = checkout("evt_free", "pi_free", 0, at)
    event["data"]["object"]["payment_status"] = "no_payment_required"

    stripe = stripe_post(client, event)
    kofi = kofi_post(
        client,
        message_id="m-free",
        transaction_id="tx-free",
        event_type="Shop Order",
        amount="0.00",
        timestamp=at,
    )

    assert stripe.json()["status"] == kofi.json()["status"] == "ignored"
    assert _row(database, "evt_free").last_error == _row(database, "m-free").last_error == "nothing was paid"
    assert balance(database, house_code()) == 0


def test_a_free_order_stored_failed_earlier_is_ignored_on_its_next_try(setup):
    database, settings, race, _ = setup
    at = race.started_at + timedelta(minutes=1)
    record = {
        "kind": "sale",
        "currency": "USD",
        "payment_key": "shopify:8002",
        "gross_cents": 0,
        "sold_at": at.isoformat(),
        "item": "Sticker",
        "fan_name": None,
        "skus": [],
    }
    _store_old_row(database, "evt_old_free", record, at)

    webhooks.retry_due(uow=database.uow(settings), now=at)

    row = _row(database, "evt_old_free")
    assert (row.status, row.last_error, row.next_attempt_at) == ("ignored", "nothing was paid", None)


# --- item 4: permanent failures are not retried -------------------------------------------------


def test_a_refund_larger_than_what_remains_fails_once_and_is_not_retried(setup):
    database, settings, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    order = shopify.order_paid_payload(
        order_id=8101,
        total="25.00",
        currency="USD",
        processed_at=at,
        line_items=[{"sku": "TEE", "quantity": 1, "title": "Tee"}],
    )
    shopify_post(client, "orders/paid", order, webhook_id="wh-8101")
    refund = shopify.refund_payload(refund_id=81, order_id=8101, amount="30.00", currency="USD")

    response = shopify_post(client, "refunds/create", refund, webhook_id="wh-8101-refund")

    assert response.status_code == 200 and response.json()["status"] == "failed"
    row = _row(database, "wh-8101-refund")
    assert "more than what remains" in row.last_error
    assert row.next_attempt_at is None and row.parked
    assert webhooks.retry_due(uow=database.uow(settings), now=at + timedelta(days=1)) == 0
    assert _row(database, "wh-8101-refund").attempts == 1
    assert balance(database, pool_code(race.race_id)) == 500  # the sale stands


def test_a_stored_event_that_cannot_be_read_is_parked_and_the_others_still_apply(setup):
    database, settings, race, _ = setup
    at = race.started_at + timedelta(minutes=1)
    unreadable = {
        "kind": "sale",
        "currency": "USD",
        "payment_key": "stripe:pi_bad",
        "gross_cents": 2500,
        "item": "merch",
    }  # no sold_at
    good = {
        "kind": "sale",
        "currency": "USD",
        "payment_key": "stripe:pi_good",
        "gross_cents": 2500,
        "sold_at": at.isoformat(),
        "item": "merch",
        "fan_name": None,
        "skus": [],
    }
    _store_old_row(database, "evt_unreadable", unreadable, at)
    _store_old_row(database, "evt_good", good, at)

    assert webhooks.retry_due(uow=database.uow(settings), now=at) == 1

    bad = _row(database, "evt_unreadable")
    assert bad.status == "failed" and bad.parked and "cannot be read" in bad.last_error
    assert _row(database, "evt_good").status == "applied"
    assert balance(database, pool_code(race.race_id)) == 500


def test_a_payment_id_too_long_for_the_ledger_is_refused_at_the_door(setup):
    database, _, race, client = setup
    response = kofi_post(
        client,
        message_id="m-long",
        transaction_id="t" * 300,
        event_type="Shop Order",
        amount="20.00",
        timestamp=race.started_at + timedelta(minutes=1),
    )

    assert response.status_code == 400
    assert "payment_key" in response.json()["error"]
    assert webhooks.list_inbox(uow=database.uow()) == ()


def test_the_inbox_tells_a_parked_failure_from_one_that_will_be_retried(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(client, checkout("evt_same_a", "pi_same", 2500, at))
    stripe_post(client, checkout("evt_same_b", "pi_same", 9900, at))  # the same payment, another amount
    stripe_post(client, checkout("evt_tip", "pi_tip", 300, at, metadata={"kind": "tip"}))  # no DJ yet

    permanent, later = _row(database, "evt_same_b"), _row(database, "evt_tip")
    assert (permanent.status, later.status) == ("failed", "failed")
    assert permanent.parked and permanent.next_attempt_at is None
    assert not later.parked and later.next_attempt_at is not None


# --- item 5: Charges-API refunds and disputes match by the charge ------------------------------


def _sale_knowing_its_charge(event_id: str, amount_cents: int, at: datetime) -> dict:
    event = checkout(event_id, "pi_charged", amount_cents, at)
    event["data"]["object"]["payment_intent"] = {
        "id": "pi_charged",
        "object": "payment_intent",
        "latest_charge": CHARGE_ID,
    }
    return event


def _charge_refunded(event_id: str, amount_cents: int, at: datetime) -> dict:
    charge = {
        "id": CHARGE_ID,
        "object": "charge",
        "amount": amount_cents,
        "amount_refunded": amount_cents,
        "balance_transaction": "txn_1PgaxNB7WZ01zgkWEV3TLf40",
        "created": 1234567890,
        "currency": "usd",
        "metadata": {},
        "payment_intent": None,
        "refunded": True,
        "status": "succeeded",
    }
    return stripe_event(event_id, "charge.refunded", charge, at)


def _dispute_created(event_id: str, amount_cents: int, at: datetime) -> dict:
    dispute = {
        "id": DISPUTE_ID,
        "object": "dispute",
        "amount": amount_cents,
        "charge": CHARGE_ID,
        "created": 1234567890,
        "currency": "usd",
        "metadata": {},
        "payment_intent": None,
        "status": "warning_needs_response",
    }
    return stripe_event(event_id, "charge.dispute.created", dispute, at)


def test_a_refund_without_a_payment_intent_finds_its_sale_by_the_charge(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    assert (
        stripe_post(client, _sale_knowing_its_charge("evt_sale_ch", 1000, at)).json()["status"] == "applied"
    )

    refunded = stripe_post(client, _charge_refunded("evt_refund_ch", 1000, at + timedelta(minutes=5)))

    assert refunded.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == balance(database, house_code()) == 0
    _assert_reconciles(database)


def test_a_refund_by_charge_before_its_sale_waits_and_applies_when_the_sale_arrives(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    assert stripe_post(client, _charge_refunded("evt_refund_first", 1000, at)).json()["status"] == "waiting"

    stripe_post(client, _sale_knowing_its_charge("evt_sale_later", 1000, at))

    assert _row(database, "evt_refund_first").status == "applied"
    assert balance(database, pool_code(race.race_id)) == balance(database, house_code()) == 0


def test_a_dispute_without_a_payment_intent_finds_its_sale_by_the_charge(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(client, _sale_knowing_its_charge("evt_sale_dp", 1000, at))

    disputed = stripe_post(client, _dispute_created("evt_dispute_ch", 1000, at + timedelta(days=2)))

    assert disputed.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 0
    _assert_reconciles(database)


def test_a_charges_api_refund_and_dispute_name_the_same_payment():
    at = datetime(2026, 5, 1, 20, 0).astimezone()

    def fact(event: dict):
        body = json.dumps(event)
        return stripe_payments.parse_webhook(
            body.encode(), stripe_payments.sign(body, STRIPE_SECRET), STRIPE_SECRET
        ).fact

    refund, dispute = fact(_charge_refunded("evt_r", 1000, at)), fact(_dispute_created("evt_d", 1000, at))
    assert refund.payment_key == dispute.payment_key == f"stripe:{CHARGE_ID}"

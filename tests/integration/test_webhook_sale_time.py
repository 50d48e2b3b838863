"""When a sale counts (issue 15, items 1 and 2): the race a sale feeds is the one live when
the fan paid, and a delayed payment counts, once, in the race live when its checkout completed.

What the providers send, as documented:
- Stripe's Event object: `created` is when the event happened (for
  `checkout.session.completed`, when the checkout completed),
  https://docs.stripe.com/api/events/object ; the Checkout Session's own `created`
  is when the session was made, and a session lives 24 hours ("Checkout Sessions
  expire 24 hours after creation", https://stripe.com/docs/checkout/custom-checkout).
- Delayed payment methods: `checkout.session.completed` arrives with
  `payment_status: "unpaid"` ("one of paid, unpaid, or no_payment_required",
  https://docs.stripe.com/api/checkout/sessions/object), then
  `checkout.session.async_payment_succeeded` ("Occurs when a payment intent using a
  delayed payment method finally succeeds") or `..._failed`; Stripe's own trigger
  for it is a SEPA-debit Checkout Session, stripe/stripe-cli
  pkg/fixtures/triggers/checkout.session.async_payment_succeeded.json.
- Ko-fi's `timestamp` ("2022-08-21T13:04:30Z" in its documented example; Ko-fi posts
  "when a payment completes"), quoted at
  https://meta.discourse.org/t/is-it-possible-to-catch-a-request-from-a-third-party-service-in-a-theme-component/255047
- Shopify's `processed_at`, an ISO 8601 time with the shop's offset
  ("2022-12-31T16:32:10-05:00" is how its order webhooks write times, as stored at
  mobileexpert1/dearbrightly backend/db_shopify/tests/fixtures_shopify_webhook.py);
  "Processing happens after the checkout has completed"
  (https://www.shopify.dev/docs/api/customer-account-ui-extensions/latest/apis/order-status-api/order),
  "when the transaction component of the order was completed"
  (https://community.shopify.com/c/shopify-apis-and-sdks/about-order-processedat-in-graphql-api/m-p/1331028).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cozykart.db.tables import Racer
from cozykart.domain.ledger import house_code, pool_code, wallet_code
from cozykart.integrations import shopify, stripe_payments
from cozykart.services import league, webhooks
from cozykart.services.reads import reconcile as reconcile_service
from tests.integration.webhook_support import (
    STRIPE_SECRET,
    api_client,
    balance,
    delayed_checkout,
    kofi_post,
    live_race,
    opened_checkout,
    shopify_post,
    stripe_post,
    webhook_settings,
)

COMPLETED = "checkout.session.completed"
SUCCEEDED = "checkout.session.async_payment_succeeded"
FAILED = "checkout.session.async_payment_failed"


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    with api_client(settings) as client:
        yield database, settings, race, client


def _statuses(database) -> dict[str, str]:
    return {row.event_id: row.status for row in webhooks.list_inbox(uow=database.uow(), limit=200)}


def _assert_reconciles(database) -> None:
    report = reconcile_service.reconcile(uow=database.uow())
    assert report.clean, report


# --- item 1: the sale's time is when the fan paid -------------------------------------------


def test_a_fan_who_opened_checkout_before_the_race_and_paid_during_it_feeds_the_pool(setup):
    database, _, race, client = setup
    event = opened_checkout(
        "evt_open_early",
        "pi_open_early",
        2500,
        opened=race.started_at - timedelta(minutes=5),
        paid=race.started_at + timedelta(minutes=2),
    )

    assert stripe_post(client, event).json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 500  # 20% of $25.00
    _assert_reconciles(database)


def test_a_fan_who_opened_checkout_during_the_race_and_paid_after_it_ended_gives_it_nothing(setup):
    database, settings, race, client = setup
    league.end_race(
        race.race_id,
        actor_id=race.admin_id,
        uow=database.uow(settings),
        now=race.started_at + timedelta(minutes=5),
    )
    event = opened_checkout(
        "evt_paid_late",
        "pi_paid_late",
        2500,
        opened=race.started_at + timedelta(minutes=3),
        paid=race.started_at + timedelta(minutes=7),
    )

    assert stripe_post(client, event).json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 0
    assert balance(database, house_code()) == 2500


def test_a_stripe_tip_is_dated_when_it_was_paid():
    opened, paid = datetime(2026, 5, 1, 20, 0, tzinfo=UTC), datetime(2026, 5, 1, 20, 40, tzinfo=UTC)
    event = opened_checkout(
        "evt_tip_time", "pi_tip_time", 500, opened=opened, paid=paid, metadata={"kind": "tip"}
    )
    body = json.dumps(event)
    verified = stripe_payments.parse_webhook(
        body.encode(), stripe_payments.sign(body, STRIPE_SECRET), STRIPE_SECRET
    )
    assert verified.fact.tipped_at == paid


def test_a_kofi_sale_counts_at_its_timestamp_not_when_it_arrives(setup):
    database, _, race, client = setup
    response = kofi_post(
        client,
        message_id="m-time",
        transaction_id="tx-time",
        event_type="Shop Order",
        amount="20.00",
        timestamp=race.started_at + timedelta(seconds=30),
    )
    before = kofi_post(
        client,
        message_id="m-before",
        transaction_id="tx-before",
        event_type="Shop Order",
        amount="10.00",
        timestamp=race.started_at - timedelta(seconds=30),
    )

    assert response.json()["status"] == before.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 400  # only the order paid during the race
    assert balance(database, house_code()) == 1600 + 1000


def test_a_shopify_order_counts_at_processed_at_read_with_its_offset(setup):
    database, _, race, client = setup
    new_york = timezone(timedelta(hours=-5))
    paid = (race.started_at + timedelta(minutes=2)).astimezone(new_york)
    order = shopify.order_paid_payload(
        order_id=7001,
        total="25.00",
        currency="USD",
        processed_at=paid,
        line_items=[{"sku": "TEE", "quantity": 1, "title": "Tee"}],
    )
    order["created_at"] = (race.started_at - timedelta(minutes=20)).astimezone(new_york).isoformat()
    assert order["processed_at"].endswith("-05:00")

    assert shopify_post(client, "orders/paid", order, webhook_id="wh-time").json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 500


# --- item 2: delayed payment methods --------------------------------------------------------


def _race_ended_hours_ago(database, settings):
    """A race that ran five hours ago (its checkout completed then), and another live now."""
    race = live_race(
        database, settings, started_at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    )
    league.end_race(
        race.race_id,
        actor_id=race.admin_id,
        uow=database.uow(settings),
        now=race.started_at + timedelta(minutes=20),
    )
    return race, live_race(database, settings)


def test_a_delayed_payment_counts_when_it_succeeds_in_the_race_live_at_its_checkout(database):
    settings = webhook_settings(database)
    race, live_now = _race_ended_hours_ago(database, settings)
    completed_at = race.started_at + timedelta(minutes=7)
    with api_client(settings) as client:
        pending = stripe_post(
            client,
            delayed_checkout(
                "evt_sepa_done", "pi_sepa", 5000, completed_at, event_type=COMPLETED, payment_status="unpaid"
            ),
        )
        assert pending.json()["status"] == "ignored"
        assert balance(database, house_code()) == 0  # nothing is paid yet

        paid = stripe_post(
            client,
            delayed_checkout(
                "evt_sepa_paid",
                "pi_sepa",
                5000,
                race.started_at + timedelta(hours=4),
                event_type=SUCCEEDED,
                payment_status="paid",
            ),
        )

    assert paid.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 1000
    assert balance(database, pool_code(live_now.race_id)) == 0
    assert balance(database, house_code()) == 4000
    _assert_reconciles(database)


def test_a_delayed_payment_that_succeeds_before_its_checkout_arrives_waits_for_it(database):
    settings = webhook_settings(database)
    race, live_now = _race_ended_hours_ago(database, settings)
    completed_at = race.started_at + timedelta(minutes=7)
    with api_client(settings) as client:
        early = stripe_post(
            client,
            delayed_checkout(
                "evt_ach_paid",
                "pi_ach",
                5000,
                race.started_at + timedelta(hours=4),
                event_type=SUCCEEDED,
                payment_status="paid",
            ),
        )
        assert early.json()["status"] == "waiting"
        stripe_post(
            client,
            delayed_checkout(
                "evt_ach_done", "pi_ach", 5000, completed_at, event_type=COMPLETED, payment_status="unpaid"
            ),
        )

    assert _statuses(database) == {"evt_ach_paid": "applied", "evt_ach_done": "ignored"}
    assert balance(database, pool_code(race.race_id)) == 1000
    assert balance(database, pool_code(live_now.race_id)) == 0


def test_a_delayed_payment_succeeding_twice_counts_once(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(
        client,
        delayed_checkout("evt_b_done", "pi_boleto", 3000, at, event_type=COMPLETED, payment_status="unpaid"),
    )
    for event_id in ("evt_b_paid", "evt_b_paid_again"):
        stripe_post(
            client,
            delayed_checkout(
                event_id,
                "pi_boleto",
                3000,
                at + timedelta(days=1),
                event_type=SUCCEEDED,
                payment_status="paid",
            ),
        )

    assert balance(database, pool_code(race.race_id)) == 600
    assert balance(database, house_code()) == 2400
    _assert_reconciles(database)


def test_a_failed_delayed_payment_is_recorded_and_moves_nothing(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(
        client,
        delayed_checkout("evt_oxxo_done", "pi_oxxo", 3000, at, event_type=COMPLETED, payment_status="unpaid"),
    )
    failed = stripe_post(
        client,
        delayed_checkout(
            "evt_oxxo_failed",
            "pi_oxxo",
            3000,
            at + timedelta(days=3),
            event_type=FAILED,
            payment_status="unpaid",
        ),
    )

    assert failed.status_code == 200 and failed.json()["status"] == "ignored"
    row = next(r for r in webhooks.list_inbox(uow=database.uow()) if r.event_id == "evt_oxxo_failed")
    assert row.last_error == "the delayed payment failed; nothing was paid"
    assert balance(database, house_code()) == balance(database, pool_code(race.race_id)) == 0


def test_a_tip_paid_by_a_delayed_method_credits_the_dj_when_it_succeeds(setup):
    database, _, race, client = setup
    dj_id = race.racer_ids[0]
    with database.uow() as uow:
        racer = uow.session.get(Racer, dj_id)
        racer.is_dj = True
        uow.session.add(racer)
        uow.commit()
    at = race.started_at + timedelta(minutes=1)
    metadata = {"kind": "tip", "song": "Coconut Mall"}
    stripe_post(
        client,
        delayed_checkout(
            "evt_tip_done",
            "pi_tip_sepa",
            500,
            at,
            event_type=COMPLETED,
            payment_status="unpaid",
            metadata=metadata,
        ),
    )
    assert balance(database, wallet_code(dj_id)) == 0

    paid = stripe_post(
        client,
        delayed_checkout(
            "evt_tip_paid",
            "pi_tip_sepa",
            500,
            at + timedelta(days=2),
            event_type=SUCCEEDED,
            payment_status="paid",
            metadata=metadata,
        ),
    )

    assert paid.json()["status"] == "applied"
    assert balance(database, wallet_code(dj_id)) == 475  # $5.00 less 5%

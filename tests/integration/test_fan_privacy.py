"""Fans' privacy on public surfaces (issue 14, item 3), through the real webhook routes.

The Live Pot feed (the Watch page, the OBS overlays and their alerts read it), the
Discord tip announcement and GET /api/pot show only a display name the fan chose:
the tip form's name (checkout metadata the app set), Ko-fi's `from_name` when
`is_public` is true; otherwise "A fan". A private supporter's message is never
shown, and a refunded or disputed payment is never shown beside a name.

Payloads follow what the providers send:
- Ko-fi's documented webhook example (a "Donation" with `is_public`, `from_name`,
  `message`, `amount` "3.00"; "you must respect the is_public field, and hide the
  message if the value is false"), from Ko-fi's webhook page as quoted at
  https://meta.discourse.org/t/is-it-possible-to-catch-a-request-from-a-third-party-service-in-a-theme-component/255047
- Stripe's checkout.session object, whose `customer_details.name` is the name the
  payer gave at checkout (the cardholder), https://docs.stripe.com/api/checkout/sessions/object
  (a real one: flan02/stripe-nextjs15, STRIPE-SUBSCRIPTIONS.md);
- Shopify's orders/paid sample with `customer.first_name`, as stored at
  mobileexpert1/dearbrightly, backend/db_shopify/tests/fixtures_shopify_webhook.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from cozykart.db.inbox_tables import WebhookEvent
from cozykart.db.tables import Racer
from cozykart.integrations import kofi, shopify, stripe_payments
from cozykart.services import outbox
from cozykart.services.reads.pot import live_pot
from tests.integration.webhook_support import (
    KOFI_TOKEN,
    api_client,
    checkout,
    live_race,
    shopify_post,
    stripe_post,
    webhook_settings,
)

SUPPORTER = "Jo Supporter"
CARDHOLDER = "Jenny Rosen"
PRIVATE_NOTE = "Please keep this between us"


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    with database.uow() as uow:  # the DJ on duty receives Ko-fi donations
        racer = uow.session.get(Racer, race.racer_ids[0])
        racer.is_dj = True
        uow.session.add(racer)
        uow.commit()
    with api_client(settings) as client:
        yield database, settings, race, client


def _kofi_donation(*, is_public: bool, message_id: str, transaction_id: str, at) -> bytes:
    """Ko-fi's documented single-donation example, with our token and ids."""
    data = {
        "verification_token": KOFI_TOKEN,
        "message_id": message_id,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "type": "Donation",
        "is_public": is_public,
        "from_name": SUPPORTER,
        "message": PRIVATE_NOTE,
        "amount": "3.00",
        "url": f"https://ko-fi.com/Home/CoffeeShop?txid={transaction_id}",
        "email": "someone@example.com",
        "currency": "USD",
        "is_subscription_payment": False,
        "is_first_subscription_payment": False,
        "kofi_transaction_id": transaction_id,
        "shop_items": None,
        "tier_name": None,
        "shipping": None,
    }
    return urlencode({"data": json.dumps(data)}).encode()


def _post_kofi(client, body: bytes):
    response = client.post("/api/webhooks/kofi", content=body, headers={"Content-Type": kofi.CONTENT_TYPE})
    assert response.status_code == 200 and response.json()["status"] == "applied", response.text
    return response


def _public_text(database, settings, client) -> str:
    """Everything the public can see: the feed, the queued Discord messages, GET /api/pot."""
    feed = live_pot(uow=database.uow(settings)).feed
    announcements = [row.message for row in outbox.list_outbox(uow=database.uow())]
    return json.dumps(
        [[line.fan_name, line.message, line.what] for line in feed]
        + announcements
        + [client.get("/api/pot").json()],
        ensure_ascii=False,
    )


def _stored_facts(database) -> str:
    with database.engine.connect() as connection:
        return json.dumps(connection.execute(select(WebhookEvent.__table__.c.fact)).scalars().all())


def test_a_private_kofi_supporter_is_a_fan_and_their_message_is_never_shown(setup):
    database, settings, race, client = setup
    _post_kofi(
        client,
        _kofi_donation(is_public=False, message_id="m-priv", transaction_id="tx-priv", at=race.started_at),
    )

    (line,) = live_pot(uow=database.uow(settings)).feed
    assert (line.fan_name, line.message) == ("A fan", None)
    (tip,) = [row.message for row in outbox.list_outbox(uow=database.uow()) if row.kind == "dj_tip"]
    assert tip["embeds"][0]["title"] == "🎵 A fan tipped $3.00"
    assert "Message" not in {field["name"] for field in tip["embeds"][0]["fields"]}
    public = _public_text(database, settings, client)
    assert SUPPORTER not in public and PRIVATE_NOTE not in public
    assert SUPPORTER in _stored_facts(database)  # admins still see who paid, in the inbox


def test_a_public_kofi_supporter_is_shown_by_name_with_their_message(setup):
    database, settings, race, client = setup
    _post_kofi(
        client,
        _kofi_donation(is_public=True, message_id="m-pub", transaction_id="tx-pub", at=race.started_at),
    )

    (line,) = live_pot(uow=database.uow(settings)).feed
    assert (line.fan_name, line.message) == (SUPPORTER, PRIVATE_NOTE)


def test_a_private_kofi_shop_order_shows_no_name(setup):
    database, settings, race, client = setup
    body = kofi.event_body(
        verification_token=KOFI_TOKEN,
        message_id="m-shop",
        transaction_id="tx-shop",
        event_type="Shop Order",
        amount="20.00",
        currency="USD",
        from_name=SUPPORTER,
        timestamp=race.started_at + timedelta(minutes=1),
        is_public=False,
        shop_items=[{"direct_link_code": "hoodie", "variation_name": "L", "quantity": 1}],
    )
    _post_kofi(client, body)

    assert SUPPORTER not in _public_text(database, settings, client)


def test_the_stripe_cardholder_name_is_never_the_public_buyer_name(setup):
    database, settings, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    sale = stripe_payments.checkout_completed_event(
        event_id="evt_card",
        session_id="cs_card",
        payment_intent="pi_card",
        amount_cents=2500,
        currency="usd",
        created=int(at.timestamp()),
        metadata={"item": "Rainbow tee"},
        customer_name=CARDHOLDER,
    )
    tip = stripe_payments.checkout_completed_event(
        event_id="evt_form",
        session_id="cs_form",
        payment_intent="pi_form",
        amount_cents=500,
        currency="usd",
        created=int(at.timestamp()),
        customer_name=CARDHOLDER,
        metadata={"kind": "tip", "song": "Coconut Mall", "fan_name": "Toad Fan", "message": "gg!"},
    )
    assert stripe_post(client, sale).json()["status"] == "applied"
    assert stripe_post(client, tip).json()["status"] == "applied"

    feed = live_pot(uow=database.uow(settings)).feed
    assert sorted((line.kind, line.fan_name) for line in feed) == [("sale", "A fan"), ("tip", "Toad Fan")]
    assert CARDHOLDER not in _public_text(database, settings, client)
    assert CARDHOLDER in _stored_facts(database)


def test_a_shopify_customer_name_is_not_shown(setup):
    database, settings, race, client = setup
    order = shopify.order_paid_payload(
        order_id=7001,
        total="25.00",
        currency="USD",
        first_name="Dearbrightly",
        processed_at=race.started_at + timedelta(minutes=1),
        line_items=[{"sku": "TEE", "quantity": 1, "title": "Rainbow tee"}],
    )
    assert shopify_post(client, "orders/paid", order, webhook_id="wh-priv").json()["status"] == "applied"

    (line,) = live_pot(uow=database.uow(settings)).feed
    assert line.fan_name == "A fan"


def test_a_refunded_or_disputed_payment_is_never_shown_beside_a_name(setup):
    database, settings, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    for n in (1, 2):
        named = checkout(f"evt_named{n}", f"pi_named{n}", 2000, at, metadata={"fan_name": f"Named Fan {n}"})
        assert stripe_post(client, named).json()["status"] == "applied"
    refund = stripe_payments.charge_refunded_event(
        event_id="evt_refund",
        charge_id="ch_named1",
        payment_intent="pi_named1",
        amount_cents=2000,
        amount_refunded_cents=500,
        currency="usd",
    )
    dispute = stripe_payments.dispute_event(
        event_id="evt_dispute",
        event_type="charge.dispute.created",
        dispute_id="dp_named2",
        charge_id="ch_named2",
        payment_intent="pi_named2",
        amount_cents=2000,
        currency="usd",
    )
    assert stripe_post(client, refund).json()["status"] == "applied"
    assert stripe_post(client, dispute).json()["status"] == "applied"

    feed = live_pot(uow=database.uow(settings)).feed
    assert sorted((line.reversal, line.fan_name) for line in feed) == [
        ("disputed", "A fan"),
        ("refunded", "A fan"),
    ]

"""Set-up for webhook tests: secrets, a live race run through the league's services,
signed provider requests, and the API served in-process over HTTP (Starlette's TestClient)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from cozykart.api import build_api
from cozykart.integrations import kofi, shopify, stripe_payments
from cozykart.services import league, wallet
from cozykart.settings import Settings

STRIPE_SECRET = "whsec_test_cozykart"
KOFI_TOKEN = "kofi-token-for-tests"
SHOPIFY_SECRET = "shopify-secret-for-tests"
ADMIN_DISCORD_ID = "900000000000000009"


def webhook_settings(database, **overrides) -> Settings:
    values = {
        "db_url": database.url,
        "admin_discord_ids": frozenset({ADMIN_DISCORD_ID}),
        "stripe_webhook_secret": STRIPE_SECRET,
        "kofi_verification_token": KOFI_TOKEN,
        "shopify_webhook_secret": SHOPIFY_SECRET,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class LiveRace:
    race_id: int
    racer_ids: list[int]
    host_id: int
    admin_id: int
    started_at: datetime


def unix(at: datetime) -> int:
    return int(at.timestamp())


def live_race(
    database, settings: Settings, *, racer_count: int = 4, started_at: datetime | None = None
) -> LiveRace:
    """A host opens a lobby, racers join, the host starts it at `started_at`."""
    started_at = started_at or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)

    def person(discord_id: str, name: str) -> int:
        return league.get_or_create_racer(discord_id, name, name, None, uow=database.uow()).racer_id

    admin_id = person(ADMIN_DISCORD_ID, "admin")
    racer_ids = [person(f"70000000000000000{n}", f"racer{n}") for n in range(racer_count)]
    race = league.open_lobby(
        "Toad Circuit", actor_id=admin_id, uow=database.uow(settings), now=started_at - timedelta(minutes=5)
    )
    for racer_id in racer_ids:
        league.join_lobby(
            race.race_id, actor_id=racer_id, uow=database.uow(settings), now=started_at - timedelta(minutes=4)
        )
    league.start_race(race.race_id, actor_id=admin_id, uow=database.uow(settings), now=started_at)
    return LiveRace(race.race_id, racer_ids, admin_id, admin_id, started_at)


def balance(database, code: str) -> int:
    for row in wallet.balances(uow=database.uow()):
        if row.code == code:
            return row.balance_cents
    return 0


def api_client(settings: Settings) -> TestClient:
    return TestClient(build_api(settings), base_url="http://127.0.0.1")


# --- signed requests ---------------------------------------------------------


def stripe_post(
    client: TestClient,
    event: dict,
    *,
    secret: str = STRIPE_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
):
    body = json.dumps(event)
    header = signature if signature is not None else stripe_payments.sign(body, secret, timestamp)
    return client.post(
        "/api/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def checkout(
    event_id: str,
    payment_intent: str,
    amount_cents: int,
    created: datetime,
    *,
    currency: str = "usd",
    metadata: dict | None = None,
) -> dict:
    return stripe_payments.checkout_completed_event(
        event_id=event_id,
        session_id=f"cs_{event_id}",
        payment_intent=payment_intent,
        amount_cents=amount_cents,
        currency=currency,
        created=unix(created),
        metadata=metadata,
        customer_name="Fan Fiona",
    )


def kofi_post(client: TestClient, **fields):
    body = kofi.event_body(**{"verification_token": KOFI_TOKEN, "currency": "USD", **fields})
    return client.post("/api/webhooks/kofi", content=body, headers={"Content-Type": kofi.CONTENT_TYPE})


def shopify_post(
    client: TestClient, topic: str, payload: dict, *, webhook_id: str, secret: str = SHOPIFY_SECRET
):
    body = json.dumps(payload).encode()
    return client.post(
        "/api/webhooks/shopify",
        content=body,
        headers={
            "Content-Type": "application/json",
            shopify.HMAC_HEADER: shopify.signature(body, secret),
            shopify.TOPIC_HEADER: topic,
            shopify.WEBHOOK_ID_HEADER: webhook_id,
        },
    )


def stripe_event(event_id: str, event_type: str, obj: dict, created: datetime) -> dict:
    """A Stripe event envelope (`id`, `type`, `created`: when it happened) around one object."""
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": unix(created),
        "livemode": False,
        "data": {"object": obj},
    }


def delayed_checkout(
    event_id: str,
    payment_intent: str,
    amount_cents: int,
    at: datetime,
    *,
    event_type: str,
    payment_status: str,
    metadata: dict | None = None,
) -> dict:
    """A Checkout event of a delayed payment method (a SEPA debit, ACH, Boleto, OXXO) at `at`."""
    event = stripe_payments.checkout_completed_event(
        event_id=event_id,
        session_id=f"cs_{payment_intent}",
        payment_intent=payment_intent,
        amount_cents=amount_cents,
        currency="usd",
        created=unix(at),
        metadata=metadata,
    )
    event["type"] = event_type
    event["data"]["object"].update(payment_status=payment_status, created=unix(at) - 60)
    return event


def opened_checkout(
    event_id: str,
    payment_intent: str,
    amount_cents: int,
    *,
    opened: datetime,
    paid: datetime,
    metadata: dict | None = None,
) -> dict:
    """A card payment: the session opened at `opened`, the checkout completed (paid) at `paid`."""
    event = stripe_payments.checkout_completed_event(
        event_id=event_id,
        session_id=f"cs_{event_id}",
        payment_intent=payment_intent,
        amount_cents=amount_cents,
        currency="usd",
        created=unix(paid),
        metadata=metadata,
    )
    event["data"]["object"]["created"] = unix(opened)
    return event

"""Signed test events posted to a running server, like a provider's own trigger command.

`python -m cozykart trigger sale --amount 25.00 --url http://localhost:8000`
builds the payload the provider would send, signs it with the configured secret
and posts it to `/api/webhooks/<provider>`, for demos and manual tests.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.money import parse_amount_cents
from cozykart.integrations import kofi, shopify, stripe_payments
from cozykart.settings import Settings

ACTIONS = ("sale", "tip", "refund", "dispute")
POST_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class TriggerRequest:
    action: str
    provider: str
    url: str
    amount: str
    payment: str | None = None
    item: str = "Cozy-Kart tee"
    sku: str | None = None
    song: str = "Coconut Mall"
    message: str | None = None
    fan_name: str = "Fan Fiona"
    dj: str | None = None
    at: datetime | None = None
    won: bool = False


@dataclass(frozen=True)
class TriggerResult:
    endpoint: str
    payment: str
    status_code: int
    body: str


def _endpoint(url: str, provider: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInput(f"--url must be an http(s) URL like http://localhost:8000, not {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith(f"/api/webhooks/{provider}"):
        path = f"{path}/api/webhooks/{provider}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _secret(settings: Settings, provider: str) -> str:
    secret = {
        "stripe": settings.stripe_webhook_secret,
        "kofi": settings.kofi_verification_token,
        "shopify": settings.shopify_webhook_secret,
    }[provider]
    if not secret:
        variable = {
            "stripe": "STRIPE_WEBHOOK_SECRET",
            "kofi": "KOFI_VERIFICATION_TOKEN",
            "shopify": "SHOPIFY_WEBHOOK_SECRET",
        }[provider]
        raise InvalidInput(f"set {variable} (the same value the server uses) to sign {provider} events")
    return secret


def build(request: TriggerRequest, settings: Settings) -> tuple[str, bytes, dict[str, str]]:
    """The payment id, the body and the headers the provider would send."""
    if request.action not in ACTIONS:
        raise InvalidInput(f"the action is one of {', '.join(ACTIONS)}")
    amount_cents = parse_amount_cents(request.amount)
    secret = _secret(settings, request.provider)
    at = request.at or datetime.now(UTC)
    token = secrets.token_hex(6)
    if request.action in {"refund", "dispute"} and not request.payment:
        raise InvalidInput(f"--payment is required for a {request.action}: the id a sale or tip printed")
    builder = {"stripe": _stripe, "kofi": _kofi, "shopify": _shopify}[request.provider]
    return builder(request, amount_cents, secret, at, token)


def _stripe(request: TriggerRequest, amount_cents: int, secret: str, at: datetime, token: str):
    currency = "usd"
    payment = request.payment or f"pi_{token}"
    created = int(at.timestamp())
    if request.action in {"sale", "tip"}:
        metadata = (
            {"item": request.item}
            if request.action == "sale"
            else {
                "kind": "tip",
                "song": request.song,
                "fan_name": request.fan_name,
                **({"message": request.message} if request.message else {}),
                **({"dj": request.dj} if request.dj else {}),
            }
        )
        if request.sku and request.action == "sale":
            metadata["sku"] = request.sku
        event = stripe_payments.checkout_completed_event(
            event_id=f"evt_{token}",
            session_id=f"cs_{token}",
            payment_intent=payment,
            amount_cents=amount_cents,
            currency=currency,
            created=created,
            metadata=metadata,
            customer_name=request.fan_name,
        )
    elif request.action == "refund":
        event = stripe_payments.charge_refunded_event(
            event_id=f"evt_{token}",
            charge_id=f"ch_{payment}",
            payment_intent=payment,
            amount_cents=amount_cents,
            amount_refunded_cents=amount_cents,
            currency=currency,
            created=created,
        )
    else:
        event = stripe_payments.dispute_event(
            event_id=f"evt_{token}",
            event_type="charge.dispute.funds_reinstated" if request.won else "charge.dispute.created",
            dispute_id=f"dp_{payment}",
            charge_id=f"ch_{payment}",
            payment_intent=payment,
            amount_cents=amount_cents,
            currency=currency,
            created=created,
        )
    body = json.dumps(event)
    headers = {"Content-Type": "application/json", "Stripe-Signature": stripe_payments.sign(body, secret)}
    return payment, body.encode(), headers


def _kofi(request: TriggerRequest, amount_cents: int, secret: str, at: datetime, token: str):
    if request.action not in {"sale", "tip"}:
        raise InvalidInput("Ko-fi sends shop orders and donations only; use --provider stripe or shopify")
    payment = request.payment or f"kofi-{token}"
    units, cents = divmod(amount_cents, 100)
    body = kofi.event_body(
        verification_token=secret,
        message_id=f"msg-{token}",
        transaction_id=payment,
        event_type="Shop Order" if request.action == "sale" else "Donation",
        amount=f"{units}.{cents:02d}",
        currency="USD",
        from_name=request.fan_name,
        message=request.message,
        timestamp=at,
        shop_items=[{"direct_link_code": request.sku or "tee", "variation_name": "", "quantity": 1}]
        if request.action == "sale"
        else None,
    )
    return payment, body, {"Content-Type": kofi.CONTENT_TYPE}


def _shopify(request: TriggerRequest, amount_cents: int, secret: str, at: datetime, token: str):
    if request.action not in {"sale", "refund"}:
        raise InvalidInput("Shopify sends paid orders and refunds only; use --provider stripe or kofi")
    order_id = int(request.payment) if request.payment and request.payment.isdigit() else int(token, 16)
    units, cents = divmod(amount_cents, 100)
    if request.action == "sale":
        topic = "orders/paid"
        payload = shopify.order_paid_payload(
            order_id=order_id,
            total=f"{units}.{cents:02d}",
            currency="USD",
            processed_at=at,
            line_items=[{"sku": request.sku or "TEE", "quantity": 1, "title": request.item}],
        )
    else:
        topic = "refunds/create"
        payload = shopify.refund_payload(
            refund_id=int(token, 16),
            order_id=order_id,
            amount=f"{units}.{cents:02d}",
            currency="USD",
            created_at=at,
        )
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        shopify.HMAC_HEADER: shopify.signature(body, secret),
        shopify.TOPIC_HEADER: topic,
        shopify.WEBHOOK_ID_HEADER: f"wh-{token}",
    }
    return str(order_id), body, headers


def send(request: TriggerRequest, settings: Settings) -> TriggerResult:
    endpoint = _endpoint(request.url, request.provider)
    payment, body, headers = build(request, settings)
    try:
        response = httpx.post(endpoint, content=body, headers=headers, timeout=POST_TIMEOUT_S)
    except httpx.HTTPError as error:
        raise InvalidInput(f"could not reach {endpoint}: {type(error).__name__}") from None
    return TriggerResult(
        endpoint=endpoint, payment=payment, status_code=response.status_code, body=response.text
    )

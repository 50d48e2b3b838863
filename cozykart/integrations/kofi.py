"""Ko-fi: a form post whose field `data` is JSON carrying the verification token.

`Shop Order` is a merch sale; `Donation` is a tip to the DJ on duty. The token
is compared in constant time. A supporter is shown by their `from_name` (and
message) only when Ko-fi says `is_public: true`; anything else keeps them private,
as Ko-fi asks of anyone showing payments publicly.
"""

from __future__ import annotations

import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from cozykart.domain.payments import (
    Ignored,
    MalformedWebhook,
    PaymentFact,
    Sale,
    Tip,
    VerifiedEvent,
    WebhookRejected,
    decimal_amount_cents,
    instant_from_iso,
)
from cozykart.integrations._fields import mapping, optional_text, text

CONTENT_TYPE = "application/x-www-form-urlencoded"
DEFAULT_SONG = "a song of the DJ's choice"


def parse_webhook(body: bytes, verification_token: str) -> VerifiedEvent:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise MalformedWebhook("body is not a form") from None
    raw = form.get("data")
    if not raw:
        raise MalformedWebhook("form field data is missing")
    try:
        data = mapping(json.loads(raw[0]), "data")
    except ValueError:
        raise MalformedWebhook("form field data is not JSON") from None
    token = data.get("verification_token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), verification_token.encode()):
        raise WebhookRejected("verification token does not match")
    event_type = text(data, "type", "data")
    return VerifiedEvent(
        provider="kofi",
        event_id=text(data, "message_id", "data"),
        event_type=event_type,
        fact=_fact(event_type, data),
    )


def _fact(event_type: str, data: dict[str, Any]) -> PaymentFact:
    currency = text(data, "currency", "data").upper()
    if event_type not in {"Shop Order", "Donation"}:
        return Ignored(currency=currency, reason=f"Ko-fi {event_type} is not used")
    payment_key = f"kofi:{text(data, 'kofi_transaction_id', 'data')}"
    amount_cents = decimal_amount_cents(data.get("amount"), "data.amount")
    at = instant_from_iso(data.get("timestamp"), "data.timestamp")
    payer_name = optional_text(data, "from_name")
    private = data.get("is_public") is not True
    fan = {"fan_name": None if private else payer_name, "payer_name": payer_name, "private": private}
    if event_type == "Donation":
        return Tip(
            currency=currency,
            payment_key=payment_key,
            tip_cents=amount_cents,
            tipped_at=at,
            song=DEFAULT_SONG,
            message=optional_text(data, "message"),
            **fan,
        )
    items = data.get("shop_items") if isinstance(data.get("shop_items"), list) else []
    skus = tuple(
        (item["direct_link_code"], int(item.get("quantity") or 1))
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("direct_link_code"), str)
        and isinstance(item.get("quantity", 1), int)
    )
    return Sale(
        currency=currency,
        payment_key=payment_key,
        gross_cents=amount_cents,
        sold_at=at,
        item=f"Ko-fi shop order ({sum(q for _, q in skus) or 1} item{'s' if sum(q for _, q in skus) > 1 else ''})",
        skus=skus,
        **fan,
    )


# --- test events -------------------------------------------------------------


def event_body(
    *,
    verification_token: str,
    message_id: str,
    transaction_id: str,
    event_type: str,
    amount: str,
    currency: str,
    from_name: str = "A fan",
    message: str | None = None,
    timestamp: datetime | None = None,
    shop_items: list[dict[str, Any]] | None = None,
    is_public: bool = True,
) -> bytes:
    """A form body as Ko-fi posts it."""
    at = timestamp or datetime.fromtimestamp(int(time.time()), UTC)
    data = {
        "verification_token": verification_token,
        "message_id": message_id,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "type": event_type,
        "is_public": is_public,
        "from_name": from_name,
        "message": message,
        "amount": amount,
        "url": "https://ko-fi.example/Home/CoffeeShop?txid=" + transaction_id,
        "email": "fan@example.org",
        "currency": currency,
        "is_subscription_payment": False,
        "is_first_subscription_payment": False,
        "kofi_transaction_id": transaction_id,
        "shop_items": shop_items,
        "tier_name": None,
    }
    return urlencode({"data": json.dumps(data)}).encode()

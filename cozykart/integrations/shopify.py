"""Shopify: the base64 HMAC-SHA256 of the raw body in `X-Shopify-Hmac-Sha256`.

`orders/paid` is a sale (its line items' SKUs give the manufacturing cost when
costs are configured); `refunds/create` is a refund of that order. The
customer's name is the shopper's real name, kept for admins, never shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from cozykart.domain.payments import (
    Ignored,
    MalformedWebhook,
    PaymentFact,
    Refund,
    Sale,
    VerifiedEvent,
    WebhookRejected,
    decimal_amount_cents,
    instant_from_iso,
)
from cozykart.integrations._fields import identifier, mapping, optional_text, text

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def parse_webhook(body: bytes, headers: dict[str, str], secret: str) -> VerifiedEvent:
    given = headers.get(HMAC_HEADER.lower())
    if not given:
        raise WebhookRejected(f"missing {HMAC_HEADER} header")
    if not hmac.compare_digest(given.strip().encode(), signature(body, secret).encode()):
        raise WebhookRejected("signature does not match")
    topic = headers.get(TOPIC_HEADER.lower(), "").strip()
    webhook_id = headers.get(WEBHOOK_ID_HEADER.lower(), "").strip()
    if not topic or not webhook_id:
        raise MalformedWebhook(f"missing {TOPIC_HEADER} or {WEBHOOK_ID_HEADER} header")
    try:
        payload = mapping(json.loads(body), "body")
    except ValueError:
        raise MalformedWebhook("body is not JSON") from None
    return VerifiedEvent(
        provider="shopify", event_id=webhook_id, event_type=topic, fact=_fact(topic, payload)
    )


def _fact(topic: str, payload: dict[str, Any]) -> PaymentFact:
    if topic == "orders/paid":
        items = payload.get("line_items") if isinstance(payload.get("line_items"), list) else []
        skus = tuple(
            (item["sku"], item["quantity"])
            for item in items
            if isinstance(item, dict)
            and isinstance(item.get("sku"), str)
            and item["sku"]
            and isinstance(item.get("quantity"), int)
            and not isinstance(item.get("quantity"), bool)
        )
        titles = [optional_text(item, "title") for item in items if isinstance(item, dict)]
        customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
        return Sale(
            currency=text(payload, "currency", "order").upper(),
            payment_key=f"shopify:{identifier(payload, 'id', 'order')}",
            gross_cents=decimal_amount_cents(payload.get("total_price"), "order.total_price"),
            sold_at=instant_from_iso(
                payload.get("processed_at") or payload.get("created_at"), "order.processed_at"
            ),
            item=", ".join(title for title in titles if title) or "Shopify order",
            payer_name=optional_text(customer, "first_name"),
            skus=skus,
        )
    if topic == "refunds/create":
        transactions = [
            t
            for t in payload.get("transactions") or []
            if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status", "success") == "success"
        ]
        if not transactions:
            return Ignored(currency="", reason="refund has no successful refund transaction")
        return Refund(
            currency=_refund_currency(payload, transactions[0]),
            payment_key=f"shopify:{identifier(payload, 'order_id', 'refund')}",
            refund_key=f"shopify:{identifier(payload, 'id', 'refund')}",
            amount_cents=sum(
                decimal_amount_cents(t.get("amount"), "refund.transactions.amount") for t in transactions
            ),
            refunded_at=instant_from_iso(payload.get("created_at"), "refund.created_at"),
        )
    return Ignored(currency=str(payload.get("currency") or "").upper(), reason=f"Shopify {topic} is not used")


def _refund_currency(payload: dict[str, Any], transaction: dict[str, Any]) -> str:
    """The refund's currency: its transaction's, or (Shopify's documented `refunds/create` sample sends
    `"currency": null` on its transactions) the shop currency its refunded lines are priced in."""
    if currency := optional_text(transaction, "currency"):
        return currency.upper()
    for line in payload.get("refund_line_items") or []:
        subtotal = mapping(
            mapping(line, "refund_line_items[]").get("subtotal_set"), "refund line subtotal_set"
        )
        if currency := optional_text(
            mapping(subtotal.get("shop_money"), "subtotal_set.shop_money"), "currency_code"
        ):
            return currency.upper()
    raise MalformedWebhook("refund.transactions[0].currency is missing")


# --- test events -------------------------------------------------------------


def order_paid_payload(
    *,
    order_id: int,
    total: str,
    currency: str,
    line_items: list[dict[str, Any]],
    first_name: str = "Alex",
    processed_at: datetime | None = None,
) -> dict[str, Any]:
    at = (processed_at or datetime.now(UTC)).isoformat()
    return {
        "id": order_id,
        "name": f"#{order_id % 100000}",
        "created_at": at,
        "processed_at": at,
        "currency": currency,
        "total_price": total,
        "financial_status": "paid",
        "line_items": line_items,
        "customer": {"first_name": first_name},
    }


def refund_payload(
    *, refund_id: int, order_id: int, amount: str, currency: str, created_at: datetime | None = None
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "transactions": [{"kind": "refund", "status": "success", "amount": amount, "currency": currency}],
    }

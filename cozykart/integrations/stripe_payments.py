"""Stripe: verifying and reading webhooks, signing test events like `stripe trigger`, and
starting Checkout Sessions (through the SDK, on STRIPE_API_BASE when set).

Verification uses the SDK's `WebhookSignature.verify_header` with its default
tolerance (300 s) and the body is parsed once with `json.loads`: the SDK's
`construct_event` builds a whole object tree and costs far more than the check
itself (measured: 0.69 ms a call, of which the signature check is 22 us and
`json.loads` 23 us; ~830 webhooks/s through `construct_event` alone against
~2,600/s through `verify_header` + `json.loads`).

When a sale counts (docs/LEDGER.md): a completed Checkout is dated by the
event's `created`, the moment the checkout completed and the fan paid, never by
the session's `created` (when the checkout page opened, up to 24 hours before).
A delayed method (bank debit, voucher) completes `unpaid`: that is recorded as
`CheckoutPending`, and `checkout.session.async_payment_succeeded` is the sale,
counted in the race live when the checkout completed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe

from cozykart.domain.payments import (
    NOTHING_PAID,
    AccountUpdated,
    CheckoutFailed,
    CheckoutPending,
    DisputeOpened,
    DisputeWon,
    Ignored,
    MalformedWebhook,
    PaymentFact,
    Refund,
    Sale,
    Tip,
    TransferReversed,
    VerifiedEvent,
    WebhookRejected,
    instant_from_unix,
)
from cozykart.integrations._fields import cents, identifier, mapping, optional_text, text

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_S = stripe.Webhook.DEFAULT_TOLERANCE
DEFAULT_SONG = "a song of the DJ's choice"
DEFAULT_ITEM = "merch"
CHECKOUT_COMPLETED = "checkout.session.completed"
ASYNC_PAYMENT_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_PAYMENT_FAILED = "checkout.session.async_payment_failed"
# Stripe Connect: a payout's transfer taken back, and what a racer's connected account can do now.
# (Transfers have no `failed` event: Stripe refuses a transfer it cannot make when it is created.)
TRANSFER_REVERSED = "transfer.reversed"
ACCOUNT_UPDATED = "account.updated"


def parse_webhook(body: bytes, signature_header: str | None, secret: str) -> VerifiedEvent:
    """Verify a Stripe delivery and say what it means; raises WebhookRejected or MalformedWebhook."""
    if not signature_header:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedWebhook("body is not UTF-8") from None
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance=TOLERANCE_S)
    except stripe.SignatureVerificationError as error:
        reason = (
            "timestamp outside the tolerance" if "tolerance" in str(error) else "signature does not match"
        )
        raise WebhookRejected(reason) from None
    try:
        event = mapping(json.loads(payload), "event")
    except ValueError:
        raise MalformedWebhook("body is not JSON") from None
    event_type = text(event, "type", "event")
    data = mapping(event.get("data"), "event.data")
    obj = mapping(data.get("object"), "event.data.object")
    return VerifiedEvent(
        provider="stripe",
        event_id=text(event, "id", "event"),
        event_type=event_type,
        fact=_fact(event_type, obj, event),
    )


def _currency(obj: dict[str, Any]) -> str:
    return text(obj, "currency", "object").upper()


def _id_of(value: object) -> str | None:
    """An id Stripe sends as a string, or inside an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _payment_key(obj: dict[str, Any], what: str, charge_id: str | None = None) -> str:
    """`stripe:<payment_intent>` when the object names one; else `stripe:<charge id>` (a Charges-API
    payment has `payment_intent: null`); else the object's own id."""
    payment_intent = _id_of(obj.get("payment_intent"))
    if payment_intent:
        return f"stripe:{payment_intent}"
    if charge_id:
        return f"stripe:{charge_id}"
    return f"stripe:{identifier(obj, 'id', what)}"


def _session_charge_key(session: dict[str, Any]) -> str | None:
    """The charge of a checkout session's payment, when the payload has it (an expanded payment intent)."""
    payment_intent = session.get("payment_intent")
    if not isinstance(payment_intent, dict):
        return None
    charge_id = _id_of(payment_intent.get("latest_charge"))
    return f"stripe:{charge_id}" if charge_id else None


def _fact(event_type: str, obj: dict[str, Any], event: dict[str, Any]) -> PaymentFact:
    if event_type in (CHECKOUT_COMPLETED, ASYNC_PAYMENT_SUCCEEDED):
        return _checkout(obj, event_type, instant_from_unix(event.get("created"), "event.created"))
    if event_type == ASYNC_PAYMENT_FAILED:
        return Ignored(currency=_currency(obj), reason="the delayed payment failed; nothing was paid")
    if event_type == "charge.refunded":
        return Refund(
            currency=_currency(obj),
            payment_key=_payment_key(obj, "charge", identifier(obj, "id", "charge")),
            refund_key=f"stripe:{identifier(obj, 'id', 'charge')}:refunded:{cents(obj, 'amount_refunded', 'charge')}",
            amount_cents=cents(obj, "amount_refunded", "charge"),
            refunded_at=instant_from_unix(event.get("created"), "event.created"),
            cumulative=True,
        )
    if event_type == "charge.dispute.created":
        return DisputeOpened(
            currency=_currency(obj),
            payment_key=_payment_key(obj, "dispute", _id_of(obj.get("charge"))),
            dispute_key=f"stripe:{identifier(obj, 'id', 'dispute')}",
            amount_cents=cents(obj, "amount", "dispute"),
            opened_at=instant_from_unix(obj.get("created"), "dispute.created"),
        )
    if event_type == "charge.dispute.funds_reinstated":
        return DisputeWon(
            currency=_currency(obj),
            payment_key=_payment_key(obj, "dispute", _id_of(obj.get("charge"))),
            dispute_key=f"stripe:{identifier(obj, 'id', 'dispute')}",
            reinstated_at=instant_from_unix(event.get("created"), "event.created"),
        )
    if event_type == TRANSFER_REVERSED:
        return TransferReversed(
            currency=_currency(obj),
            transfer_key=identifier(obj, "id", "transfer"),
            reversed_total_cents=cents(obj, "amount_reversed", "transfer"),
            reversed_at=instant_from_unix(event.get("created"), "event.created"),
        )
    if event_type == ACCOUNT_UPDATED:
        capabilities = obj.get("capabilities") if isinstance(obj.get("capabilities"), dict) else {}
        return AccountUpdated(  # read as integrations.stripe_connect.account_of reads an account
            currency=str(obj.get("default_currency") or "").upper(),
            account_key=identifier(obj, "id", "account"),
            can_receive_transfers=capabilities.get("transfers") == "active",
            payouts_enabled=obj.get("payouts_enabled") is True,
        )
    return Ignored(currency=str(obj.get("currency") or "").upper(), reason=f"{event_type} is not used")


def _checkout(session: dict[str, Any], event_type: str, completed_at: datetime) -> PaymentFact:
    """A completed (or, for a delayed method, later paid) Checkout Session: a sale, a tip, or nothing yet.

    `completed_at` is the event's `created`: when the checkout completed (the fan paid), or for
    `async_payment_succeeded` when the delayed payment succeeded.
    """
    currency = _currency(session)
    payment_status = session.get("payment_status")
    if payment_status == "no_payment_required":
        return Ignored(currency=currency, reason=NOTHING_PAID)
    if event_type == CHECKOUT_COMPLETED and payment_status == "unpaid":
        return CheckoutPending(
            currency=currency,
            payment_key=_payment_key(session, "checkout session"),
            completed_at=completed_at,
        )
    if payment_status != "paid":
        return Ignored(currency=currency, reason="checkout session is not paid")
    metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
    customer = session.get("customer_details") if isinstance(session.get("customer_details"), dict) else {}
    # Only the name the fan typed into the app's own form (metadata the app set) is shown;
    # customer_details.name is the cardholder's real name, for admins only.
    payment = {
        "currency": currency,
        "payment_key": _payment_key(session, "checkout session"),
        "fan_name": optional_text(metadata, "fan_name"),
        "payer_name": optional_text(customer, "name"),
        "delayed_payment": event_type == ASYNC_PAYMENT_SUCCEEDED,
        "charge_key": _session_charge_key(session),
    }
    amount_cents = cents(session, "amount_total", "checkout session")
    if metadata.get("kind") == "tip":
        return Tip(
            tip_cents=amount_cents,
            tipped_at=completed_at,
            song=optional_text(metadata, "song") or DEFAULT_SONG,
            message=optional_text(metadata, "message"),
            dj=optional_text(metadata, "dj"),
            **payment,
        )
    return Sale(
        gross_cents=amount_cents,
        sold_at=completed_at,
        item=optional_text(metadata, "item") or DEFAULT_ITEM,
        skus=((metadata["sku"], 1),) if isinstance(metadata.get("sku"), str) else (),
        **payment,
    )


# --- test events, signed like Stripe's own -----------------------------------


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload`."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def checkout_completed_event(
    *,
    event_id: str,
    session_id: str,
    payment_intent: str,
    amount_cents: int,
    currency: str,
    created: int | None = None,
    metadata: dict[str, str] | None = None,
    customer_name: str | None = None,
) -> dict[str, Any]:
    created = created or int(time.time())
    return {
        "id": event_id,
        "object": "event",
        "type": CHECKOUT_COMPLETED,
        "created": created,
        "livemode": False,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "mode": "payment",
                "amount_subtotal": amount_cents,
                "amount_total": amount_cents,
                "currency": currency.lower(),
                "created": created,
                "payment_intent": payment_intent,
                "payment_status": "paid",
                "status": "complete",
                "customer_details": {"name": customer_name} if customer_name else None,
                "metadata": metadata or {},
            }
        },
    }


def charge_refunded_event(
    *,
    event_id: str,
    charge_id: str,
    payment_intent: str,
    amount_cents: int,
    amount_refunded_cents: int,
    currency: str,
    created: int | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "charge.refunded",
        "created": created or int(time.time()),
        "data": {
            "object": {
                "id": charge_id,
                "object": "charge",
                "amount": amount_cents,
                "amount_refunded": amount_refunded_cents,
                "currency": currency.lower(),
                "payment_intent": payment_intent,
                "refunded": amount_refunded_cents >= amount_cents,
            }
        },
    }


def dispute_event(
    *,
    event_id: str,
    event_type: str,
    dispute_id: str,
    charge_id: str,
    payment_intent: str,
    amount_cents: int,
    currency: str,
    created: int | None = None,
) -> dict[str, Any]:
    created = created or int(time.time())
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {
            "object": {
                "id": dispute_id,
                "object": "dispute",
                "amount": amount_cents,
                "currency": currency.lower(),
                "charge": charge_id,
                "payment_intent": payment_intent,
                "created": created,
                "status": "won" if event_type.endswith("funds_reinstated") else "needs_response",
            }
        },
    }


# --- Checkout: starting a payment -------------------------------------------

CHECKOUT_TIMEOUT_S = 10
CHECKOUT_NETWORK_RETRIES_MAX = 1
METADATA_VALUE_LENGTH_MAX = 500  # Stripe's own limit per metadata value


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


def stripe_client(api_key: str, api_base: str | None) -> stripe.StripeClient:
    """A Stripe client for one request: the official API, or `api_base` (STRIPE_API_BASE) when set."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base.rstrip("/")} if api_base else None,
        max_network_retries=CHECKOUT_NETWORK_RETRIES_MAX,
        http_client=stripe.HTTPXClient(timeout=CHECKOUT_TIMEOUT_S, allow_sync_methods=True),
    )


def create_checkout_session(
    *,
    api_key: str,
    api_base: str | None,
    amount_cents: int,
    currency: str,
    product_name: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CheckoutSession:
    """A one-item Stripe Checkout Session for `amount_cents`; its `url` is where the payer goes.

    The metadata travels back in `checkout.session.completed`, where `_checkout`
    reads it (a tip carries kind=tip, dj, song, message, fan_name).
    """
    assert isinstance(amount_cents, int) and amount_cents > 0, amount_cents
    assert all(len(value) <= METADATA_VALUE_LENGTH_MAX for value in metadata.values())
    client = stripe_client(api_key, api_base)
    try:
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": currency.lower(),
                            "unit_amount": amount_cents,
                            "product_data": {"name": product_name},
                        },
                    }
                ],
                "metadata": metadata,
                "payment_intent_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise CheckoutFailed(
            "Stripe could not start the checkout"
            + (f" ({error.user_message})" if getattr(error, "user_message", None) else "")
            + "; nothing was charged. Try again in a minute."
        ) from None
    url = getattr(session, "url", None)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise CheckoutFailed("Stripe answered without a checkout page; nothing was charged. Try again.")
    return CheckoutSession(session_id=str(session.id), url=url)

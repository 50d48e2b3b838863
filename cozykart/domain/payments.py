"""Money in: what a provider's verified webhook means, whatever the provider.

The integrations turn Stripe, Ko-fi and Shopify payloads into one of these
facts; the webhook service stores the fact in the inbox and applies it to the
ledger. `payment_key` names the payment itself ("stripe:pi_...",
"kofi:<transaction id>", "shopify:<order id>"), so every event that describes
one payment (a completed checkout, its refunds, its disputes) points at the same
ledger record, and a payment is never counted twice.

A Stripe payment key is `stripe:<payment_intent>` when the object names one,
else `stripe:<charge id>` (a Charges-API payment has `payment_intent: null`); a
sale that also knows its charge carries it as `charge_key`, so a refund or
dispute that names only the charge still meets its sale.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import urlsplit

from cozykart.domain.errors import Conflict, CozyKartError, InvalidInput, NotFound, Unavailable
from cozykart.domain.money import AMOUNT_CENTS_MAX, CENTS_PER_UNIT, format_cents

PROVIDERS = ("stripe", "kofi", "shopify")
EVENT_ID_LENGTH_MAX = 200
KEY_LENGTH_MAX = 150  # a payment, refund or dispute key (the ledger's idempotency keys hold no more)
# What a recorded payment keeps of the words it came with (longer text is cut, not refused):
ITEM_LENGTH_MAX = 120  # the product sold, or the song tipped for
FAN_NAME_LENGTH_MAX = 80
MESSAGE_LENGTH_MAX = 500  # a tip's message
PROVIDER_LENGTH_MAX = 20
SITE_URL_LENGTH_MAX = 300  # the page address a provider sends the browser back to
NOTHING_PAID = "nothing was paid"


class InboxStatus(StrEnum):
    """Where a stored webhook event stands (the inbox row's `status`, stored as its text)."""

    RECEIVED = "received"  # stored, not tried yet (never seen after the transaction that stores it)
    APPLIED = "applied"
    WAITING = "waiting"  # needs a payment not seen yet
    FAILED = "failed"
    IGNORED = "ignored"
    FLAGGED = "flagged"  # another currency: stored, never applied


RETRYABLE_INBOX_STATUSES = (InboxStatus.WAITING, InboxStatus.FAILED)

# ASCII digits only: `\d` and `int()` also take Arabic-Indic or full-width digits (U+0663, U+FF13).
_DECIMAL_AMOUNT = re.compile(r"^(?P<units>[0-9]{1,9})(?:\.(?P<fraction>[0-9]{1,2}))?$", re.ASCII)


class WebhookRejected(CozyKartError):
    """The request is not provably from the provider (signature, token or timestamp)."""


class MalformedWebhook(InvalidInput):
    """A payload that cannot be read, lacks a field it must have, or has one of the wrong shape."""


class CheckoutNotSeen(NotFound):
    """A delayed payment succeeded before its checkout's completion arrived: it waits for it."""


class NotReplayable(Conflict):
    """Only a failed or waiting webhook event can be replayed."""


class NoDjOnDuty(Unavailable):
    """A tip arrived but no racer has the DJ role to receive it."""


class TipsUnavailable(Unavailable):
    """Tipping is not set up on this deployment (or no racer is DJ)."""


class CheckoutFailed(Unavailable):
    """Stripe did not start the checkout; the message says what to do."""


class StripeConnectFailed(Unavailable):
    """Stripe refused or could not be reached for a racer's payout account or transfer."""


class StripeTransferRefused(StripeConnectFailed):
    """Stripe answered a transfer with a refusal (a 4xx): it made no transfer."""


class DemoTipsInProduction(CozyKartError):
    """Demo tips are switched on in production mode; the app refuses to start."""


class StoredMeanwhile(Exception):
    """Another transaction stored the same provider event first: the inbox's unique key refused ours.

    Not a CozyKartError: nothing is wrong with the event; the inbox answers with the stored one.
    """


def provider_cents(value: object, what: str) -> int:
    """A provider's amount in cents: a whole number from 0 to `AMOUNT_CENTS_MAX`; nothing else.

    The one range check of money arriving by webhook: an amount outside it is a
    malformed event (refused at the door, or parked without retries if stored).
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedWebhook(f"{what} is not a whole number of cents")
    if value > AMOUNT_CENTS_MAX:
        raise MalformedWebhook(f"{what} is above the limit of {format_cents(AMOUNT_CENTS_MAX)}")
    return value


def decimal_amount_cents(text: object, what: str) -> int:
    """Cents from a provider's decimal string ("25.00", "3", "3.5") in ASCII digits; nothing looser."""
    if not isinstance(text, str):
        raise MalformedWebhook(f"{what} is not a decimal amount")
    match = _DECIMAL_AMOUNT.match(text.strip())
    if match is None:
        raise MalformedWebhook(f"{what} is not a decimal amount")
    fraction = (match["fraction"] or "").ljust(2, "0")
    return provider_cents(int(match["units"]) * CENTS_PER_UNIT + int(fraction), what)


def instant_from_unix(value: object, what: str) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise MalformedWebhook(f"{what} is not a Unix timestamp")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedWebhook(f"{what} is not a Unix timestamp") from None


def instant_from_iso(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedWebhook(f"{what} is not a timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedWebhook(f"{what} is not a timestamp") from None
    if parsed.tzinfo is None:
        raise MalformedWebhook(f"{what} has no time zone")
    return parsed.astimezone(UTC)


def site_origin(site_url: str) -> str:
    """The scheme and host of the page's address, checked: where a provider sends the browser back
    (Checkout's success and cancel URLs, Connect onboarding's return and refresh URLs)."""
    parts = urlsplit(site_url or "")
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(site_url) > SITE_URL_LENGTH_MAX:
        raise InvalidInput("The page's address could not be read; reload the page and try again.")
    return f"{parts.scheme}://{parts.netloc}"


def require_key(key: str) -> str:
    """An idempotency key as the ledger stores it: 1 to KEY_LENGTH_MAX characters, spaces trimmed."""
    if not isinstance(key, str) or not key.strip() or len(key) > KEY_LENGTH_MAX:
        raise InvalidInput(f"An idempotency key of 1 to {KEY_LENGTH_MAX} characters is required.")
    return key.strip()


def _is_key(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= KEY_LENGTH_MAX


@dataclass(frozen=True)
class PaymentFact:
    """Base of every fact; `kind` names the subclass in the inbox."""

    kind: ClassVar[str] = ""
    moves_money: ClassVar[bool] = True  # False: a fact about an account, in no currency
    currency: str

    def __post_init__(self) -> None:
        # Every amount (a field named *_cents) and key (*_key), checked when a fact is made: parsed or
        # read back from the inbox. A key too long for the ledger can never be applied.
        for each in fields(self):
            value = getattr(self, each.name)
            if each.name.endswith("_cents"):
                provider_cents(value, f"the amount {each.name}")
            elif each.name.endswith("_key") and value is not None and not _is_key(value):
                raise MalformedWebhook(f"the {each.name} is not an id of 1 to {KEY_LENGTH_MAX} characters")

    def to_record(self) -> dict[str, Any]:
        """The fact as JSON-ready values (the inbox stores it for retries and replays).

        `asdict` deep-copies every value, a tenth of a sale's CPU in the webhook writer;
        the fields are immutable (strings, numbers, instants, tuples), so they are read
        as they are, and only a nested dataclass goes through `asdict`.
        """
        record: dict[str, Any] = {"kind": self.kind}
        for each in fields(self):
            value = getattr(self, each.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif is_dataclass(value):
                value = asdict(value)  # type: ignore[arg-type]
            record[each.name] = value
        return record


class FanFacts:
    """Who paid, and what of it may be shown in public (the Watch feed, overlays, Discord).

    A sale or tip carries three fields about its fan. `fan_name` is only ever a
    display name the fan chose to be shown by: the tip form's name (checkout
    metadata the app set itself) or Ko-fi's `from_name` when `is_public` is true.
    `payer_name` is the name the provider knows the payer by (a cardholder, a shop
    customer, a private Ko-fi supporter): kept in the inbox for admins, never
    shown. `private` is a supporter's request to stay private: neither their name
    nor their message is shown.
    """

    fan_name: str | None
    private: bool

    @property
    def public_name(self) -> str | None:
        """The name public surfaces may show (None: they say "A fan")."""
        return None if self.private else self.fan_name


@dataclass(frozen=True)
class Sale(FanFacts, PaymentFact):
    """A fan bought merch; `sold_at` is when they paid (docs/LEDGER.md, "When a sale counts").

    `delayed_payment`: paid by a delayed method (a bank debit, a voucher), so
    `sold_at` is when the payment succeeded, and the race is decided by the
    checkout's completion (the `CheckoutPending` fact of the same payment).
    `charge_key`: the payment's charge, when the payload names it besides the
    payment intent, so a refund or dispute naming only the charge finds the sale.
    """

    kind: ClassVar[str] = "sale"
    payment_key: str
    gross_cents: int
    sold_at: datetime
    item: str
    fan_name: str | None = None
    skus: tuple[tuple[str, int], ...] = field(default=())  # (sku, quantity) for costs
    payer_name: str | None = None
    private: bool = False
    delayed_payment: bool = False
    charge_key: str | None = None


@dataclass(frozen=True)
class Tip(FanFacts, PaymentFact):
    kind: ClassVar[str] = "tip"
    payment_key: str
    tip_cents: int
    tipped_at: datetime
    song: str
    fan_name: str | None = None
    message: str | None = None
    dj: str | None = None  # a DJ's Discord id or username; None = the DJ on duty
    payer_name: str | None = None
    private: bool = False
    delayed_payment: bool = False  # as for `Sale`
    charge_key: str | None = None

    @property
    def public_message(self) -> str | None:
        """The message public surfaces may show: never a private supporter's."""
        return None if self.private else self.message


@dataclass(frozen=True)
class Refund(PaymentFact):
    """Money given back to the fan.

    `amount_cents` is this refund's own amount, or, when `cumulative` (Stripe's
    `charge.refunded` carries the charge's running total), everything refunded
    on the payment so far: only the part not yet applied is taken back.
    """

    kind: ClassVar[str] = "refund"
    payment_key: str
    refund_key: str
    amount_cents: int
    refunded_at: datetime
    cumulative: bool = False


@dataclass(frozen=True)
class DisputeOpened(PaymentFact):
    kind: ClassVar[str] = "dispute_opened"
    payment_key: str
    dispute_key: str
    amount_cents: int
    opened_at: datetime


@dataclass(frozen=True)
class DisputeWon(PaymentFact):
    kind: ClassVar[str] = "dispute_won"
    payment_key: str
    dispute_key: str
    reinstated_at: datetime


@dataclass(frozen=True)
class CheckoutPending(PaymentFact):
    """A checkout completed with a delayed payment method: the fan bought at `completed_at`,
    and nothing is paid yet. Recorded, moves nothing; the sale or tip is the later success
    (`delayed_payment`), which counts in the race live at `completed_at`."""

    kind: ClassVar[str] = "checkout_pending"
    payment_key: str
    completed_at: datetime


@dataclass(frozen=True)
class Ignored(PaymentFact):
    """A verified event of a type Cozy-Kart does not act on (recorded, not applied)."""

    kind: ClassVar[str] = "ignored"
    reason: str


@dataclass(frozen=True)
class TransferReversed(PaymentFact):
    """Stripe reversed (some of) a transfer that paid a payout (`transfer.reversed`).

    `reversed_total_cents` is the transfer's running total (`amount_reversed`):
    only the part not yet returned goes back to the racer's wallet.
    """

    kind: ClassVar[str] = "transfer_reversed"
    transfer_key: str  # the transfer's id, `tr_...`
    reversed_total_cents: int
    reversed_at: datetime


@dataclass(frozen=True)
class AccountUpdated(PaymentFact):
    """What a connected account can do now (`account.updated`); moves no money."""

    kind: ClassVar[str] = "account_updated"
    moves_money: ClassVar[bool] = False
    account_key: str  # the account's id, `acct_...`
    can_receive_transfers: bool
    payouts_enabled: bool


FACT_TYPES: dict[str, type[PaymentFact]] = {
    fact.kind: fact
    for fact in (
        Sale,
        Tip,
        Refund,
        DisputeOpened,
        DisputeWon,
        CheckoutPending,
        Ignored,
        TransferReversed,
        AccountUpdated,
    )
}
_INSTANT_FIELDS = {
    "sold_at",
    "tipped_at",
    "refunded_at",
    "opened_at",
    "reinstated_at",
    "completed_at",
    "reversed_at",
}


def fact_from_record(record: dict[str, Any]) -> PaymentFact:
    """The inverse of `PaymentFact.to_record` (the inbox stores records as JSON).

    A record that cannot be read back (a field missing, of the wrong shape) raises
    MalformedWebhook: it fails the same way every time.
    """
    try:
        values = dict(record)
        fact_type = FACT_TYPES[values.pop("kind")]
        for name in _INSTANT_FIELDS & values.keys():
            values[name] = datetime.fromisoformat(values[name])
        if "skus" in values:
            values["skus"] = tuple((sku, quantity) for sku, quantity in values["skus"])
        return fact_type(**values)
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedWebhook(f"the stored event cannot be read ({type(error).__name__}: {error})") from None


def nothing_paid(fact: PaymentFact) -> bool:
    """A sale or tip of zero (a 100% discount, a free order): recorded as ignored, never applied."""
    return (isinstance(fact, Sale) and fact.gross_cents == 0) or (
        isinstance(fact, Tip) and fact.tip_cents == 0
    )


@dataclass(frozen=True)
class VerifiedEvent:
    """One verified delivery: the provider's id for it, its type, and what it means."""

    provider: str
    event_id: str
    event_type: str
    fact: PaymentFact

    def __post_init__(self) -> None:
        assert self.provider in PROVIDERS, self.provider
        if not self.event_id or len(self.event_id) > EVENT_ID_LENGTH_MAX:
            raise MalformedWebhook("the event has no usable id")

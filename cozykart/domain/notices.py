"""Private notices: what a racer is told about their own money, in their words.

A notice is written in the transaction of the change it tells about (a payout
paid or rejected, a refund that put the wallet in debt), so it exists exactly
when the change does. The racer reads it on the site (the bell in the header)
and, when the bot is configured, as a Discord direct message sent later by the
outbox. Notices are private: only their racer reads them; the public cash-out
announcement is a separate message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cozykart.domain.ledger import PAID_BY_WORDS, TransactionKind
from cozykart.domain.money import format_cents

NOTICE_TEXT_LENGTH_MAX = 600
NOTICES_SHOWN_MAX = 50


class NoticeKind(StrEnum):
    PAYOUT_PAID = "payout_paid"
    PAYOUT_REJECTED = "payout_rejected"
    PAYOUT_RETURNED = "payout_returned"
    WALLET_IN_DEBT = "wallet_in_debt"
    SONG_REQUEST = "song_request"


@dataclass(frozen=True)
class NoticeText:
    kind: NoticeKind
    title: str
    body: str


def _clip(text: str) -> str:
    return text if len(text) <= NOTICE_TEXT_LENGTH_MAX else text[: NOTICE_TEXT_LENGTH_MAX - 1] + "…"


def payout_paid(*, payout_id: int, amount_cents: int, method: str, currency: str) -> NoticeText:
    how = PAID_BY_WORDS.get(method, method)
    return NoticeText(
        NoticeKind.PAYOUT_PAID,
        "Payout paid",
        f"Your payout #{payout_id} of {format_cents(amount_cents, currency)} was paid by {how}.",
    )


def payout_rejected(*, payout_id: int, amount_cents: int, reason: str, currency: str) -> NoticeText:
    money = format_cents(amount_cents, currency)
    return NoticeText(
        NoticeKind.PAYOUT_REJECTED,
        "Payout rejected",
        _clip(
            f"Your payout #{payout_id} of {money} was rejected: {reason}. "
            f"The {money} is back in your wallet; you can ask again."
        ),
    )


def payout_returned(*, payout_id: int, amount_cents: int, currency: str) -> NoticeText:
    money = format_cents(amount_cents, currency)
    return NoticeText(
        NoticeKind.PAYOUT_RETURNED,
        "Payout came back",
        f"Stripe reversed {money} of your payout #{payout_id}: the {money} is back in your wallet.",
    )


def wallet_in_debt(*, debt_cents: int, cause: str, currency: str) -> NoticeText:
    money = format_cents(debt_cents, currency)
    taken = "A chargeback" if cause == TransactionKind.DISPUTE_CLAWBACK else "A refund"
    return NoticeText(
        NoticeKind.WALLET_IN_DEBT,
        "Your wallet is in debt",
        f"{taken} took back more than your wallet held: you owe {money}. "
        "Your next earnings pay it back before anything else.",
    )


def song_requested(
    *, fan_name: str | None, song: str, message: str | None, tip_cents: int, currency: str
) -> NoticeText:
    """The DJ's notice of a new request: who (their public name, or "A fan"), the song, the message."""
    who = fan_name or "A fan"
    said = f" Their message: \u201c{message}\u201d" if message else ""
    return NoticeText(
        NoticeKind.SONG_REQUEST,
        "New song request",
        _clip(f"{who} tipped {format_cents(tip_cents, currency)} for \u201c{song}\u201d.{said}"),
    )

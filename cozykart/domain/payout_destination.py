"""Where a racer wants to be paid: a method and the details it needs, validated.

- store credit: nothing more (the league's shop credits the racer);
- gift card: the email the code is sent to;
- PayPal: the PayPal account's email;
- bank transfer: the account holder's name and an IBAN (its ISO 13616 check
  digits verified: the number as digits, mod 97, is 1);
- Stripe: a connected Express account the racer set up from their profile (its
  id comes from Stripe, never typed).

A destination is private: only its racer and the league's admins read it. A
payout request keeps a copy of the one in force when it was made, so changing
it later never redirects money already asked for.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass

from cozykart.domain.errors import InvalidInput
from cozykart.domain.ledger import PAID_BY_WORDS, PAYOUT_METHODS

DESTINATION_METHODS = PAID_BY_WORDS
EMAIL_LENGTH_MAX = 254  # RFC 5321's path limit
ACCOUNT_HOLDER_LENGTH_MAX = 70  # SEPA's name field
IBAN_LENGTH_MIN = 15  # Norway's
IBAN_LENGTH_MAX = 34  # ISO 13616
IBAN_CHECK_MODULUS = 97
STRIPE_ACCOUNT_PREFIX = "acct_"
STRIPE_ACCOUNT_LENGTH_MAX = 64


@dataclass(frozen=True)
class PayoutDestination:
    method: str  # a key of DESTINATION_METHODS
    email: str | None = None
    account_holder: str | None = None
    iban: str | None = None  # upper case, no spaces
    stripe_account_id: str | None = None

    @property
    def words(self) -> str:
        """What an admin reads beside a request: the method and where to."""
        label = DESTINATION_METHODS[self.method]
        if self.method == "bank":
            return f"{label} to {self.account_holder}, IBAN {grouped_iban(self.iban or '')}"
        if self.email:
            return f"{label} to {self.email}"
        if self.stripe_account_id:
            return f"{label} (connected account {self.stripe_account_id})"
        return label

    def to_record(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if v is not None}, sort_keys=True)

    @classmethod
    def from_record(cls, record: str | None) -> PayoutDestination | None:
        if not record:
            return None
        return cls(**json.loads(record))


def grouped_iban(iban: str) -> str:
    """An IBAN in groups of four, as it is printed."""
    return " ".join(iban[index : index + 4] for index in range(0, len(iban), 4))


def _email(raw: str | None, what: str) -> str:
    email = (raw or "").strip()
    local, at, domain = email.rpartition("@")
    if not (
        at
        and local
        and "." in domain.strip(".")
        and len(email) <= EMAIL_LENGTH_MAX
        and email.isprintable()
        and not any(character.isspace() for character in email)
        and "@" not in local
    ):
        raise InvalidInput(f"Give the {what} email address, like ana@example.com.")
    return email


def _iban(raw: str | None) -> str:
    iban = "".join((raw or "").split()).upper()
    allowed = set(string.ascii_uppercase + string.digits)
    if not (
        IBAN_LENGTH_MIN <= len(iban) <= IBAN_LENGTH_MAX
        and set(iban) <= allowed
        and iban[:2].isalpha()
        and iban[2:4].isdigit()
    ):
        raise InvalidInput("Give the account's IBAN, like DE89 3704 0044 0532 0130 00.")
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(character, 36)) for character in rearranged)
    if int(digits) % IBAN_CHECK_MODULUS != 1:
        raise InvalidInput("That IBAN's check digits do not match: check it for a typo.")
    return iban


def _holder(raw: str | None) -> str:
    holder = " ".join((raw or "").split())
    if not holder or len(holder) > ACCOUNT_HOLDER_LENGTH_MAX or not holder.isprintable():
        raise InvalidInput(
            f"Give the account holder's name (at most {ACCOUNT_HOLDER_LENGTH_MAX} characters)."
        )
    return holder


def destination_from_form(
    method: str, *, email: str | None = None, account_holder: str | None = None, iban: str | None = None
) -> PayoutDestination:
    """A destination a racer typed, validated; only what its method needs is kept."""
    key = (method or "").strip().lower().replace(" ", "_").replace("-", "_")
    if key == "stripe":
        raise InvalidInput("To be paid by Stripe, connect your Stripe account from your profile.")
    if key not in PAYOUT_METHODS:
        raise InvalidInput("Choose how to be paid: " + ", ".join(PAYOUT_METHODS.values()) + ".")
    if key == "paypal":
        return PayoutDestination(key, email=_email(email, "PayPal account's"))
    if key == "gift_card":
        return PayoutDestination(key, email=_email(email, "gift card's"))
    if key == "bank":
        return PayoutDestination(key, account_holder=_holder(account_holder), iban=_iban(iban))
    return PayoutDestination(key)


def stripe_destination(account_id: str) -> PayoutDestination:
    """The destination of a racer's connected Stripe account (its id as Stripe gave it)."""
    if not (account_id.startswith(STRIPE_ACCOUNT_PREFIX) and len(account_id) <= STRIPE_ACCOUNT_LENGTH_MAX):
        raise InvalidInput("Stripe gave no account to pay; connect it again from your profile.")
    return PayoutDestination("stripe", stripe_account_id=account_id)


@dataclass(frozen=True)
class StripeConnection:
    """A racer's connected Stripe account and what Stripe last said it can do."""

    account_id: str
    can_receive_transfers: bool  # the `transfers` capability is active: a payout can be sent to it
    payouts_enabled: bool  # Stripe can pay the balance out to the racer's bank

    @property
    def words(self) -> str:
        """The account's state for the racer and the admins, with what is missing."""
        if not self.can_receive_transfers:
            return "Stripe: not ready yet: finish Stripe's set-up to receive payouts."
        if not self.payouts_enabled:
            return "Stripe: ready to receive payouts (add your bank in Stripe to withdraw them)."
        return "Stripe: ready to receive payouts."

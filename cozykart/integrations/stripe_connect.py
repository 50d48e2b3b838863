"""Stripe Connect: paying racers who chose Stripe, through the SDK (on STRIPE_API_BASE when set).

Three calls, as Stripe's API reference describes them (docs.stripe.com/api):
- `POST /v1/accounts` with `type=express` and the `transfers` capability
  requested: the racer's connected account, made once (the idempotency key
  names the racer, so a double click makes one account);
- `POST /v1/account_links` with `type=account_onboarding`, the account, a
  `refresh_url` (the link expired or was used: make a new one) and a
  `return_url` (onboarding left): a single-use URL that expires after a few
  minutes, so it is made when the racer clicks and never stored or logged;
- `POST /v1/transfers` with `amount` (cents), `currency` (lower case) and
  `destination` (the account): the payout's money. Its idempotency key is
  derived from the payout, so two clicks, a retry or a crash between Stripe's
  answer and our commit send one transfer: Stripe answers a repeated key with the
  first answer.
`GET /v1/accounts/{id}` reads whether the account can receive transfers
(`capabilities.transfers == "active"`, `payouts_enabled`), as `account.updated`
events also say.

A failure is a `StripeConnectFailed` with words for the person who clicked; a
transfer Stripe refused (a 4xx, `StripeTransferRefused`) moved nothing; one that
went unanswered (Stripe down, a 5xx) may have been made, and is retried with the
same key.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from cozykart.domain.payments import StripeConnectFailed, StripeTransferRefused
from cozykart.integrations.stripe_payments import stripe_client

ACCOUNT_ID_PREFIX = "acct_"
TRANSFER_ID_PREFIX = "tr_"


@dataclass(frozen=True)
class ConnectedAccount:
    account_id: str
    can_receive_transfers: bool  # the transfers capability is active
    payouts_enabled: bool  # the account can pay out to the racer's bank


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    amount_cents: int
    currency: str  # upper case, as the ledger keeps it
    reversed: bool


def _failed(what: str, error: stripe.StripeError) -> StripeConnectFailed:
    detail = getattr(error, "user_message", None)
    return StripeConnectFailed(f"Stripe could not {what}" + (f" ({detail})" if detail else "") + ".")


def create_express_account(*, api_key: str, api_base: str | None, racer_id: int, idempotency_key: str) -> str:
    """A new Express account for the racer, able to receive transfers; its id (`acct_...`)."""
    try:
        account = stripe_client(api_key, api_base).v1.accounts.create(
            params={
                "type": "express",
                "capabilities": {"transfers": {"requested": True}},
                "metadata": {"racer_id": str(racer_id)},
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise _failed("create your payout account", error) from None
    account_id = str(getattr(account, "id", ""))
    if not account_id.startswith(ACCOUNT_ID_PREFIX):
        raise StripeConnectFailed("Stripe answered without an account; try again in a minute.")
    return account_id


def create_onboarding_link(
    *, api_key: str, api_base: str | None, account_id: str, refresh_url: str, return_url: str
) -> str:
    """The single-use URL of the account's onboarding: send the racer there now, keep it nowhere."""
    try:
        link = stripe_client(api_key, api_base).v1.account_links.create(
            params={
                "account": account_id,
                "type": "account_onboarding",
                "refresh_url": refresh_url,
                "return_url": return_url,
            }
        )
    except stripe.StripeError as error:
        raise _failed("start the account's set-up", error) from None
    url = getattr(link, "url", None)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise StripeConnectFailed("Stripe answered without a set-up page; try again in a minute.")
    return url


def read_account(*, api_key: str, api_base: str | None, account_id: str) -> ConnectedAccount:
    """Whether the account can receive transfers and pay out, as Stripe says now."""
    try:
        account = stripe_client(api_key, api_base).v1.accounts.retrieve(account_id)
    except stripe.StripeError as error:
        raise _failed("read the payout account", error) from None
    return account_of(account.to_dict())


def account_of(data: dict) -> ConnectedAccount:
    """An account object (from the API or an `account.updated` event's `data.object`), read."""
    capabilities = data.get("capabilities") or {}
    return ConnectedAccount(
        account_id=str(data.get("id", "")),
        can_receive_transfers=capabilities.get("transfers") == "active",
        payouts_enabled=bool(data.get("payouts_enabled")),
    )


def create_transfer(
    *,
    api_key: str,
    api_base: str | None,
    account_id: str,
    amount_cents: int,
    currency: str,
    payout_id: int,
    idempotency_key: str,
) -> Transfer:
    """Send `amount_cents` to the connected account for payout `payout_id`, once per idempotency key."""
    assert isinstance(amount_cents, int) and amount_cents > 0, amount_cents
    try:
        transfer = stripe_client(api_key, api_base).v1.transfers.create(
            params={
                "amount": amount_cents,
                "currency": currency.lower(),
                "destination": account_id,
                "transfer_group": f"payout_{payout_id}",
                "metadata": {"payout_id": str(payout_id)},
            },
            options={"idempotency_key": idempotency_key},
        )
    except (stripe.InvalidRequestError, stripe.PermissionError, stripe.AuthenticationError) as error:
        refused = _failed("send the transfer; nothing was sent", error)
        raise StripeTransferRefused(refused.message) from None
    except stripe.StripeError as error:  # Stripe down or unreachable: whether it made the transfer is unknown
        raise _failed("confirm the transfer. Try again: the same payout is never sent twice", error) from None
    return transfer_of(transfer.to_dict())


def transfer_of(data: dict) -> Transfer:
    """A transfer object (from the API or a `transfer.*` event's `data.object`), read."""
    transfer_id = str(data.get("id", ""))
    if not transfer_id.startswith(TRANSFER_ID_PREFIX) or not isinstance(data.get("amount"), int):
        raise StripeConnectFailed("Stripe answered without a transfer; check the Stripe dashboard.")
    return Transfer(
        transfer_id=transfer_id,
        amount_cents=data["amount"],
        currency=str(data.get("currency", "")).upper(),
        reversed=bool(data.get("reversed")),
    )

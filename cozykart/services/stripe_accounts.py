"""A racer's connected Stripe account: connecting it from `/me`, reading whether it can receive
transfers, and choosing it as where to be paid.

The account is made once per racer (its idempotency key names the racer, and the
connection is stored the first time), through Stripe's Express onboarding: a
single-use account link whose `return_url` and `refresh_url` come back to the
racer's profile on this site. The link is made when the racer clicks, handed to
the browser, and never stored or logged. What the account can do is Stripe's
word, read from the account (when the racer comes back) or from an
`account.updated` event, and kept on the connection.
"""

from __future__ import annotations

from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput
from cozykart.domain.payments import StripeConnectFailed, site_origin
from cozykart.domain.payout_destination import PayoutDestination, StripeConnection, stripe_destination
from cozykart.integrations import stripe_connect
from cozykart.services.actors import load_actor

PROFILE_PATH = "/me"
RETURN_QUERY = "stripe=return"
REFRESH_QUERY = "stripe=refresh"


def account_key(racer_id: int) -> str:
    """The idempotency key of the racer's one Express account."""
    return f"cozykart-racer-{racer_id}-account"


def _api(uow: UnitOfWork) -> tuple[str, str | None]:
    settings = uow.base_settings
    if not settings.stripe_api_key:
        raise StripeConnectFailed("Stripe payouts are not set up here; choose another way to be paid.")
    return settings.stripe_api_key, settings.stripe_api_base


def start_onboarding(racer_id: int, *, site_url: str, uow: UnitOfWork, now: datetime | None = None) -> str:
    """The racer's Stripe onboarding page (a new single-use link): the account made first, once."""
    api_key, api_base = _api(uow)
    site = site_origin(site_url)
    with uow:
        actor = load_actor(uow, racer_id)
        connection = uow.payouts.stripe_connection(actor.racer_id)
    if connection is None:
        account_id = stripe_connect.create_express_account(
            api_key=api_key, api_base=api_base, racer_id=actor.racer_id, idempotency_key=account_key(racer_id)
        )
        with uow:
            uow.payouts.add_stripe_connection(actor.racer_id, account_id, now or utc_now())
            connection = uow.payouts.stripe_connection(actor.racer_id)  # ours, or a concurrent click's
            uow.commit()
        assert connection is not None
    return stripe_connect.create_onboarding_link(
        api_key=api_key,
        api_base=api_base,
        account_id=connection.account_id,
        refresh_url=f"{site}{PROFILE_PATH}?{REFRESH_QUERY}",
        return_url=f"{site}{PROFILE_PATH}?{RETURN_QUERY}",
    )


def my_stripe_connection(racer_id: int, *, uow: UnitOfWork) -> StripeConnection | None:
    """The racer's own connected account as last known (no call to Stripe), or None."""
    with uow:
        load_actor(uow, racer_id)
        return uow.payouts.stripe_connection(racer_id)


def refresh_my_stripe_connection(
    racer_id: int, *, uow: UnitOfWork, now: datetime | None = None
) -> StripeConnection | None:
    """The racer came back from Stripe: read the account now and keep what it can do."""
    connection = my_stripe_connection(racer_id, uow=uow)
    if connection is None:
        return None
    api_key, api_base = _api(uow)
    read = stripe_connect.read_account(api_key=api_key, api_base=api_base, account_id=connection.account_id)
    assert read.account_id == connection.account_id, "Stripe answered for another account"
    current = StripeConnection(read.account_id, read.can_receive_transfers, read.payouts_enabled)
    with uow:
        uow.payouts.set_stripe_connection(current, now or utc_now())
        uow.commit()
    return current


def use_stripe_destination(
    racer_id: int, *, uow: UnitOfWork, now: datetime | None = None
) -> PayoutDestination:
    """The racer chooses their connected account as where to be paid (only once it can receive)."""
    with uow:
        actor = load_actor(uow, racer_id)
        connection = uow.payouts.stripe_connection(actor.racer_id)
        if connection is None:
            raise InvalidInput('Connect your Stripe account first, with "Connect with Stripe".')
        if not connection.can_receive_transfers:
            raise InvalidInput("Finish Stripe's set-up first: your account cannot receive payouts yet.")
        destination = stripe_destination(connection.account_id)
        if PayoutDestination.from_record(uow.payouts.destination_record(actor.racer_id)) != destination:
            uow.payouts.add_destination_change(
                racer_id=actor.racer_id,
                method=destination.method,
                record=destination.to_record(),
                actor_racer_id=actor.racer_id,
                now=now or utc_now(),
            )
        uow.commit()
    return destination


def account_updated(connection: StripeConnection, *, uow: UnitOfWork, now: datetime) -> bool:
    """An `account.updated` event, inside the open transaction: keep what the account can do now.

    False when the account is none of this league's racers' (nothing to keep).
    """
    return uow.payouts.set_stripe_connection(connection, now) == 1

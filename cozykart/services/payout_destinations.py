"""Where a racer wants to be paid: set on their profile, read by them and by admins only.

A change is appended (who, when, the new destination), never rewritten, so what
a racer said at any time can be shown; a payout request copies the destination
in force when it is made (`payouts.request_payout`). The details are never
logged and never reach another racer's browser: each read here names its racer
from the session or checks the admin.
"""

from __future__ import annotations

from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.payout_destination import PayoutDestination, destination_from_form
from cozykart.services.actors import load_actor, load_admin


def my_payout_destination(racer_id: int, *, uow: UnitOfWork) -> PayoutDestination | None:
    """The racer's own destination (`racer_id` always from their session), or None."""
    with uow:
        load_actor(uow, racer_id)
        return PayoutDestination.from_record(uow.payouts.destination_record(racer_id))


def racer_payout_destination(actor_id: int, racer_id: int, *, uow: UnitOfWork) -> PayoutDestination | None:
    """A racer's destination, for an admin paying them."""
    with uow:
        load_admin(uow, actor_id)
        return PayoutDestination.from_record(uow.payouts.destination_record(racer_id))


def set_payout_destination(
    racer_id: int,
    method: str,
    *,
    email: str | None = None,
    account_holder: str | None = None,
    iban: str | None = None,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> PayoutDestination:
    """The racer says where to be paid; the same destination again writes nothing."""
    destination = destination_from_form(method, email=email, account_holder=account_holder, iban=iban)
    with uow:
        actor = load_actor(uow, racer_id)
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

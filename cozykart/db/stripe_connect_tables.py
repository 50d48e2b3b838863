"""Racers' connected Stripe accounts (integrations/stripe_connect.py): one per racer, private."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.payout_destination import STRIPE_ACCOUNT_LENGTH_MAX


class StripeConnection(SQLModel, table=True):
    """Which racer is which connected Express account, and whether Stripe lets it receive transfers.

    Made once per racer when they first click "Connect with Stripe" (the account's
    idempotency key names the racer); the two flags are Stripe's, as last read from
    the account or an `account.updated` event, so they are updated in place.
    """

    __tablename__ = "stripe_connection"

    racer_id: int = Field(foreign_key="racer.id", primary_key=True)
    account_id: str = Field(max_length=STRIPE_ACCOUNT_LENGTH_MAX, unique=True)
    can_receive_transfers: bool = False  # the account's `transfers` capability is active
    payouts_enabled: bool = False  # the account can pay out to the racer's bank
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))

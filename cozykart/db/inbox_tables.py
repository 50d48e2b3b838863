"""The durable webhook inbox, and the product costs that webhooks' line items refer to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now


class WebhookEvent(SQLModel, table=True):
    """One verified delivery, stored before it is acknowledged, then applied.

    status: applied | waiting (needs an event not seen yet, e.g. a refund before
    its sale) | failed (the error is kept; retried with backoff when it can pass
    later, else `next_attempt_at` is NULL: parked for an admin) | ignored (a type
    Cozy-Kart does not act on, nothing paid, or a delayed payment not yet
    succeeded) | flagged (another currency: never applied).
    `fact` is the provider-neutral meaning (cozykart.domain.payments) as JSON;
    the raw body is not kept, only its SHA-256.
    """

    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_event_provider_event"),
        Index("ix_webhook_event_due", "status", "next_attempt_at"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=80)
    payment_key: str | None = Field(default=None, max_length=200, index=True)
    # A Stripe sale's charge ("stripe:ch_..."), when its payload names one besides the payment intent.
    charge_key: str | None = Field(default=None, max_length=200, index=True)
    fact_kind: str = Field(max_length=20)
    fact: str = Field(sa_column=Column(Text, nullable=False))
    body_sha256: str = Field(max_length=64)
    status: str = Field(max_length=12)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    applied_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    received_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    applied_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class ProductCost(SQLModel, table=True):
    """What one unit of a product costs to make; sales of it earn commission on the rest."""

    __tablename__ = "product_cost"

    sku: str = Field(primary_key=True, max_length=100)
    cost_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))

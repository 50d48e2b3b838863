"""SQLModel tables of the ledger.

`ledger_transaction` and `ledger_posting` are append-only: migration 0002 installs
triggers so the database itself refuses UPDATE and DELETE on them. The cached
`ledger_account.balance_cents` is the one number that changes; reconciliation
proves it equals the sum of the account's postings. Services write these tables
with SQLAlchemy Core statements (`Table.__table__`), not ORM sessions, on the hot
path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.ledger import REASON_LENGTH_MAX, PayoutStatus
from cozykart.domain.payments import (
    FAN_NAME_LENGTH_MAX,
    ITEM_LENGTH_MAX,
    MESSAGE_LENGTH_MAX,
    PROVIDER_LENGTH_MAX,
)

DESTINATION_RECORD_LENGTH_MAX = 600  # a PayoutDestination's JSON: an email, a name and an IBAN fit


def _instant(*, nullable: bool = False, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


def _cents(*, nullable: bool = False) -> Column:
    return Column(BigInteger(), nullable=nullable)


class LedgerAccount(SQLModel, table=True):
    """A named account (house, clearing, a race's pool, a racer's wallet...)."""

    __tablename__ = "ledger_account"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    code: str = Field(max_length=80, unique=True)
    kind: str = Field(max_length=20, index=True)
    racer_id: int | None = Field(default=None, foreign_key="racer.id", index=True)
    race_id: int | None = Field(default=None, foreign_key="race.id", index=True)
    balance_cents: int = Field(default=0, sa_column=_cents())
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())


class LedgerPayment(SQLModel, table=True):
    """Money a fan paid in (a merch sale or a DJ tip), once per provider payment."""

    __tablename__ = "ledger_payment"
    # A race board's tips: the raceless payments inside the race's window, not every tip ever paid.
    # The Live Pot's feed: the newest payments by (occurred_at, id), not a sort of every payment.
    __table_args__ = (
        Index("ix_ledger_payment_race_occurred", "race_id", "occurred_at"),
        Index("ix_ledger_payment_occurred_id", "occurred_at", "id"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=8)  # sale | tip
    provider: str = Field(max_length=PROVIDER_LENGTH_MAX)
    gross_cents: int = Field(sa_column=_cents())
    cost_cents: int = Field(default=0, sa_column=_cents())
    pool_cents: int = Field(default=0, sa_column=_cents())
    fee_cents: int = Field(default=0, sa_column=_cents())
    race_id: int | None = Field(default=None, foreign_key="race.id", index=True)
    dj_racer_id: int | None = Field(default=None, foreign_key="racer.id", index=True)
    item: str = Field(max_length=ITEM_LENGTH_MAX)  # the product, or the song
    fan_name: str | None = Field(default=None, max_length=FAN_NAME_LENGTH_MAX)
    message: str | None = Field(default=None, max_length=MESSAGE_LENGTH_MAX)
    occurred_at: datetime = Field(sa_column=_instant())
    recorded_at: datetime = Field(default_factory=utc_now, sa_column=_instant())


class LedgerTransaction(SQLModel, table=True):
    """Postings that sum to zero, applied once under a unique idempotency key."""

    __tablename__ = "ledger_transaction"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=24, index=True)
    description: str = Field(max_length=300)
    reference: str = Field(max_length=200, index=True)
    payment_id: int | None = Field(default=None, foreign_key="ledger_payment.id", index=True)
    race_id: int | None = Field(default=None, foreign_key="race.id", index=True)
    payout_id: int | None = Field(default=None, foreign_key="payout.id", index=True)
    actor_racer_id: int | None = Field(default=None, foreign_key="racer.id")
    occurred_at: datetime = Field(sa_column=_instant())
    recorded_at: datetime = Field(default_factory=utc_now, sa_column=_instant())


class LedgerPosting(SQLModel, table=True):
    """One signed amount on one account; added to the account's balance."""

    __tablename__ = "ledger_posting"
    __table_args__ = (
        Index("ix_ledger_posting_account_payment", "account_id", "payment_id"),
        Index("ix_ledger_posting_account_available", "account_id", "available_at"),
        # A wallet's history newest first by keyset, and the sum of an account, from the index alone.
        Index("ix_ledger_posting_account_id_amount", "account_id", "id", "amount_cents"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    transaction_id: int = Field(foreign_key="ledger_transaction.id", index=True)
    account_id: int = Field(foreign_key="ledger_account.id")
    amount_cents: int = Field(sa_column=_cents())
    payment_id: int | None = Field(default=None, foreign_key="ledger_payment.id", index=True)
    available_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    description: str = Field(max_length=300)


class Payout(SQLModel, table=True):
    """A racer's payout: pending -> paid | rejected.

    The status here is a convenience for queues; the truth is the ledger: the one
    decision transaction (key `payout:<id>:decision`, unique) says paid or rejected.
    """

    __tablename__ = "payout"
    # A racer's paid payouts summed from the index alone (the status index alone reads the league's).
    __table_args__ = (Index("ix_payout_racer_status_amount", "racer_id", "status", "amount_cents"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    key: str = Field(max_length=200, unique=True)
    racer_id: int = Field(foreign_key="racer.id", index=True)
    amount_cents: int = Field(sa_column=_cents())
    status: str = Field(default=PayoutStatus.PENDING.value, max_length=10, index=True)
    requested_by_racer_id: int = Field(foreign_key="racer.id")
    requested_at: datetime = Field(default_factory=utc_now, sa_column=_instant())
    method: str | None = Field(default=None, max_length=20)
    reference: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=REASON_LENGTH_MAX)
    decided_by_racer_id: int | None = Field(default=None, foreign_key="racer.id")
    decided_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    # Where the racer asked to be paid when they asked (a PayoutDestination record), kept with the request.
    destination: str | None = Field(default=None, max_length=DESTINATION_RECORD_LENGTH_MAX)


class PayoutDestinationChange(SQLModel, table=True):
    """A racer set where they want to be paid: append-only; the newest row is the one in force.

    Private: only the racer and admins read it (services/payout_destinations.py).
    """

    __tablename__ = "payout_destination_change"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    racer_id: int = Field(foreign_key="racer.id", index=True)
    method: str = Field(max_length=20)
    destination: str = Field(max_length=DESTINATION_RECORD_LENGTH_MAX)  # a PayoutDestination record
    actor_racer_id: int = Field(foreign_key="racer.id")
    changed_at: datetime = Field(default_factory=utc_now, sa_column=_instant())


class RaceRoundingShare(SQLModel, table=True):
    """What a final race's rounding gave one racer: cents held minus the exact share, as a fraction.

    Derived from the ledger, not a ledger record: the transaction that settles a race
    (its distribution, a late sale, a refund, a dispute, a result fix) sets its racers'
    rows, so the next race of the season orders its odd cents from the racers' rows
    (`ledger_repo.season_rounding`) instead of re-reading every final race of the
    season. Every settle of a race holds the race's pool lock (services/ledger.py), so two
    settles of one race never write its rows at once. Reconcile recomputes every row from
    the postings and the results.
    """

    __tablename__ = "race_rounding_share"
    # A settle sums its racers' rows over the season: one range of this index per racer.
    __table_args__ = (Index("ix_race_rounding_share_season_racer", "season_id", "racer_id"),)

    race_id: int = Field(foreign_key="race.id", primary_key=True)
    racer_id: int = Field(foreign_key="racer.id", primary_key=True)
    season_id: int = Field(foreign_key="season.id")
    numerator: int = Field(sa_column=Column(BigInteger(), nullable=False))
    denominator: int = Field(sa_column=Column(BigInteger(), nullable=False))


class WalletTakenBack(SQLModel, table=True):
    """What refunds and chargebacks (TAKEN_BACK_KINDS) moved in one wallet for one payment, net.

    Derived from the ledger, not a ledger record: the transaction of such a kind adds
    its wallet postings to its payment's row in the same round trip as the postings
    (an upsert that adds, so two writers never lose one). The wallet page sums
    max(-net, 0) over a wallet's rows, the payments it lost money back on, instead of
    reading every line of the wallet for the few that are clawbacks. Reconcile
    recomputes every row from the postings.
    """

    __tablename__ = "wallet_taken_back"

    account_id: int = Field(foreign_key="ledger_account.id", primary_key=True)
    payment_id: int = Field(foreign_key="ledger_payment.id", primary_key=True)
    net_cents: int = Field(sa_column=_cents())

"""What the admin money pages read: the payout queue, the webhook inbox, reconciliation.

Every function loads the acting racer and refuses anyone who is not an admin,
whatever page they were shown: a Reflex event handler can be called by any
connected client. The actions themselves (pay, reject, direct payout, replay)
are the services in `payouts` and `webhooks`, which check the same way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput
from cozykart.domain.ledger import PAYOUT_METHODS, STRIPE_PAYOUT_METHOD
from cozykart.domain.payments import InboxStatus
from cozykart.domain.payout_destination import PayoutDestination, StripeConnection
from cozykart.services import payouts, webhooks
from cozykart.services.actors import load_admin
from cozykart.services.payouts import read_wallet_balances
from cozykart.services.reads import reconcile as reconcile_service

RECENT_PAYOUTS_MAX = 25
PENDING_PAYOUTS_MAX = 200
RACERS_LISTED_MAX = 500
INBOX_ROWS_MAX = 100
INBOX_STATUSES = (
    InboxStatus.FAILED,
    InboxStatus.WAITING,
    InboxStatus.FLAGGED,
    InboxStatus.APPLIED,
    InboxStatus.IGNORED,
)


@dataclass(frozen=True)
class PayoutLine:
    payout_id: int
    racer_id: int
    racer_name: str
    amount_cents: int
    status: str
    requested_at: datetime
    method: str | None
    reference: str | None
    reason: str | None
    decided_at: datetime | None
    destination: PayoutDestination | None = None  # where the racer asked to be paid, when they asked
    stripe: StripeConnection | None = None  # pending, by Stripe: the racer's connected account now

    @property
    def destination_words(self) -> str:
        return self.destination.words if self.destination else "no destination given"


@dataclass(frozen=True)
class RacerAvailable:
    racer_id: int
    display_name: str
    available_cents: int


@dataclass(frozen=True)
class PayoutQueue:
    currency: str
    pending: tuple[PayoutLine, ...]  # oldest first
    recent: tuple[PayoutLine, ...]  # decided, newest first
    racers: tuple[RacerAvailable, ...]  # with something to pay out, by name
    methods: tuple[tuple[str, str], ...]  # (key, words)


@dataclass(frozen=True)
class InboxView:
    status: str | None
    rows: tuple[webhooks.InboxRow, ...]
    counts: dict[str, int]


def _payout_lines(rows) -> tuple[PayoutLine, ...]:
    return tuple(
        PayoutLine(
            payout_id=row.id,
            racer_id=row.racer_id,
            racer_name=row.display_name,
            amount_cents=row.amount_cents,
            status=row.status,
            requested_at=row.requested_at,
            method=row.method,
            reference=row.reference,
            reason=row.reason,
            decided_at=row.decided_at,
            destination=PayoutDestination.from_record(row.destination),
        )
        for row in rows
    )


def _with_stripe(uow: UnitOfWork, line: PayoutLine) -> PayoutLine:
    """A pending Stripe payout with what its racer's connected account can do now."""
    if line.destination is None or line.destination.method != STRIPE_PAYOUT_METHOD:
        return line
    return dataclasses.replace(line, stripe=uow.payouts.stripe_connection(line.racer_id))


def payout_queue(actor_id: int, *, uow: UnitOfWork, now: datetime | None = None) -> PayoutQueue:
    """The admin's payout page: pending requests, recent decisions, racers who can be paid directly."""
    now = now or utc_now()
    with uow:
        load_admin(uow, actor_id)
        pending = tuple(
            _with_stripe(uow, line)
            for line in _payout_lines(uow.payouts.pending_with_names(PENDING_PAYOUTS_MAX))
        )
        recent = _payout_lines(uow.payouts.decided_with_names(RECENT_PAYOUTS_MAX))
        wallets = uow.payouts.racers_with_wallet_funds(RACERS_LISTED_MAX)
        racers = []
        for racer_id, display_name in wallets:
            available_cents = read_wallet_balances(uow, racer_id, now).available_cents
            if available_cents > 0:
                racers.append(RacerAvailable(racer_id, display_name, available_cents))
        return PayoutQueue(
            currency=uow.base_settings.currency,
            pending=pending,
            recent=recent,
            racers=tuple(racers),
            methods=tuple(PAYOUT_METHODS.items()),
        )


def webhook_inbox(actor_id: int, *, status: str | None = None, uow: UnitOfWork) -> InboxView:
    """The webhook inbox for admins, newest first, optionally one status only, with counts per status."""
    status = status or None
    if status is not None and status not in INBOX_STATUSES:
        raise InvalidInput("Pick a status from the list.")
    with uow:
        load_admin(uow, actor_id)
        rows = webhooks.list_inbox(uow=uow, status=status, limit=INBOX_ROWS_MAX)
        counts = webhooks.inbox_counts(uow=uow)
    return InboxView(status=status, rows=rows, counts=counts)


def reconciliation(
    actor_id: int, *, uow: UnitOfWork, now: datetime | None = None
) -> reconcile_service.ReconcileReport:
    """Run reconciliation for an admin (read-only): clean, or the violations."""
    with uow:
        load_admin(uow, actor_id)
        return reconcile_service.reconcile(uow=uow, now=now)


# --- what a payout decision will do, before it is done --------------------------------------------


@dataclass(frozen=True)
class DecisionPreview:
    """A payout as paying, rejecting or paying directly would leave it: a dry run, rolled back."""

    payout_id: int
    racer_name: str
    amount_cents: int
    destination_words: str
    replayed: bool  # already decided this way: the decision would change nothing
    available_before_cents: int  # the racer's money available to withdraw, before and after
    available_after_cents: int
    currency: str


def _dry_decision(uow: UnitOfWork, racer_id: int, decide, now: datetime) -> DecisionPreview:
    """Inside the caller's transaction: run `decide()` (a payouts service joining it) and describe it."""
    available_before_cents = read_wallet_balances(uow, racer_id, now).available_cents
    payout_id, replayed = decide()
    row = uow.payouts.by_id(payout_id)
    assert row is not None, "the decision just made names this payout"
    racer = uow.league.racer(row.racer_id)
    assert racer is not None
    return DecisionPreview(
        payout_id=payout_id,
        racer_name=racer.display_name,
        amount_cents=row.amount_cents,
        destination_words=(
            destination.words
            if (destination := PayoutDestination.from_record(row.destination))
            else "no destination given"
        ),
        replayed=replayed,
        available_before_cents=available_before_cents,
        available_after_cents=read_wallet_balances(uow, row.racer_id, now).available_cents,
        currency=uow.base_settings.currency,
    )


def preview_payout_decision(
    actor_id: int,
    payout_id: int,
    *,
    pay: bool,
    method: str = "",
    reference: str = "",
    reason: str = "",
    uow: UnitOfWork,
) -> DecisionPreview:
    """What `payouts.pay_payout` (pay) or `reject_payout` would do: their checks, run and rolled back."""
    now = utc_now()
    with uow:
        load_admin(uow, actor_id)
        row = uow.payouts.by_id(payout_id)
        racer_id = row.racer_id if row is not None else 0

        def decide() -> tuple[int, bool]:
            if pay:
                outcome = payouts.pay_payout(
                    actor_id, payout_id, method=method, reference=reference, uow=uow, now=now
                )
            else:
                outcome = payouts.reject_payout(actor_id, payout_id, reason=reason, uow=uow, now=now)
            return outcome.payout_id, outcome.replayed

        # Leaving the block without commit rolls the decision back.
        return _dry_decision(uow, racer_id, decide, now)


def preview_direct_payout(
    actor_id: int, racer_id: int, amount_cents: int, *, method: str, reference: str, key: str, uow: UnitOfWork
) -> DecisionPreview:
    """What `payouts.direct_payout` would do: its checks (funds, debt, method), run and rolled back."""
    now = utc_now()
    with uow:
        load_admin(uow, actor_id)

        def decide() -> tuple[int, bool]:
            payout_id = payouts.direct_payout(
                actor_id,
                racer_id,
                amount_cents,
                method=method,
                reference=reference,
                key=key,
                uow=uow,
                now=now,
            )
            return payout_id, False

        return _dry_decision(uow, racer_id, decide, now)

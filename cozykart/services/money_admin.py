"""What the admin money pages read: the payout queue, the webhook inbox, reconciliation.

Every function loads the acting racer and refuses anyone who is not an admin,
whatever page they were shown: a Reflex event handler can be called by any
connected client. The actions themselves (pay, reject, direct payout, replay)
are the services in `payouts` and `webhooks`, which check the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from cozykart.db import ledger_repo as repo
from cozykart.db.tables import Racer
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput
from cozykart.domain.ledger import PAYOUT_METHODS, AccountKind, PayoutStatus
from cozykart.domain.payments import InboxStatus
from cozykart.services import webhooks
from cozykart.services.actors import load_admin
from cozykart.services.payouts import read_wallet_balances
from cozykart.services.reads import reconcile as reconcile_service
from cozykart.settings import Settings, load_settings

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


def _payout_lines(connection, statement) -> tuple[PayoutLine, ...]:
    payout, racer = repo.payout_table, Racer.__table__
    rows = connection.execute(
        statement.add_columns(racer.c.display_name).join(racer, racer.c.id == payout.c.racer_id)
    ).all()
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
        )
        for row in rows
    )


def payout_queue(
    actor_id: int, *, uow: UnitOfWork, settings: Settings | None = None, now: datetime | None = None
) -> PayoutQueue:
    """The admin's payout page: pending requests, recent decisions, racers who can be paid directly."""
    settings = settings or load_settings()
    now = now or utc_now()
    payout, account, racer = repo.payout_table, repo.account_table, Racer.__table__
    with uow:
        load_admin(uow, actor_id, settings)
        connection = uow.session.connection()
        pending = _payout_lines(
            connection,
            select(payout)
            .where(payout.c.status == PayoutStatus.PENDING)
            .order_by(payout.c.id)
            .limit(PENDING_PAYOUTS_MAX),
        )
        recent = _payout_lines(
            connection,
            select(payout)
            .where(payout.c.status != PayoutStatus.PENDING)
            .order_by(payout.c.decided_at.desc(), payout.c.id.desc())
            .limit(RECENT_PAYOUTS_MAX),
        )
        wallets = connection.execute(
            select(racer.c.id, racer.c.display_name)
            .join(account, account.c.racer_id == racer.c.id)
            .where(account.c.kind == str(AccountKind.WALLET), account.c.balance_cents > 0)
            .order_by(racer.c.display_name, racer.c.id)
            .limit(RACERS_LISTED_MAX)
        ).all()
        racers = []
        for racer_id, display_name in wallets:
            available_cents = read_wallet_balances(connection, racer_id, now).available_cents
            if available_cents > 0:
                racers.append(RacerAvailable(racer_id, display_name, available_cents))
        return PayoutQueue(
            currency=settings.currency,
            pending=pending,
            recent=recent,
            racers=tuple(racers),
            methods=tuple(PAYOUT_METHODS.items()),
        )


def webhook_inbox(
    actor_id: int, *, status: str | None = None, uow: UnitOfWork, settings: Settings | None = None
) -> InboxView:
    """The webhook inbox for admins, newest first, optionally one status only, with counts per status."""
    settings = settings or load_settings()
    status = status or None
    if status is not None and status not in INBOX_STATUSES:
        raise InvalidInput("Pick a status from the list.")
    with uow:
        load_admin(uow, actor_id, settings)
        rows = webhooks.list_inbox(uow=uow, status=status, limit=INBOX_ROWS_MAX)
        counts = webhooks.inbox_counts(uow=uow)
    return InboxView(status=status, rows=rows, counts=counts)


def reconciliation(
    actor_id: int, *, uow: UnitOfWork, settings: Settings | None = None, now: datetime | None = None
) -> reconcile_service.ReconcileReport:
    """Run reconciliation for an admin (read-only): clean, or the violations."""
    settings = settings or load_settings()
    with uow:
        load_admin(uow, actor_id, settings)
        return reconcile_service.reconcile(uow=uow, now=now)

"""Money out: payout requests, paying and rejecting them, and an admin's direct payout.

A request encumbers the funds at once (wallet -> the racer's in-flight account)
inside a transaction that holds the wallet's lock: on PostgreSQL the wallet row
is locked FOR UPDATE before its balance is read; on SQLite BEGIN IMMEDIATE
already serializes writers. Two requests at the same instant can never take
more than the balance.

Paying or rejecting writes the payout's one decision transaction under the key
`payout:<id>:decision` (unique): two admins clicking at once settle it once,
and the second click is answered with the first one's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from cozykart.db import ledger_repo as repo
from cozykart.db.tables import Racer
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.ledger import (
    PAYOUTS_SENT,
    PayoutNotPending,
    PayoutPaid,
    PayoutStatus,
    TransactionKind,
    WalletBalances,
    check_payout_request,
    in_flight_account,
    require_payout_method,
    require_reason,
    wallet_account,
    wallet_balances,
)
from cozykart.domain.money import format_cents, require_positive_cents
from cozykart.domain.payments import require_key
from cozykart.domain.transactions import (
    direct_payout_transaction,
    payout_paid_transaction,
    payout_rejected_transaction,
    payout_request_transaction,
)
from cozykart.services.actors import load_actor, load_admin
from cozykart.services.money_settings import effective_settings
from cozykart.settings import Settings, load_settings

REFERENCE_LENGTH_MAX = 200

payout_table = repo.payout_table


@dataclass(frozen=True)
class PayoutOutcome:
    payout_id: int
    status: PayoutStatus  # paid | rejected
    replayed: bool  # True when someone had already decided it this way


def decision_key(payout_id: int) -> str:
    return f"payout:{payout_id}:decision"


def read_wallet_balances(
    connection: Connection, racer_id: int, now: datetime, *, check_postings: bool = True
) -> WalletBalances:
    """A racer's wallet split into available, held, in payout and debt.

    With `check_postings` (every read that moves money) the cached balances are
    asserted against the sum of their postings; without (a page view) they are read
    as kept, one row each, whatever the length of the history. Reads only: a racer
    who never earned has no accounts yet, and reads as zero.
    """
    balance_of = repo.account_balance if check_postings else repo.cached_balance
    wallet_id = repo.account_id_by_code(connection, wallet_account(racer_id).code)
    in_flight_id = repo.account_id_by_code(connection, in_flight_account(racer_id).code)
    if wallet_id is None:
        return wallet_balances(
            wallet_balance_cents=0,
            held_credit_cents=0,
            in_payout_cents=0,
            lifetime_earned_cents=0,
            paid_out_cents=0,
        )
    wallet_balance_cents = balance_of(connection, wallet_id)
    in_payout_cents = balance_of(connection, in_flight_id) if in_flight_id is not None else 0
    paid_out_cents = repo.paid_out_cents(connection, racer_id)
    return wallet_balances(
        wallet_balance_cents=wallet_balance_cents,
        held_credit_cents=repo.held_credit_cents(connection, wallet_id, now),
        in_payout_cents=in_payout_cents,
        # Every line of the wallet that was not a payout movement (PAYOUT_KINDS): what the wallet
        # holds, plus what left it towards payment and did not come back (in flight, or paid; a
        # rejected request returned). No read of every line (0.1 s at 100,000 lines); reconcile
        # proves the in-flight balance and each payout's status against the ledger.
        lifetime_earned_cents=wallet_balance_cents + in_payout_cents + paid_out_cents,
        paid_out_cents=paid_out_cents,
    )


def _lock_wallet(connection: Connection, racer_id: int, now: datetime) -> dict[str, int]:
    ids = repo.account_ids(
        connection, [wallet_account(racer_id), in_flight_account(racer_id), PAYOUTS_SENT], now=now
    )
    repo.lock_accounts(connection, [ids[wallet_account(racer_id).code]])
    return ids


def _payout_by_key(connection: Connection, key: str):
    return connection.execute(select(payout_table).where(payout_table.c.key == key)).first()


def _payout(connection: Connection, payout_id: int):
    row = connection.execute(select(payout_table).where(payout_table.c.id == payout_id)).first()
    if row is None:
        raise NotFound("That payout does not exist.")
    return row


@dataclass(frozen=True)
class _Claim:
    """A payout row claimed under the racer's wallet lock, or the one an earlier call made with the key."""

    account_ids: dict[str, int]
    payout_id: int
    replayed: bool
    balances_before: WalletBalances | None  # None when replayed


def _claim_payout(
    connection: Connection,
    racer_id: int,
    amount_cents: int,
    *,
    key: str,
    payout_min_cents: int,
    currency: str,
    now: datetime,
    **values,
) -> _Claim:
    """Lock the wallet, answer a repeated key with its payout, else check the amount and insert the row."""
    ids = _lock_wallet(connection, racer_id, now)
    existing = _payout_by_key(connection, key)
    if existing is not None:
        return _Claim(ids, existing.id, replayed=True, balances_before=None)
    balances = read_wallet_balances(connection, racer_id, now)
    check_payout_request(
        balances,
        amount_cents,
        payout_min_cents=payout_min_cents,
        format_amount=lambda cents: format_cents(cents, currency),
    )
    payout_id = connection.execute(
        payout_table.insert()
        .values(key=key, racer_id=racer_id, amount_cents=amount_cents, **values)
        .returning(payout_table.c.id)
    ).scalar_one()
    return _Claim(ids, payout_id, replayed=False, balances_before=balances)


def request_payout(
    racer_id: int,
    amount_cents: int,
    *,
    key: str,
    uow: UnitOfWork,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> int:
    """A racer asks to cash out `amount_cents`; returns the payout id (the same for a repeated key)."""
    settings, now = settings or load_settings(), now or utc_now()  # every row it writes is recorded `now`
    key = require_key(key)
    require_positive_cents(amount_cents, "The payout amount")
    with uow:
        session = uow.session
        actor = load_actor(uow, racer_id, settings)
        connection = session.connection()
        claim = _claim_payout(
            connection,
            actor.racer_id,
            amount_cents,
            key=key,
            payout_min_cents=effective_settings(connection, settings).payout_min_cents,
            currency=settings.currency,
            now=now,
            status=PayoutStatus.PENDING,
            requested_by_racer_id=actor.racer_id,
            requested_at=now,
        )
        if claim.replayed:
            return claim.payout_id
        ids, payout_id, balances = claim.account_ids, claim.payout_id, claim.balances_before
        transaction = payout_request_transaction(
            key=f"payout:{payout_id}:request",
            payout_id=payout_id,
            racer_id=actor.racer_id,
            racer_name=actor.display_name,
            amount_cents=amount_cents,
            at=now,
            currency=settings.currency,
        )
        repo.write_transaction(connection, transaction, ids, now=now)
        after = read_wallet_balances(connection, actor.racer_id, now)
        assert after.available_cents == balances.available_cents - amount_cents
        uow.commit()
        return payout_id


def _decided(connection: Connection, payout_id: int, wanted: TransactionKind) -> PayoutOutcome | None:
    """The payout's decision if one exists; refused if it went the other way."""
    decision = repo.transaction_row(connection, decision_key(payout_id))
    if decision is None:
        return None
    status = PayoutStatus.PAID if decision.kind == TransactionKind.PAYOUT else PayoutStatus.REJECTED
    if decision.kind != wanted:
        raise PayoutNotPending(f"Payout #{payout_id} was already {status}.")
    return PayoutOutcome(payout_id=payout_id, status=status, replayed=True)


def pay_payout(
    admin_racer_id: int,
    payout_id: int,
    *,
    method: str,
    reference: str,
    uow: UnitOfWork,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> PayoutOutcome:
    """An admin marks a pending payout paid (method and the provider's reference). Idempotent."""
    settings, now = settings or load_settings(), now or utc_now()
    method = require_payout_method(method)
    reference = " ".join((reference or "").split())
    if not reference or len(reference) > REFERENCE_LENGTH_MAX:
        raise InvalidInput("Give the payment's reference (gift card code, PayPal or bank reference).")
    with uow:
        session = uow.session
        actor = load_admin(uow, admin_racer_id, settings)
        connection = session.connection()
        payout = _payout(connection, payout_id)
        already = _decided(connection, payout_id, TransactionKind.PAYOUT)
        if already is not None:
            return already
        ids = repo.account_ids(connection, [in_flight_account(payout.racer_id), PAYOUTS_SENT], now=now)
        transaction = payout_paid_transaction(
            key=decision_key(payout_id),
            payout_id=payout_id,
            racer_id=payout.racer_id,
            amount_cents=payout.amount_cents,
            method=method,
            reference=reference,
            admin_racer_id=actor.racer_id,
            at=now,
            currency=settings.currency,
        )
        written = repo.write_transaction(connection, transaction, ids, now=now)
        if written.replayed:  # another admin decided it while we looked
            outcome = _decided(connection, payout_id, TransactionKind.PAYOUT)
            assert outcome is not None
            return outcome
        _set_status(
            connection, payout_id, PayoutStatus.PAID, actor.racer_id, now, method=method, reference=reference
        )
        uow.emit(
            PayoutPaid(
                payout_id=payout_id,
                racer_id=payout.racer_id,
                amount_cents=payout.amount_cents,
                method=method,
                paid_at=now,
            )
        )
        uow.commit()
        return PayoutOutcome(payout_id=payout_id, status=PayoutStatus.PAID, replayed=False)


def reject_payout(
    admin_racer_id: int,
    payout_id: int,
    *,
    reason: str,
    uow: UnitOfWork,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> PayoutOutcome:
    """An admin rejects a pending payout with a reason; the funds go back to the wallet."""
    settings, now = settings or load_settings(), now or utc_now()
    reason = require_reason(reason)
    with uow:
        session = uow.session
        actor = load_admin(uow, admin_racer_id, settings)
        connection = session.connection()
        payout = _payout(connection, payout_id)
        already = _decided(connection, payout_id, TransactionKind.PAYOUT_RELEASED)
        if already is not None:
            return already
        ids = repo.account_ids(
            connection, [in_flight_account(payout.racer_id), wallet_account(payout.racer_id)], now=now
        )
        transaction = payout_rejected_transaction(
            key=decision_key(payout_id),
            payout_id=payout_id,
            racer_id=payout.racer_id,
            amount_cents=payout.amount_cents,
            reason=reason,
            admin_racer_id=actor.racer_id,
            at=now,
            currency=settings.currency,
        )
        written = repo.write_transaction(connection, transaction, ids, now=now)
        if written.replayed:
            outcome = _decided(connection, payout_id, TransactionKind.PAYOUT_RELEASED)
            assert outcome is not None
            return outcome
        _set_status(connection, payout_id, PayoutStatus.REJECTED, actor.racer_id, now, reason=reason)
        uow.commit()
        return PayoutOutcome(payout_id=payout_id, status=PayoutStatus.REJECTED, replayed=False)


def _set_status(
    connection: Connection, payout_id: int, status: PayoutStatus, admin_racer_id: int, now: datetime, **fields
) -> None:
    changed = connection.execute(
        update(payout_table)
        .where(payout_table.c.id == payout_id, payout_table.c.status == PayoutStatus.PENDING)
        .values(status=status, decided_by_racer_id=admin_racer_id, decided_at=now, **fields)
    ).rowcount
    assert changed == 1, "only the one decision transaction moves a payout out of pending"


def direct_payout(
    admin_racer_id: int,
    racer_id: int,
    amount_cents: int,
    *,
    method: str,
    reference: str,
    key: str,
    uow: UnitOfWork,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> int:
    """An admin pays a racer directly (the seed's `/payout @user 50.00`): no threshold, ≤ available."""
    settings = settings or load_settings()
    key = require_key(key)
    require_positive_cents(amount_cents, "The payout amount")
    method = require_payout_method(method)
    reference = " ".join((reference or "").split())[:REFERENCE_LENGTH_MAX] or "direct payout"
    with uow:
        session = uow.session
        actor = load_admin(uow, admin_racer_id, settings)
        racer = session.get(Racer, racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        connection = session.connection()
        instant = now or utc_now()  # every row it writes is recorded at this instant
        claim = _claim_payout(
            connection,
            racer_id,
            amount_cents,
            key=key,
            payout_min_cents=1,  # an admin's direct payout has no threshold
            currency=settings.currency,
            now=instant,
            status=PayoutStatus.PAID,
            requested_by_racer_id=actor.racer_id,
            requested_at=instant,
            method=method,
            reference=reference,
            decided_by_racer_id=actor.racer_id,
            decided_at=instant,
        )
        if claim.replayed:
            return claim.payout_id
        transaction = direct_payout_transaction(
            key=decision_key(claim.payout_id),
            payout_id=claim.payout_id,
            racer_id=racer_id,
            racer_name=racer.display_name,
            amount_cents=amount_cents,
            method=method,
            reference=reference,
            admin_racer_id=actor.racer_id,
            at=instant,
            currency=settings.currency,
        )
        repo.write_transaction(connection, transaction, claim.account_ids, now=instant)
        uow.emit(
            PayoutPaid(
                payout_id=claim.payout_id,
                racer_id=racer_id,
                amount_cents=amount_cents,
                method=method,
                paid_at=instant,
            )
        )
        uow.commit()
        return claim.payout_id


def pending_payouts(*, uow: UnitOfWork) -> list:
    """The admin's queue: pending payouts, oldest first."""
    with uow:
        return list(
            uow.session.connection()
            .execute(
                select(payout_table)
                .where(payout_table.c.status == PayoutStatus.PENDING)
                .order_by(payout_table.c.id)
            )
            .all()
        )

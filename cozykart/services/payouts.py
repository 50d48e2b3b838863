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

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.league import NotARacerYet
from cozykart.domain.ledger import (
    PAYOUTS_SENT,
    STRIPE_PAYOUT_METHOD,
    PayoutNotPending,
    PayoutPaid,
    PayoutRejected,
    PayoutReturned,
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
from cozykart.domain.payments import StripeConnectFailed, StripeTransferRefused, require_key
from cozykart.domain.payout_destination import PayoutDestination
from cozykart.domain.transactions import (
    direct_payout_transaction,
    payout_cancelled_transaction,
    payout_paid_transaction,
    payout_rejected_transaction,
    payout_request_transaction,
    payout_returned_transaction,
)
from cozykart.integrations import stripe_connect
from cozykart.services.actors import load_actor, load_admin
from cozykart.services.audit import record_admin_action

REFERENCE_LENGTH_MAX = 200


@dataclass(frozen=True)
class PayoutOutcome:
    payout_id: int
    status: PayoutStatus  # paid | rejected | cancelled
    replayed: bool  # True when someone had already decided it this way


def decision_key(payout_id: int) -> str:
    return f"payout:{payout_id}:decision"


def read_wallet_balances(
    uow: UnitOfWork, racer_id: int, now: datetime, *, check_postings: bool = True
) -> WalletBalances:
    """A racer's wallet split into available, held, in payout and debt.

    With `check_postings` (every read that moves money) the cached balances are
    asserted against the sum of their postings; without (a page view) they are read
    as kept, one row each, whatever the length of the history. Reads only: a racer
    who never earned has no accounts yet, and reads as zero.
    """
    stored = uow.payouts.wallet_amounts(racer_id, now, check_postings=check_postings)
    if stored is None:
        return wallet_balances(
            wallet_balance_cents=0,
            held_credit_cents=0,
            in_payout_cents=0,
            lifetime_earned_cents=0,
            paid_out_cents=0,
        )
    return wallet_balances(
        wallet_balance_cents=stored.wallet_balance_cents,
        held_credit_cents=stored.held_credit_cents,
        in_payout_cents=stored.in_payout_cents,
        # Every line of the wallet that was not a payout movement (PAYOUT_KINDS) nor a refund taken
        # back (TAKEN_BACK_KINDS): what the wallet holds, plus what left it towards payment and did
        # not come back (in flight, or paid; a rejected or cancelled request returned), plus what
        # refunds took back, which is its own figure. The held sum reads the held lines, the paid
        # payouts come from an index alone, their returned transfers from the racer's payouts, and
        # the taken-back sum from the wallet's rows of wallet_taken_back (ledger_repo.taken_back_cents).
        # reconcile proves the in-flight balance and each payout's status against the ledger.
        lifetime_earned_cents=(
            stored.wallet_balance_cents
            + stored.in_payout_cents
            + stored.paid_out_cents
            + stored.taken_back_cents
        ),
        paid_out_cents=stored.paid_out_cents,
        refunds_taken_back_cents=stored.taken_back_cents,
    )


def _lock_wallet(uow: UnitOfWork, racer_id: int, now: datetime) -> dict[str, int]:
    ids = uow.ledger.read_account_ids(
        [wallet_account(racer_id), in_flight_account(racer_id), PAYOUTS_SENT], now=now
    )
    uow.ledger.lock_accounts([ids[wallet_account(racer_id).code]])
    return ids


def _payout(uow: UnitOfWork, payout_id: int):
    row = uow.payouts.by_id(payout_id)
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
    uow: UnitOfWork,
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
    ids = _lock_wallet(uow, racer_id, now)
    existing = uow.payouts.by_key(key)
    if existing is not None:
        return _Claim(ids, existing.id, replayed=True, balances_before=None)
    balances = read_wallet_balances(uow, racer_id, now)
    check_payout_request(
        balances,
        amount_cents,
        payout_min_cents=payout_min_cents,
        format_amount=lambda cents: format_cents(cents, currency),
    )
    payout_id = uow.payouts.add(key=key, racer_id=racer_id, amount_cents=amount_cents, **values)
    return _Claim(ids, payout_id, replayed=False, balances_before=balances)


def request_payout(
    racer_id: int, amount_cents: int, *, key: str, uow: UnitOfWork, now: datetime | None = None
) -> int:
    """A racer asks to cash out `amount_cents`; returns the payout id (the same for a repeated key)."""
    now = now or utc_now()  # every row it writes is recorded `now`
    currency = uow.base_settings.currency
    key = require_key(key)
    require_positive_cents(amount_cents, "The payout amount")
    with uow:
        actor = load_actor(uow, racer_id)
        claim = _claim_payout(
            uow,
            actor.racer_id,
            amount_cents,
            key=key,
            payout_min_cents=uow.settings.payout_min_cents,
            currency=currency,
            now=now,
            status=PayoutStatus.PENDING,
            requested_by_racer_id=actor.racer_id,
            requested_at=now,
            destination=uow.payouts.destination_record(actor.racer_id),  # where they asked to be paid, then
        )
        if claim.replayed:
            return claim.payout_id
        ids, payout_id, balances = claim.account_ids, claim.payout_id, claim.balances_before
        assert balances is not None, "a new claim read the balances"
        transaction = payout_request_transaction(
            key=f"payout:{payout_id}:request",
            payout_id=payout_id,
            racer_id=actor.racer_id,
            racer_name=actor.display_name,
            amount_cents=amount_cents,
            at=now,
            currency=currency,
        )
        uow.ledger.write_transaction(transaction, ids, now=now)
        after = read_wallet_balances(uow, actor.racer_id, now)
        assert after is not None and after.available_cents == balances.available_cents - amount_cents
        uow.commit()
        return payout_id


def _decided(uow: UnitOfWork, payout_id: int, wanted: PayoutStatus) -> PayoutOutcome | None:
    """The payout's decision if one exists; refused if it went another way.

    The decision transaction is the truth (one key per payout, so one decision
    wins); a released payout's row says whether an admin rejected it or the racer
    cancelled it, and was written in the same transaction.
    """
    decision = uow.ledger.transaction_row(decision_key(payout_id))
    if decision is None:
        return None
    status = (
        PayoutStatus.PAID
        if decision.kind == TransactionKind.PAYOUT
        else PayoutStatus(_payout(uow, payout_id).status)
    )
    if status != wanted:
        raise PayoutNotPending(f"Payout #{payout_id} was already {status}.")
    return PayoutOutcome(payout_id=payout_id, status=status, replayed=True)


def pay_payout(
    admin_racer_id: int,
    payout_id: int,
    *,
    method: str,
    reference: str,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> PayoutOutcome:
    """An admin marks a pending payout paid (method and the provider's reference). Idempotent."""
    method = require_payout_method(method)
    reference = " ".join((reference or "").split())
    if not reference or len(reference) > REFERENCE_LENGTH_MAX:
        raise InvalidInput("Give the payment's reference (gift card code, PayPal or bank reference).")
    return _pay(admin_racer_id, payout_id, method=method, reference=reference, uow=uow, now=now)


def _pay(
    admin_racer_id: int, payout_id: int, *, method: str, reference: str, uow: UnitOfWork, now: datetime | None
) -> PayoutOutcome:
    """The payout's decision: paid by `method` (a checked key), with the provider's reference."""
    now, currency = now or utc_now(), uow.base_settings.currency
    with uow:
        actor = load_admin(uow, admin_racer_id)
        payout = _payout(uow, payout_id)
        already = _decided(uow, payout_id, PayoutStatus.PAID)
        if already is not None:
            return already
        if method != STRIPE_PAYOUT_METHOD:
            _refuse_if_sending_by_stripe(payout)
        ids = uow.ledger.read_account_ids([in_flight_account(payout.racer_id), PAYOUTS_SENT], now=now)
        transaction = payout_paid_transaction(
            key=decision_key(payout_id),
            payout_id=payout_id,
            racer_id=payout.racer_id,
            amount_cents=payout.amount_cents,
            method=method,
            reference=reference,
            admin_racer_id=actor.racer_id,
            at=now,
            currency=currency,
        )
        written = uow.ledger.write_transaction(transaction, ids, now=now)
        if written.replayed:  # another admin decided it while we looked
            outcome = _decided(uow, payout_id, PayoutStatus.PAID)
            assert outcome is not None
            return outcome
        _set_status(
            uow, payout_id, PayoutStatus.PAID, actor.racer_id, now, method=method, reference=reference
        )
        record_admin_action(
            uow,
            ActionKind.PAYOUT_PAID,
            actor_id=actor.racer_id,
            racer_id=payout.racer_id,
            subject=f"Payout #{payout_id} of {format_cents(payout.amount_cents, currency)}",
            old_value=PayoutStatus.PENDING.value,
            new_value=f"paid by {method} (ref {reference})",
            at=now,
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


def stripe_transfer_key(payout_id: int) -> str:
    """The idempotency key of a payout's one Stripe transfer: every attempt sends it, so Stripe makes one."""
    return f"cozykart-payout-{payout_id}"


@dataclass(frozen=True)
class _StripeSend:
    racer_id: int
    amount_cents: int
    account_id: str


def _start_stripe_transfer(uow: UnitOfWork, admin_racer_id: int, payout_id: int, now: datetime):
    """Check a payout can go by Stripe and say, committed, that its transfer starts (so cancelling,
    rejecting or marking it paid by hand is refused from now); its decision if already paid."""
    with uow:
        load_admin(uow, admin_racer_id)
        payout = _payout(uow, payout_id)
        _lock_wallet(uow, payout.racer_id, now)  # as cancelling and rejecting do: one of them wins
        already = _decided(uow, payout_id, PayoutStatus.PAID)
        if already is not None:
            return already
        _decided(uow, payout_id, PayoutStatus.PENDING)  # refused when rejected or cancelled
        destination = PayoutDestination.from_record(payout.destination)
        if destination is None or destination.method != STRIPE_PAYOUT_METHOD:
            raise InvalidInput(f"Payout #{payout_id} was not asked for by Stripe: pay it with the form.")
        connection = uow.payouts.stripe_connection(payout.racer_id)
        if connection is None or connection.account_id != destination.stripe_account_id:
            raise InvalidInput(
                f"Payout #{payout_id}'s Stripe account is no longer the racer's: reject it with a reason."
            )
        if not connection.can_receive_transfers:
            raise StripeTransferRefused(
                f"The racer's Stripe account cannot receive transfers yet (set-up unfinished); "
                f"payout #{payout_id} stays pending and nothing was sent."
            )
        uow.payouts.mark_sending_by_stripe(payout_id, True)
        uow.commit()
        return _StripeSend(payout.racer_id, payout.amount_cents, connection.account_id)


def pay_payout_by_stripe(
    admin_racer_id: int, payout_id: int, *, uow: UnitOfWork, now: datetime | None = None
) -> PayoutOutcome:
    """An admin pays a Stripe payout in one click: a transfer to the racer's connected account, then the
    payout paid with the transfer's id as its reference. Idempotent, and never sends twice.

    The transfer's idempotency key is the payout's (`stripe_transfer_key`), so a second click, a retry
    or a crash between Stripe's answer and our commit sends the same key again and Stripe answers the
    first transfer; the decision transaction's key records the payout paid once. A transfer Stripe
    refused (nothing sent) leaves the payout pending and open to any decision again.
    """
    settings = uow.base_settings
    if not settings.stripe_api_key:
        raise StripeConnectFailed("Stripe is not set up here: pay this payout another way.")
    started = _start_stripe_transfer(uow, admin_racer_id, payout_id, now or utc_now())
    if isinstance(started, PayoutOutcome):
        return started
    try:
        transfer = stripe_connect.create_transfer(
            api_key=settings.stripe_api_key,
            api_base=settings.stripe_api_base,
            account_id=started.account_id,
            amount_cents=started.amount_cents,
            currency=settings.currency,
            payout_id=payout_id,
            idempotency_key=stripe_transfer_key(payout_id),
        )
    except StripeTransferRefused:
        with uow:
            uow.payouts.mark_sending_by_stripe(payout_id, False)  # nothing was sent: any decision again
            uow.commit()
        raise
    if (transfer.amount_cents, transfer.currency) != (started.amount_cents, settings.currency):
        raise StripeConnectFailed(f"Stripe's transfer {transfer.transfer_id} is not this payout's: check it.")
    return _pay(
        admin_racer_id,
        payout_id,
        method=STRIPE_PAYOUT_METHOD,
        reference=transfer.transfer_id,
        uow=uow,
        now=now,
    )


def return_reversed_transfer(
    transfer_id: str, reversed_total_cents: int, *, reversed_at: datetime, uow: UnitOfWork, now: datetime
) -> int:
    """Stripe reversed a payout's transfer (`transfer.reversed`, its running total): the part not yet
    returned goes back to the racer's wallet, in their words; the cents returned (0: nothing new).

    Inside the webhook's transaction; each returned part has its own key (the running total it
    brings the payout to), so a redelivered or older event returns nothing twice.
    """
    with uow:
        payout = uow.payouts.by_stripe_transfer(transfer_id)
        if payout is None or payout.status != PayoutStatus.PAID:
            raise NotFound(f"No payout was paid by Stripe transfer {transfer_id} (yet).")  # waits, retried
        ids = _lock_wallet(uow, payout.racer_id, now)
        returned_cents = uow.payouts.returned_cents(payout.id)
        amount_cents = min(reversed_total_cents, payout.amount_cents) - returned_cents
        if amount_cents <= 0:
            return 0
        transaction = payout_returned_transaction(
            key=f"payout:{payout.id}:returned:{returned_cents + amount_cents}",
            payout_id=payout.id,
            racer_id=payout.racer_id,
            amount_cents=amount_cents,
            transfer_id=transfer_id,
            at=reversed_at,
            currency=uow.base_settings.currency,
        )
        written = uow.ledger.write_transaction(transaction, ids, now=now)
        if not written.replayed:
            uow.emit(
                PayoutReturned(
                    payout_id=payout.id,
                    racer_id=payout.racer_id,
                    amount_cents=amount_cents,
                    transaction_key=transaction.key,
                    returned_at=reversed_at,
                )
            )
        uow.commit()
        return 0 if written.replayed else amount_cents


def reject_payout(
    admin_racer_id: int, payout_id: int, *, reason: str, uow: UnitOfWork, now: datetime | None = None
) -> PayoutOutcome:
    """An admin rejects a pending payout with a reason; the funds go back to the wallet."""
    now, currency = now or utc_now(), uow.base_settings.currency
    reason = require_reason(reason)
    with uow:
        actor = load_admin(uow, admin_racer_id)
        payout = _payout(uow, payout_id)
        ids = _lock_wallet(uow, payout.racer_id, now)  # a Stripe transfer starts under this lock
        already = _decided(uow, payout_id, PayoutStatus.REJECTED)
        if already is not None:
            return already
        _refuse_if_sending_by_stripe(_payout(uow, payout_id))  # read again, under the lock
        transaction = payout_rejected_transaction(
            key=decision_key(payout_id),
            payout_id=payout_id,
            racer_id=payout.racer_id,
            amount_cents=payout.amount_cents,
            reason=reason,
            admin_racer_id=actor.racer_id,
            at=now,
            currency=currency,
        )
        written = uow.ledger.write_transaction(transaction, ids, now=now)
        if written.replayed:
            outcome = _decided(uow, payout_id, PayoutStatus.REJECTED)
            assert outcome is not None
            return outcome
        _set_status(uow, payout_id, PayoutStatus.REJECTED, actor.racer_id, now, reason=reason)
        record_admin_action(
            uow,
            ActionKind.PAYOUT_REJECTED,
            actor_id=actor.racer_id,
            racer_id=payout.racer_id,
            subject=f"Payout #{payout_id} of {format_cents(payout.amount_cents, currency)}",
            old_value=PayoutStatus.PENDING.value,
            new_value="rejected: back in the wallet",
            reason=reason,
            at=now,
        )
        uow.emit(
            PayoutRejected(
                payout_id=payout_id,
                racer_id=payout.racer_id,
                amount_cents=payout.amount_cents,
                reason=reason,
                rejected_at=now,
            )
        )
        uow.commit()
        return PayoutOutcome(payout_id=payout_id, status=PayoutStatus.REJECTED, replayed=False)


def cancel_payout(
    racer_id: int, payout_id: int, *, uow: UnitOfWork, now: datetime | None = None
) -> PayoutOutcome:
    """The racer withdraws their own pending request: the money is back in their wallet at once. Idempotent.

    One of paid, rejected or cancelled wins, once: each is the payout's one
    decision transaction (the same key), written under the racer's wallet lock.
    """
    now, currency = now or utc_now(), uow.base_settings.currency
    with uow:
        actor = load_actor(uow, racer_id)
        payout = _payout(uow, payout_id)
        if payout.racer_id != actor.racer_id:
            raise NotFound("That payout does not exist.")  # someone else's payout: never say it exists
        ids = _lock_wallet(uow, actor.racer_id, now)
        already = _decided(uow, payout_id, PayoutStatus.CANCELLED)
        if already is not None:
            return already
        _refuse_if_sending_by_stripe(_payout(uow, payout_id))  # read again, under the lock
        transaction = payout_cancelled_transaction(
            key=decision_key(payout_id),
            payout_id=payout_id,
            racer_id=actor.racer_id,
            amount_cents=payout.amount_cents,
            at=now,
            currency=currency,
        )
        written = uow.ledger.write_transaction(transaction, ids, now=now)
        if written.replayed:  # an admin decided it at the same instant
            outcome = _decided(uow, payout_id, PayoutStatus.CANCELLED)
            assert outcome is not None
            return outcome
        _set_status(uow, payout_id, PayoutStatus.CANCELLED, actor.racer_id, now)
        uow.commit()
        return PayoutOutcome(payout_id=payout_id, status=PayoutStatus.CANCELLED, replayed=False)


def cancel_pending_payout(
    racer_id: int, payout_id: int | None, *, uow: UnitOfWork, now: datetime | None = None
) -> PayoutOutcome:
    """`cancel_payout` for a racer who names a payout, or has exactly one pending (`/cashout-cancel`)."""
    with uow:
        if payout_id is None:
            mine = uow.payouts.pending_of(racer_id)
            if not mine:
                raise PayoutNotPending("You have no pending payout to cancel.")
            if len(mine) > 1:
                numbers = ", ".join(f"#{row.id}" for row in mine)
                raise InvalidInput(
                    f"You have {len(mine)} pending payouts ({numbers}); say which one with the payout option."
                )
            payout_id = mine[0].id
        outcome = cancel_payout(racer_id, payout_id, uow=uow, now=now)  # joined: one transaction
        uow.commit()
    return outcome


def _refuse_if_sending_by_stripe(payout) -> None:
    """A pending payout whose Stripe transfer was started is finished by Stripe only (never twice)."""
    if payout.status == PayoutStatus.PENDING and payout.method == STRIPE_PAYOUT_METHOD:
        raise PayoutNotPending(
            f'Payout #{payout.id} is being sent by Stripe: an admin finishes it with "Pay with Stripe".'
        )


def _set_status(
    uow: UnitOfWork, payout_id: int, status: PayoutStatus, admin_racer_id: int, now: datetime, **fields
) -> None:
    changed = uow.payouts.decide(payout_id, status, admin_racer_id, now, **fields)
    assert changed == 1, "only the one decision transaction moves a payout out of pending"


def _record_direct(
    uow: UnitOfWork,
    actor_id: int,
    racer,
    payout_id: int,
    cents: int,
    method: str,
    reference: str,
    at: datetime,
) -> None:
    """The direct payout's line in the audit trail, in its transaction."""
    record_admin_action(
        uow,
        ActionKind.PAYOUT_DIRECT,
        actor_id=actor_id,
        racer_id=racer.id,
        subject=f"Payout #{payout_id} of {format_cents(cents, uow.base_settings.currency)} to {racer.display_name}",
        new_value=f"paid by {method} (ref {reference})",
        at=at,
    )


def direct_payout(
    admin_racer_id: int,
    racer_id: int,
    amount_cents: int,
    *,
    method: str,
    reference: str,
    key: str,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> int:
    """An admin pays a racer directly (the seed's `/payout @user 50.00`): no threshold, ≤ available."""
    currency = uow.base_settings.currency
    key = require_key(key)
    require_positive_cents(amount_cents, "The payout amount")
    method = require_payout_method(method)
    reference = " ".join((reference or "").split())[:REFERENCE_LENGTH_MAX] or "direct payout"
    with uow:
        actor = load_admin(uow, admin_racer_id)
        racer = uow.league.racer(racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        instant = now or utc_now()  # every row it writes is recorded at this instant
        claim = _claim_payout(
            uow,
            racer_id,
            amount_cents,
            key=key,
            payout_min_cents=1,  # an admin's direct payout has no threshold
            currency=currency,
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
            currency=currency,
        )
        uow.ledger.write_transaction(transaction, claim.account_ids, now=instant)
        _record_direct(uow, actor.racer_id, racer, claim.payout_id, amount_cents, method, reference, instant)
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


def direct_payout_to_discord_user(
    admin_racer_id: int,
    discord_id: str,
    amount_cents: int,
    *,
    method: str,
    reference: str,
    key: str,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> int:
    """`direct_payout` to the racer a Discord user is (the slash command `/payout user:`), in one transaction."""
    with uow:
        racer = uow.league.racer_by_discord_id(str(discord_id))
        if racer is None:
            raise NotARacerYet()
        payout_id = direct_payout(
            admin_racer_id,
            racer.id,
            amount_cents,
            method=method,
            reference=reference,
            key=key,
            uow=uow,  # joined: one transaction
            now=now,
        )
        uow.commit()
    return payout_id


def pending_payouts(*, uow: UnitOfWork) -> list:
    """The admin's queue: pending payouts, oldest first."""
    with uow:
        return uow.payouts.pending()

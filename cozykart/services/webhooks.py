"""The webhook inbox: store every verified event, then apply it to the ledger.

`receive` runs in one transaction: the event is inserted (unique per provider
and event id, so a redelivery finds it and changes nothing), then applied under
a savepoint. If applying fails, the savepoint is undone and the event stays in
the inbox with its error; the route still acknowledges, because the event is
safely stored. An event that needs one not seen yet (a refund before its sale)
waits, and is applied the moment its payment arrives. `retry_due` picks up
failed and waiting events with backoff; an admin can `replay` one.

Only a failure that can pass later is retried: a payment not seen yet (waiting),
no DJ to credit yet, a database error. Any other failure (a validation error, a
refund larger than what remains, a stored fact that cannot be read) fails the
same way every time: it is stored failed with no next attempt, parked for an
admin (`InboxRow.parked`). A sale or tip of zero is ignored: nothing was paid.

The webhook routes go through `receive_batch` (via `services.webhook_writer`):
the same steps for many deliveries in one transaction, one commit for all: first
in one go under one savepoint, then, only when a delivery raised, again with a
savepoint each. Its per-event statements are the inbox and ledger repositories'
(`uow.inbox`, `uow.ledger`), which run them through compiled statements on the
DBAPI cursor; the settings are the unit of work's (`uow.settings`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cozykart.db.repositories.inbox import STORAGE_ERRORS
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind
from cozykart.domain.errors import CozyKartError, InvalidInput, NotFound
from cozykart.domain.payments import (
    NOTHING_PAID,
    RETRYABLE_INBOX_STATUSES,
    AccountUpdated,
    CheckoutNotSeen,
    CheckoutPending,
    DisputeOpened,
    DisputeWon,
    Ignored,
    InboxStatus,
    NoDjOnDuty,
    NotReplayable,
    PaymentFact,
    Refund,
    Sale,
    StoredMeanwhile,
    Tip,
    TransferReversed,
    VerifiedEvent,
    fact_from_record,
    nothing_paid,
)
from cozykart.domain.payout_destination import StripeConnection
from cozykart.services import ledger, payouts, stripe_accounts
from cozykart.services.actors import load_admin
from cozykart.services.audit import record_admin_action

ATTEMPTS_MAX = 10
RETRY_DELAY_FIRST = timedelta(seconds=15)
RETRY_DELAY_MAX = timedelta(hours=1)
RETRY_BATCH_MAX = 100
ERROR_LENGTH_MAX = 500
INBOX_PAGE_MAX = 200
PENDING_REASON = (
    "the checkout completed with a delayed payment method; the sale counts when the payment succeeds"
)


# Failures that can pass later, so they are retried with backoff (NotFound waits instead).
# Any other failure is permanent: stored failed, with no next attempt.
RETRIED_ERRORS: tuple[type[Exception], ...] = (NoDjOnDuty, *STORAGE_ERRORS, OSError)


@dataclass(frozen=True)
class InboxReceipt:
    inbox_id: int
    status: str
    duplicate: bool


@dataclass(frozen=True)
class InboxRow:
    inbox_id: int
    provider: str
    event_id: str
    event_type: str
    fact_kind: str
    payment_key: str | None
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    next_attempt_at: datetime | None
    applied_at: datetime | None

    @property
    def parked(self) -> bool:
        """Failed and not retried on its own (a permanent failure, or out of attempts): an admin's to fix."""
        return self.status == InboxStatus.FAILED and self.next_attempt_at is None


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the `attempts`-th failure: 15 s, 30 s, 1 min, ... at most an hour."""
    assert attempts >= 1
    return min(RETRY_DELAY_FIRST * (2 ** (attempts - 1)), RETRY_DELAY_MAX)


def receive(
    event: VerifiedEvent, *, body_sha256: str, uow: UnitOfWork, now: datetime | None = None
) -> InboxReceipt:
    """Store a verified event (once) and apply it; returns where it ended up.

    The hot path of every webhook: one lookup, the ledger's statements under a
    savepoint, one insert of the event with its outcome.
    """
    now = now or utc_now()
    try:
        with uow:
            receipt = receive_in_transaction(event, body_sha256=body_sha256, uow=uow, now=now)
            uow.commit()
            return receipt
    except StoredMeanwhile:
        # The same delivery was stored by a concurrent request first.
        with uow:
            existing = uow.inbox.find_event(event.provider, event.event_id)
            if existing is None:
                raise
            return InboxReceipt(existing.id, existing.status, duplicate=True)


def receive_in_transaction(
    event: VerifiedEvent, *, body_sha256: str, uow: UnitOfWork, now: datetime, optimistic: bool = False
) -> InboxReceipt:
    """`receive` inside a transaction the caller commits (group commit batches many).

    `optimistic`: apply the fact with no savepoint of its own, letting a failure raise
    (the caller undoes more than this event; see `_receive_optimistically`).
    """
    existing = uow.inbox.find_event(event.provider, event.event_id)
    if existing is not None:
        return InboxReceipt(existing.id, existing.status, duplicate=True)
    fact = event.fact
    payment_key = getattr(fact, "payment_key", None)
    values: dict[str, Any] = {
        "provider": event.provider,
        "event_id": event.event_id,
        "event_type": event.event_type[:80],
        "payment_key": payment_key,
        "charge_key": getattr(fact, "charge_key", None),
        "fact_kind": fact.kind,
        "fact": json.dumps(fact.to_record(), sort_keys=True),
        "body_sha256": body_sha256,
        "received_at": now,
        "attempts": 0,
    }
    currency = uow.base_settings.currency  # not a money setting: the ledger reads those (uow.settings)
    if isinstance(fact, Ignored):
        values.update(status=InboxStatus.IGNORED, last_error=fact.reason)
    elif nothing_paid(fact):
        values.update(status=InboxStatus.IGNORED, last_error=NOTHING_PAID)
    elif fact.moves_money and fact.currency != currency:
        values.update(
            status=InboxStatus.FLAGGED,
            last_error=f"currency {fact.currency or 'unknown'} is not this deployment's {currency}; "
            "not applied",
        )
    elif isinstance(fact, CheckoutPending):
        values.update(status=InboxStatus.IGNORED, last_error=PENDING_REASON)
    else:
        values.update(_attempt(uow, fact, event.provider, payment_key, None, 0, now, optimistic=optimistic))
    inbox_id = uow.inbox.store_event(values)
    if values["status"] == InboxStatus.WAITING and payment_key is not None:
        uow.inbox.waiting_payment_keys().add(payment_key)
    _after_stored(uow, fact, values["status"], now)
    return InboxReceipt(inbox_id, values["status"], duplicate=False)


def _after_stored(uow: UnitOfWork, fact: PaymentFact, status: str, now: datetime) -> None:
    """Apply the events waiting on this one: a sale's or tip's refunds and disputes (named by its
    payment or its charge), a delayed payment's success once its checkout's completion is known."""
    if status == InboxStatus.APPLIED and isinstance(fact, (Sale, Tip)):
        _apply_waiting_for(uow, fact.payment_key, now)
        _apply_waiting_for(uow, fact.charge_key, now)
    elif isinstance(fact, CheckoutPending):
        _apply_waiting_for(uow, fact.payment_key, now)


@dataclass(frozen=True)
class Delivery:
    """One verified delivery waiting for the inbox (the group-commit writer's unit)."""

    event: VerifiedEvent
    body_sha256: str
    received_at: datetime


def receive_batch(deliveries: Sequence[Delivery], *, uow: UnitOfWork) -> list[InboxReceipt | Exception]:
    """Store and apply many deliveries in ONE transaction: one durable commit for all.

    The batch is first applied in one go (`_receive_optimistically`); when any
    delivery raises it is undone and each delivery runs under its own savepoint,
    in order. Either way the batch behaves
    as the same deliveries received one after another: a repeat of an event
    earlier in the batch (or stored before) is a duplicate and changes nothing;
    a refund before its sale in the same batch waits, then is applied by the
    sale; an event whose fact fails to apply is stored failed, with its error
    (`_attempt`). A delivery that cannot even be stored (an unexpected error)
    has its savepoint undone and gets that error in its place; the others are
    unaffected. When the transaction cannot begin (a locked or unreachable
    database) or the commit itself fails, it raises: nothing is stored and no
    delivery may be acknowledged.

    The ledger applies the unit of work's settings (`uow.settings`: an admin's
    stored values over its base settings), read once per transaction, so once
    per batch.
    """
    with uow:
        # Open the transaction once, before the first delivery (SQLite: BEGIN IMMEDIATE, the write lock;
        # PostgreSQL: a connection): a locked or unreachable database then fails the whole batch in one
        # busy or connect timeout, instead of once per delivery, each waiting its own.
        with uow.plain_savepoint("batch"):
            pass
        outcomes = _receive_optimistically(deliveries, uow)
        if outcomes is None:
            outcomes = [_receive_one(delivery, uow) for delivery in deliveries]
        uow.commit()
    return outcomes


def _receive_optimistically(
    deliveries: Sequence[Delivery], uow: UnitOfWork
) -> list[InboxReceipt | Exception] | None:
    """The batch in one go, under ONE savepoint: the receipts, or None when any delivery raised.

    A savepoint per delivery (and one per fact applied) is two round trips each on
    PostgreSQL, and almost every batch has nothing to undo. When nothing in it
    raises, the outcome is what the savepoints would have left (each one
    released); when anything raises (a fact that fails or waits, a delivery
    another process stored meanwhile) the whole pass is rolled back and the
    caller runs the careful per-delivery path, so the rules above hold either way.
    """
    uow.inbox.remember_events([(d.event.provider, d.event.event_id) for d in deliveries])
    try:
        with uow.plain_savepoint("optimistic"):
            receipts: list[InboxReceipt | Exception] = []
            for delivery in deliveries:
                receipts.append(
                    receive_in_transaction(
                        delivery.event,
                        body_sha256=delivery.body_sha256,
                        uow=uow,
                        now=delivery.received_at,
                        optimistic=True,
                    )
                )
                uow.handle_events()
            return receipts
    except Exception:  # noqa: BLE001 - undone whole; the careful path gives each delivery its outcome
        return None


def _receive_one(delivery: Delivery, uow: UnitOfWork) -> InboxReceipt | Exception:
    """One delivery under its own savepoint: its receipt, or the error that kept it from being stored."""
    event = delivery.event
    try:
        with uow.plain_savepoint("delivery"):
            receipt = receive_in_transaction(
                event, body_sha256=delivery.body_sha256, uow=uow, now=delivery.received_at
            )
            uow.handle_events()
            return receipt
    except StoredMeanwhile as error:
        # PostgreSQL: another process stored the same event and committed first.
        existing = uow.inbox.find_event(event.provider, event.event_id)
        return InboxReceipt(existing.id, existing.status, duplicate=True) if existing is not None else error
    except Exception as error:  # noqa: BLE001 - this delivery is not stored and not acknowledged
        return error


def retry_due(*, uow: UnitOfWork, now: datetime | None = None) -> int:
    """Apply failed and waiting events whose time has come; returns how many were applied."""
    now = now or utc_now()
    with uow:
        rows = uow.inbox.due_for_retry(now, RETRY_BATCH_MAX, RETRYABLE_INBOX_STATUSES)
        applied = sum(_retry(uow, row, now) == InboxStatus.APPLIED for row in rows)
        uow.commit()
        return applied


def replay(inbox_id: int, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> InboxRow:
    """An admin applies a failed or waiting event again, now."""
    now = now or utc_now()
    with uow:
        load_admin(uow, actor_id)
        row = uow.inbox.event_row(inbox_id)
        if row is None:
            raise NotFound("There is no webhook event with that number.")
        if row.status not in RETRYABLE_INBOX_STATUSES:
            raise NotReplayable(f"Only failed or waiting events can be replayed; this one is {row.status}.")
        old_status = row.status
        _retry(uow, row, now)
        replayed = uow.inbox.event_row(inbox_id)
        assert replayed is not None
        record_admin_action(
            uow,
            ActionKind.WEBHOOK_REPLAY,
            actor_id=actor_id,
            subject=f"Webhook event #{inbox_id} ({row.provider} {row.event_type})",
            old_value=old_status,
            new_value=replayed.status,
            at=now,
        )
        view = _view(replayed)
        uow.commit()
        return view


def list_inbox(*, uow: UnitOfWork, status: str | None = None, limit: int = 50) -> tuple[InboxRow, ...]:
    limit = max(1, min(limit, INBOX_PAGE_MAX))
    with uow:
        return tuple(_view(row) for row in uow.inbox.latest_events(status, limit))


def inbox_counts(*, uow: UnitOfWork) -> dict[str, int]:
    with uow:
        return uow.inbox.status_counts()


def set_product_cost(sku: str, cost_cents: int, *, uow: UnitOfWork, now: datetime | None = None) -> None:
    """Configure a product's manufacturing cost (by SKU, or a Ko-fi item code)."""
    sku = sku.strip()
    if not sku or len(sku) > 100:
        raise InvalidInput("A SKU is 1 to 100 characters.")
    if not isinstance(cost_cents, int) or isinstance(cost_cents, bool) or cost_cents < 0:
        raise InvalidInput("A cost is a whole number of cents, zero or more.")
    with uow:
        uow.inbox.set_product_cost(sku, cost_cents, now or utc_now())
        uow.commit()


# --- inside the transaction --------------------------------------------------


def _attempt(
    uow: UnitOfWork,
    fact: PaymentFact,
    provider: str,
    payment_key: str | None,
    inbox_id: int | None,
    attempts_before: int,
    now: datetime,
    *,
    optimistic: bool = False,
) -> dict:
    """Apply one fact under a savepoint (with `optimistic`, none: a failure raises); the inbox columns
    that record the outcome."""
    attempts = attempts_before + 1
    if optimistic:
        applied_cents = _apply_fact(uow, fact, provider, payment_key, inbox_id, now)
        return _applied(attempts, applied_cents, now)
    try:
        with uow.plain_savepoint("apply"):
            applied_cents = _apply_fact(uow, fact, provider, payment_key, inbox_id, now)
    except NotFound as error:
        # A refund or dispute before its payment: wait for it (and look again later).
        return _not_applied(InboxStatus.WAITING, str(error), attempts, now)
    except RETRIED_ERRORS as error:
        return _not_applied(InboxStatus.FAILED, _error_text(error), attempts, now)
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - stored with the event; the inbox loses nothing
        # Permanent: the same fact fails the same way every time, so it is parked for an admin, never retried.
        return _not_applied(InboxStatus.FAILED, _error_text(error), attempts, now, retry=False)
    return _applied(attempts, applied_cents, now)


def _applied(attempts: int, applied_cents: int, now: datetime) -> dict:
    return {
        "status": InboxStatus.APPLIED,
        "attempts": attempts,
        "applied_cents": applied_cents,
        "applied_at": now,
        "last_error": None,
        "next_attempt_at": None,
    }


def _error_text(error: Exception) -> str:
    return str(error) if isinstance(error, CozyKartError) else f"{type(error).__name__}: {error}"


def _not_applied(status: str, error: str, attempts: int, now: datetime, *, retry: bool = True) -> dict:
    # After the last try (or a permanent failure) it stays parked, visible to admins, who can replay it.
    retry = retry and attempts < ATTEMPTS_MAX
    return {
        "status": status,
        "attempts": attempts,
        "last_error": error[:ERROR_LENGTH_MAX],
        "next_attempt_at": now + retry_delay(attempts) if retry else None,
    }


def _retry(uow: UnitOfWork, row, now: datetime) -> str:
    """Apply a stored event again and record the outcome on its row; returns its new status."""
    fact: PaymentFact | None = None
    try:
        fact = fact_from_record(json.loads(row.fact))
    except (InvalidInput, ValueError) as error:  # stored before its fields were checked at the door
        outcome = _not_applied(InboxStatus.FAILED, str(error), row.attempts + 1, now, retry=False)
    else:
        if nothing_paid(fact):  # a free order stored failed by an earlier version
            outcome = {"status": InboxStatus.IGNORED, "last_error": NOTHING_PAID, "next_attempt_at": None}
        else:
            outcome = _attempt(uow, fact, row.provider, row.payment_key, row.id, row.attempts, now)
    uow.inbox.record_outcome(row.id, outcome)
    if fact is not None:
        _after_stored(uow, fact, outcome["status"], now)
    return outcome["status"]


def _apply_waiting_for(uow: UnitOfWork, payment_key: str | None, now: datetime) -> None:
    if payment_key is None:
        return
    if payment_key not in uow.inbox.waiting_payment_keys():
        return
    for inbox_id in uow.inbox.waiting_for_payment(payment_key):
        # Read again: applying an earlier one may have applied this one already (a sale its refund).
        row = uow.inbox.waiting_row(inbox_id)
        if row is not None:
            _retry(uow, row, now)


def _apply_fact(
    uow: UnitOfWork,
    fact: PaymentFact,
    provider: str,
    payment_key: str | None,
    inbox_id: int | None,
    now: datetime,
) -> int:
    """Call the ledger for one fact, inside the open transaction, recorded `now`; returns the cents it moved."""
    if isinstance(fact, Sale):
        return _apply_sale(uow, fact, provider, now)
    if isinstance(fact, Tip):
        return _apply_tip(uow, fact, provider, now)
    if isinstance(fact, Refund):
        return _apply_refund(uow, fact, provider, payment_key, inbox_id, now)
    if isinstance(fact, DisputeOpened):
        ledger.open_dispute(
            payment_key=_sale_key(uow, provider, fact.payment_key),
            dispute_key=fact.dispute_key,
            opened_at=fact.opened_at,
            amount_cents=fact.amount_cents,
            uow=uow,
            now=now,
        )
        return fact.amount_cents
    if isinstance(fact, DisputeWon):
        ledger.reinstate_dispute(
            dispute_key=fact.dispute_key, reinstated_at=fact.reinstated_at, uow=uow, now=now
        )
        return 0
    if isinstance(fact, TransferReversed):
        return payouts.return_reversed_transfer(
            fact.transfer_key, fact.reversed_total_cents, reversed_at=fact.reversed_at, uow=uow, now=now
        )
    if isinstance(fact, AccountUpdated):
        stripe_accounts.account_updated(
            StripeConnection(fact.account_key, fact.can_receive_transfers, fact.payouts_enabled),
            uow=uow,
            now=now,
        )
        return 0
    raise AssertionError(f"no way to apply {fact.kind}")


def _apply_sale(uow: UnitOfWork, fact: Sale, provider: str, now: datetime) -> int:
    """Record the sale at the instant that decides its race, its cost the known cost of its SKUs."""
    ledger.record_sale(
        key=fact.payment_key,
        gross_cents=fact.gross_cents,
        sold_at=_bought_at(uow, fact, provider, fact.sold_at),
        item=fact.item,
        cost_cents=min(_cost_of(uow, fact.skus), fact.gross_cents),
        provider=provider,
        fan_name=fact.public_name,  # the ledger's fan name is what public surfaces show
        uow=uow,
        now=now,
    )
    return fact.gross_cents


def _apply_tip(uow: UnitOfWork, fact: Tip, provider: str, now: datetime) -> int:
    """Record the tip for the DJ it names, at the instant the fan paid."""
    ledger.record_tip(
        key=fact.payment_key,
        dj_racer_id=_dj_for(uow, fact.dj),
        tip_cents=fact.tip_cents,
        tipped_at=_bought_at(uow, fact, provider, fact.tipped_at),
        song=fact.song,
        fan_name=fact.public_name,
        message=fact.public_message,
        provider=provider,
        uow=uow,
        now=now,
    )
    return fact.tip_cents


def _apply_refund(
    uow: UnitOfWork, fact: Refund, provider: str, payment_key: str | None, inbox_id: int | None, now: datetime
) -> int:
    """Refund what is new: a running total less what its provider's refunds already took back."""
    amount_cents = fact.amount_cents
    if fact.cumulative:
        amount_cents -= uow.inbox.refunded_so_far(payment_key, provider, inbox_id)
    if amount_cents <= 0:
        return 0  # an older running total than one already applied
    ledger.refund_payment(
        payment_key=_sale_key(uow, provider, fact.payment_key),
        refund_key=fact.refund_key,
        refunded_at=fact.refunded_at,
        amount_cents=amount_cents,
        uow=uow,
        now=now,
    )
    return amount_cents


def _bought_at(uow: UnitOfWork, fact: Sale | Tip, provider: str, paid_at: datetime) -> datetime:
    """The instant that decides the race: when the fan paid, or for a delayed payment method when
    the checkout completed (its `CheckoutPending`, stored when it arrived)."""
    if not fact.delayed_payment:
        return paid_at
    pending_fact = uow.inbox.checkout_pending_fact(provider, fact.payment_key)
    if pending_fact is None:
        raise CheckoutNotSeen(
            "The checkout of this delayed payment has not arrived yet; the sale waits for it."
        )
    pending = fact_from_record(json.loads(pending_fact))
    assert isinstance(pending, CheckoutPending), pending
    return pending.completed_at


def _sale_key(uow: UnitOfWork, provider: str, payment_key: str) -> str:
    """The payment key of the sale or tip a refund or dispute is about: its own, or, when it names
    only a charge (a Charges-API payment, `payment_intent: null`), the sale that knows that charge."""
    sale_key = uow.inbox.sale_key_by_charge(provider, payment_key)
    return sale_key if sale_key is not None else payment_key


def _cost_of(uow: UnitOfWork, skus: tuple[tuple[str, int], ...]) -> int:
    if not skus:
        return 0
    costs = uow.inbox.product_costs([sku for sku, _ in skus])
    return sum(costs.get(sku, 0) * quantity for sku, quantity in skus)


def _dj_for(uow: UnitOfWork, named: str | None) -> int:
    """The DJ a tip names (Discord id or username), or the DJ on duty."""
    djs = uow.league.djs()
    if named:
        for racer in djs:
            if named in (racer.discord_id, racer.username):
                return racer.id
        raise NoDjOnDuty(f"No DJ is called {named!r}; give them the DJ role, then replay this tip.")
    if not djs:
        raise NoDjOnDuty("No racer has the DJ role, so the tip cannot be credited yet.")
    return djs[0].id


def _view(row) -> InboxRow:
    return InboxRow(
        inbox_id=row.id,
        provider=row.provider,
        event_id=row.event_id,
        event_type=row.event_type,
        fact_kind=row.fact_kind,
        payment_key=row.payment_key,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        received_at=row.received_at,
        next_attempt_at=row.next_attempt_at,
        applied_at=row.applied_at,
    )

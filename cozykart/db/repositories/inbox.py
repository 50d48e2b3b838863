"""The inbox repository: the webhook inbox: stored provider events, their status and retries.

The statements every webhook runs (finding an event, storing it, the waiting
payment keys) are built once and run through `cozykart.db.lean` on the
transaction's connection. It remembers the payment keys that waiting events
name for the transaction (kept up to date as events wait; forgotten when a
savepoint rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col
from sqlmodel import select as orm_select

from cozykart.db import lean
from cozykart.db.inbox_tables import ProductCost, WebhookEvent
from cozykart.db.repositories import Repository
from cozykart.domain.payments import CheckoutPending, InboxStatus, Refund, Sale, StoredMeanwhile, Tip

# What a database failure raises (a lost connection, a lock timeout): the inbox retries those.
STORAGE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError,)

_inbox = WebhookEvent.__table__
# Built once: every webhook runs these, and building a statement costs more than running it.
_FIND_EVENT = select(_inbox.c.id, _inbox.c.status).where(
    _inbox.c.provider == bindparam("provider"), _inbox.c.event_id == bindparam("event_id")
)
_INSERT_EVENT = insert(_inbox).returning(_inbox.c.id)
_WAITING_PAYMENT_KEYS = (
    select(_inbox.c.payment_key)
    .where(_inbox.c.status == bindparam("waiting"), _inbox.c.payment_key.is_not(None))
    .distinct()
)
_WAITING_FOR_PAYMENT = (
    select(_inbox.c.id)
    .where(_inbox.c.payment_key == bindparam("payment_key"), _inbox.c.status == InboxStatus.WAITING)
    .order_by(_inbox.c.id)
)
_WAITING_ROW = select(_inbox).where(
    _inbox.c.id == bindparam("inbox_id"), _inbox.c.status == InboxStatus.WAITING
)
_CHECKOUT_PENDING = (
    select(_inbox.c.fact)
    .where(
        _inbox.c.provider == bindparam("provider"),
        _inbox.c.payment_key == bindparam("payment_key"),
        _inbox.c.fact_kind == CheckoutPending.kind,
    )
    .order_by(_inbox.c.id)
    .limit(1)
)
_SALE_BY_CHARGE = (
    select(_inbox.c.payment_key)
    .where(
        _inbox.c.provider == bindparam("provider"),
        _inbox.c.charge_key == bindparam("charge_key"),
        _inbox.c.fact_kind.in_((Sale.kind, Tip.kind)),
        _inbox.c.status == InboxStatus.APPLIED,
    )
    .order_by(_inbox.c.id)
    .limit(1)
)


@dataclass(frozen=True)
class FoundEvent:
    id: int
    status: str


class InboxRepository(Repository):
    def __init__(self, session) -> None:
        super().__init__(session)
        self._connection: Connection | None = None
        self._waiting_payment_keys: set[str] | None = None
        self._events: dict[tuple[str, str], FoundEvent | None] = {}  # remembered by `remember_events`

    def forget(self) -> None:
        self._waiting_payment_keys = None
        self._events.clear()

    @property
    def connection(self) -> Connection:
        """The transaction's connection, looked up once (the same for the whole transaction)."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    # --- the hot path: every delivery -------------------------------------------------

    def remember_events(self, keys: list[tuple[str, str]]) -> None:
        """Look up these (provider, event id) pairs in one statement, for `find_event` to answer from.

        A webhook batch looks each delivery up; one statement for all of them saves a
        round trip per delivery. What this transaction stores is remembered too; an
        event another process stores meanwhile is refused by the unique key
        (`store_event` raises StoredMeanwhile), so a stale answer never stores twice.
        """
        wanted = set(keys)
        if not wanted:
            return
        providers = sorted({provider for provider, _ in wanted})
        event_ids = sorted({event_id for _, event_id in wanted})
        rows = self.connection.execute(
            select(_inbox.c.provider, _inbox.c.event_id, _inbox.c.id, _inbox.c.status).where(
                _inbox.c.provider.in_(providers), _inbox.c.event_id.in_(event_ids)
            )
        ).all()
        self._events.update(dict.fromkeys(wanted))
        for provider, event_id, inbox_id, status in rows:
            if (provider, event_id) in wanted:
                self._events[provider, event_id] = FoundEvent(inbox_id, status)

    def find_event(self, provider: str, event_id: str) -> FoundEvent | None:
        """The stored event with this provider's event id (its id and status), if any."""
        if (provider, event_id) in self._events:
            return self._events[provider, event_id]
        rows = lean.execute(self.connection, _FIND_EVENT, {"provider": provider, "event_id": event_id})
        return FoundEvent(*rows[0]) if rows else None

    def store_event(self, values: dict) -> int:
        """Insert an event with its outcome; its inbox id.

        Raises StoredMeanwhile when another transaction stored the same provider
        event first (its unique key refused this one; on PostgreSQL the
        transaction, or the savepoint around this, must then be rolled back).
        """
        try:
            inbox_id = lean.execute(self.connection, _INSERT_EVENT, values)[0][0]
        except IntegrityError as error:
            raise StoredMeanwhile("another transaction stored this event first") from error
        if (values["provider"], values["event_id"]) in self._events:
            self._events[values["provider"], values["event_id"]] = FoundEvent(inbox_id, values["status"])
        return inbox_id

    def waiting_payment_keys(self) -> set[str]:
        """The payment keys that waiting events name, read once per transaction (then kept up to date).

        Every sale looks for events waiting on it; almost none are, so a batch reads
        the (few) waiting keys once instead of querying per sale. A waiting event
        another process commits meanwhile is left to `retry_due`.
        """
        if self._waiting_payment_keys is None:
            rows = lean.execute(self.connection, _WAITING_PAYMENT_KEYS, {"waiting": InboxStatus.WAITING})
            self._waiting_payment_keys = {key for (key,) in rows}
        return self._waiting_payment_keys

    def waiting_for_payment(self, payment_key: str) -> list[int]:
        """The ids of the events waiting for this payment, oldest first."""
        return [
            inbox_id
            for (inbox_id,) in self.connection.execute(
                _WAITING_FOR_PAYMENT, {"payment_key": payment_key}
            ).all()
        ]

    def waiting_row(self, inbox_id: int):
        """The event's row while it is still waiting (None once it is not)."""
        return self.connection.execute(_WAITING_ROW, {"inbox_id": inbox_id}).first()

    def checkout_pending_fact(self, provider: str, payment_key: str) -> str | None:
        """The stored fact (JSON) of the first `CheckoutPending` for this payment, if one arrived."""
        row = self.connection.execute(
            _CHECKOUT_PENDING, {"provider": provider, "payment_key": payment_key}
        ).first()
        return row.fact if row is not None else None

    def sale_key_by_charge(self, provider: str, charge_key: str) -> str | None:
        """The payment key of the first applied sale or tip that knows this charge, if any."""
        row = self.connection.execute(
            _SALE_BY_CHARGE, {"provider": provider, "charge_key": charge_key}
        ).first()
        return row.payment_key if row is not None else None

    def refunded_so_far(self, payment_key: str | None, provider: str, inbox_id: int | None) -> int:
        """Cents already taken back for this payment by this provider's running-total refunds."""
        statement = select(func.coalesce(func.sum(_inbox.c.applied_cents), 0)).where(
            _inbox.c.payment_key == payment_key,
            _inbox.c.provider == provider,
            _inbox.c.fact_kind == Refund.kind,
            _inbox.c.status == InboxStatus.APPLIED,
        )
        if inbox_id is not None:
            statement = statement.where(_inbox.c.id != inbox_id)
        return int(self.connection.execute(statement).scalar_one())

    def product_costs(self, skus: Iterable[str]) -> dict[str, int]:
        """The configured manufacturing cost of each of these SKUs that has one."""
        return {
            cost.sku: cost.cost_cents
            for cost in self.session.exec(orm_select(ProductCost).where(col(ProductCost.sku).in_(list(skus))))
        }

    # --- retries, replays, the admin's view ------------------------------------------------

    def record_outcome(self, inbox_id: int, outcome: dict) -> None:
        """Write an attempt's outcome (status, attempts, error, next attempt...) on the event's row."""
        self.connection.execute(update(_inbox).where(_inbox.c.id == inbox_id).values(**outcome))
        for key, found in self._events.items():  # a waiting event a sale applied: remembered as it is now
            if found is not None and found.id == inbox_id:
                self._events[key] = FoundEvent(inbox_id, outcome["status"])

    def due_for_retry(self, now: datetime, limit: int, statuses: Iterable[str]) -> list:
        """Failed and waiting events whose next attempt has come, soonest first, at most `limit`."""
        return self.connection.execute(
            select(_inbox)
            .where(_inbox.c.status.in_(statuses))
            .where(_inbox.c.next_attempt_at.is_not(None), _inbox.c.next_attempt_at <= now)
            .order_by(_inbox.c.next_attempt_at, _inbox.c.id)
            .limit(limit)
        ).all()

    def event_row(self, inbox_id: int):
        return self.connection.execute(select(_inbox).where(_inbox.c.id == inbox_id)).first()

    def latest_events(self, status: str | None, limit: int) -> list:
        """The newest events (of one status, or all), newest first."""
        statement = select(_inbox).order_by(_inbox.c.id.desc()).limit(limit)
        if status is not None:
            statement = statement.where(_inbox.c.status == status)
        return self.connection.execute(statement).all()

    def status_counts(self) -> dict[str, int]:
        rows = self.connection.execute(select(_inbox.c.status, func.count()).group_by(_inbox.c.status)).all()
        return {status: count for status, count in rows}

    def set_product_cost(self, sku: str, cost_cents: int, now: datetime) -> None:
        """Configure (or change) a SKU's manufacturing cost."""
        row = self.session.get(ProductCost, sku) or ProductCost(sku=sku, cost_cents=cost_cents)
        row.cost_cents = cost_cents
        row.updated_at = now
        self.session.add(row)

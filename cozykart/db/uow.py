"""The unit of work: one database transaction, committed once.

    with uow:
        ...            # work through uow.session
        uow.commit()   # nothing is written unless the service says so

Leaving the block without commit (or by an exception) rolls everything back.

A service called while its unit of work is already open joins that transaction:
its `with uow:` and `commit()` then do nothing, and the outermost block commits
or rolls back the whole (the webhook inbox applies a ledger service inside the
transaction that stores the event, under a savepoint).
Domain events a service records with `uow.emit(...)` are handed to the
subscribers registered for them inside the same transaction, just before commit,
so what reacts to an event (the ledger to a finished race, the outbox to an
announcement) commits or fails together with the change that caused it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from cozykart.db import lean

Subscriber = Callable[[Any, "UnitOfWork"], None]
_subscribers: dict[type, list[Subscriber]] = defaultdict(list)


def subscribe(event_type: type, handler: Subscriber) -> None:
    """Call `handler(event, uow)` for every `event_type` emitted in a unit of work."""
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


class UnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session: Session | None = None
        self._events: list[Any] = []
        self._depth = 0
        # Values read once per transaction by hot paths (the money settings, account ids):
        # emptied when the transaction ends. Only for what this transaction cannot change.
        self.memo: dict[Any, Any] = {}

    @property
    def session(self) -> Session:
        assert self._session is not None, "use the unit of work inside `with uow:`"
        return self._session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_joined(self) -> bool:
        """True inside a nested `with uow:` whose outer block owns the transaction."""
        return self._depth > 1

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._session = Session(self.engine, expire_on_commit=False)
            self._events = []
            self.memo = {}
        self._depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        session, self._session = self._session, None
        assert session is not None
        try:
            session.rollback()
        finally:
            session.close()
            self._events = []
            self.memo = {}

    def emit(self, event: Any) -> None:
        self._events.append(event)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block under a SAVEPOINT: if it raises, its writes and its events are undone."""
        events_before = len(self._events)
        nested = self.session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self._events[events_before:]
            self.memo.clear()  # what was remembered may have been undone with it
            raise
        nested.commit()

    def handle_events(self) -> None:
        """Hand the events emitted so far to their subscribers now, inside the open transaction.

        `commit` does this for whatever is left; a caller that writes several
        independent things in one transaction (the webhook inbox's group commit)
        calls it inside each one's savepoint, so a failing subscriber undoes only
        the write that caused its event.
        """
        # Subscribers may emit further events; handle until none is left.
        while self._events:
            event = self._events.pop(0)
            for handler in list(_subscribers.get(type(event), ())):
                handler(event, self)

    @contextmanager
    def plain_savepoint(self, name: str) -> Iterator[None]:
        """`savepoint()` as two plain SQL statements on the transaction's connection.

        For the webhook writer's hot path, where the ORM's nested transaction
        costs more than a sale's statements. Only around Core statements and
        read-only ORM loads: ORM objects are not expired when it rolls back.
        """
        connection = self.session.connection()
        events_before = len(self._events)
        lean.execute_sql(connection, f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            lean.execute_sql(connection, f"ROLLBACK TO SAVEPOINT {name}")
            lean.execute_sql(connection, f"RELEASE SAVEPOINT {name}")
            del self._events[events_before:]
            self.memo.clear()  # what was remembered may have been undone (accounts created, locks taken)
            raise
        lean.execute_sql(connection, f"RELEASE SAVEPOINT {name}")

    def commit(self) -> None:
        if self.is_joined:
            return
        self.handle_events()
        self.session.commit()
        self.memo = {}

"""The unit of work: one database transaction, committed once.

    with uow:
        ...            # work through uow.session
        uow.commit()   # nothing is written unless the service says so

Leaving the block without commit (or by an exception) rolls everything back.
Domain events a service records with `uow.emit(...)` are handed to the
subscribers registered for them inside the same transaction, just before commit,
so what reacts to an event (the ledger to a finished race, the outbox to an
announcement) commits or fails together with the change that caused it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

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

    @property
    def session(self) -> Session:
        assert self._session is not None, "use the unit of work inside `with uow:`"
        return self._session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __enter__(self) -> UnitOfWork:
        assert self._session is None, "a unit of work is not re-entrant"
        self._session = Session(self.engine, expire_on_commit=False)
        self._events = []
        return self

    def __exit__(self, *exc_info: object) -> None:
        session, self._session = self._session, None
        assert session is not None
        try:
            session.rollback()
        finally:
            session.close()
            self._events = []

    def emit(self, event: Any) -> None:
        self._events.append(event)

    def commit(self) -> None:
        # Subscribers may emit further events; handle until none is left.
        while self._events:
            event = self._events.pop(0)
            for handler in list(_subscribers.get(type(event), ())):
                handler(event, self)
        self.session.commit()

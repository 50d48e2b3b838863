"""The unit of work: one database transaction, committed once.

    with uow:
        race = uow.league.race_for_update(race_id)   # the repositories speak the domain's words
        ...
        uow.commit()   # nothing is written unless the service says so

Leaving the block without commit (or by an exception) rolls everything back.

The unit of work carries, for the transaction it is in:
- one repository per aggregate (`uow.league`, `uow.seasons`, `uow.ledger`, `uow.inbox`,
  `uow.outbox`, `uow.identity`, `uow.payouts`, `uow.money_settings`,
  `uow.overlays`, `uow.interactions`, `uow.notices`, `uow.audit`, `uow.pot_goals`, `uow.song_requests`;
  `cozykart/db/repositories/`), made on
  first use and thrown away with the transaction, so what they remember (account
  ids, locks taken) never outlives it; a rolled-back savepoint makes them forget;
- `uow.settings`: the settings it was made with, with the money settings admins
  changed (`money_setting_change`), read once per transaction, so a batch of
  events uses the values committed when it began, as one event would.
  `uow.base_settings` is the environment's, usable outside a transaction.

A service called while its unit of work is already open joins that transaction:
its `with uow:` and `commit()` then do nothing, and the outermost block commits
or rolls back the whole (the webhook inbox applies a ledger service inside the
transaction that stores the event, under a savepoint).
A unit of work is made with a handler table (`services/handlers.py`: each
domain event -> its handlers inside the transaction, and after commit). Events a
service records with `uow.emit(...)` are handed to their in-transaction handlers
just before commit, in the table's order, so what reacts to an event (the ledger
to a finished race, the outbox to an announcement) commits or fails together
with the change that caused it. After a successful commit each event's
after-commit handlers get the event (and nothing else: its transaction is over);
they never run after a rollback, and one that raises is logged, the commit stands.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from cozykart.db import lean
from cozykart.db.repositories import Repository
from cozykart.db.repositories.audit import AuditRepository
from cozykart.db.repositories.identity import IdentityRepository
from cozykart.db.repositories.inbox import InboxRepository
from cozykart.db.repositories.interactions import InteractionsRepository
from cozykart.db.repositories.league import LeagueRepository
from cozykart.db.repositories.ledger import LedgerRepository
from cozykart.db.repositories.money_settings import MoneySettingsRepository
from cozykart.db.repositories.notices import NoticesRepository
from cozykart.db.repositories.outbox import OutboxRepository
from cozykart.db.repositories.overlays import OverlaysRepository
from cozykart.db.repositories.payouts import PayoutsRepository
from cozykart.db.repositories.pot_goals import PotGoalsRepository
from cozykart.db.repositories.seasons import SeasonsRepository
from cozykart.db.repositories.song_requests import SongRequestsRepository
from cozykart.db.repositories.supporters import SupportersRepository
from cozykart.settings import Settings, load_settings

logger = logging.getLogger(__name__)

InTransactionHandler = Callable[[Any, "UnitOfWork"], None]
AfterCommitHandler = Callable[[Any], None]


class EventHandlers(NamedTuple):
    """One event's handlers: `handler(event, uow)` before commit, then `handler(event)` after it."""

    in_transaction: tuple[InTransactionHandler, ...] = ()
    after_commit: tuple[AfterCommitHandler, ...] = ()


HandlerTable = Mapping[type, EventHandlers]
R = TypeVar("R", bound=Repository)


class UnitOfWork:
    def __init__(self, engine: Engine, *, handlers: HandlerTable, settings: Settings | None = None) -> None:
        self.engine = engine
        self.handlers = handlers
        self._base_settings = settings
        self._settings: Settings | None = None  # effective, for the open transaction
        self._repositories: dict[type, Repository] = {}
        self._session: Session | None = None
        self._events: list[Any] = []
        self._committed_next: list[Any] = []  # handled in this transaction, with after-commit handlers
        self._depth = 0

    @property
    def session(self) -> Session:
        assert self._session is not None, "use the unit of work inside `with uow:`"
        return self._session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def base_settings(self) -> Settings:
        """The settings this unit of work was made with (the environment's when none were given)."""
        if self._base_settings is None:
            self._base_settings = load_settings()
        return self._base_settings

    @property
    def settings(self) -> Settings:
        """`base_settings` with the money settings admins changed, read once per transaction."""
        if self._settings is None:
            changed = self.money_settings.latest_values()
            base = self.base_settings
            self._settings = dataclasses.replace(base, **changed) if changed else base
        return self._settings

    def settings_changed(self) -> None:
        """A money setting was changed in this transaction: read the settings again on next use."""
        self._settings = None

    # --- the repositories ---------------------------------------------------------

    def _repository(self, kind: type[R]) -> R:
        repository = self._repositories.get(kind)
        if repository is None:
            repository = self._repositories[kind] = kind(self.session)
        assert isinstance(repository, kind)
        return repository

    @property
    def league(self) -> LeagueRepository:
        return self._repository(LeagueRepository)

    @property
    def seasons(self) -> SeasonsRepository:
        return self._repository(SeasonsRepository)

    @property
    def ledger(self) -> LedgerRepository:
        return self._repository(LedgerRepository)

    @property
    def inbox(self) -> InboxRepository:
        return self._repository(InboxRepository)

    @property
    def outbox(self) -> OutboxRepository:
        return self._repository(OutboxRepository)

    @property
    def identity(self) -> IdentityRepository:
        return self._repository(IdentityRepository)

    @property
    def payouts(self) -> PayoutsRepository:
        return self._repository(PayoutsRepository)

    @property
    def money_settings(self) -> MoneySettingsRepository:
        return self._repository(MoneySettingsRepository)

    @property
    def overlays(self) -> OverlaysRepository:
        return self._repository(OverlaysRepository)

    @property
    def interactions(self) -> InteractionsRepository:
        return self._repository(InteractionsRepository)

    @property
    def notices(self) -> NoticesRepository:
        return self._repository(NoticesRepository)

    @property
    def audit(self) -> AuditRepository:
        return self._repository(AuditRepository)

    @property
    def supporters(self) -> SupportersRepository:
        return self._repository(SupportersRepository)

    @property
    def pot_goals(self) -> PotGoalsRepository:
        return self._repository(PotGoalsRepository)

    @property
    def song_requests(self) -> SongRequestsRepository:
        return self._repository(SongRequestsRepository)

    def _forget(self) -> None:
        """What the repositories remembered may have been undone (a savepoint rolled back)."""
        for repository in self._repositories.values():
            repository.forget()

    def _end_transaction(self) -> None:
        self._settings = None
        self._repositories = {}

    @property
    def is_joined(self) -> bool:
        """True inside a nested `with uow:` whose outer block owns the transaction."""
        return self._depth > 1

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self._session = Session(self.engine, expire_on_commit=False)
            self._events = []
            self._committed_next = []
            self._end_transaction()
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
            self._committed_next = []  # rolled back: no after-commit handler runs
            self._end_transaction()

    def emit(self, event: Any) -> None:
        self._events.append(event)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block under a SAVEPOINT: if it raises, its writes and its events are undone."""
        events_before, handled_before = len(self._events), len(self._committed_next)
        nested = self.session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self._events[events_before:]
            del self._committed_next[handled_before:]
            self._forget()
            raise
        nested.commit()

    def handle_events(self) -> None:
        """Hand the events emitted so far to their in-transaction handlers now.

        `commit` does this for whatever is left; a caller that writes several
        independent things in one transaction (the webhook inbox's group commit)
        calls it inside each one's savepoint, so a failing handler undoes only
        the write that caused its event (and its after-commit handlers with it).
        """
        # Handlers may emit further events; handle until none is left.
        while self._events:
            event = self._events.pop(0)
            entry = self.handlers.get(type(event))
            assert entry is not None, f"{type(event).__name__} has no entry in the handler table"
            for handler in entry.in_transaction:
                handler(event, self)
            if entry.after_commit:
                self._committed_next.append(event)

    @contextmanager
    def plain_savepoint(self, name: str) -> Iterator[None]:
        """`savepoint()` as two plain SQL statements on the transaction's connection.

        For the webhook writer's hot path, where the ORM's nested transaction
        costs more than a sale's statements. Only around Core statements and
        read-only ORM loads: ORM objects are not expired when it rolls back.
        """
        connection = self.session.connection()
        events_before, handled_before = len(self._events), len(self._committed_next)
        lean.execute_sql(connection, f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            lean.execute_sql(connection, f"ROLLBACK TO SAVEPOINT {name}")
            lean.execute_sql(connection, f"RELEASE SAVEPOINT {name}")
            del self._events[events_before:]
            del self._committed_next[handled_before:]
            self._forget()  # accounts created, locks taken may have been undone
            raise
        lean.execute_sql(connection, f"RELEASE SAVEPOINT {name}")

    def commit(self) -> None:
        if self.is_joined:
            return
        self.handle_events()
        self.session.commit()
        self._end_transaction()
        committed, self._committed_next = self._committed_next, []
        self._run_after_commit(committed)

    def _run_after_commit(self, events: list[Any]) -> None:
        """Each committed event's after-commit handlers, in order; a failing one is logged, not raised."""
        for event in events:
            for handler in self.handlers[type(event)].after_commit:
                try:
                    handler(event)
                except Exception:
                    logger.exception(
                        "after-commit handler %s failed for %s (the commit stands)",
                        getattr(handler, "__qualname__", handler),
                        type(event).__name__,
                    )

"""Use cases. Each service function does one thing in one unit of work.

Entry points (pages, API routes, the CLI, Discord) call these and nothing
below them; services call the domain and the database.
"""

from __future__ import annotations

from cozykart.db.engine import engine_for, reader_for
from cozykart.db.uow import UnitOfWork
from cozykart.settings import Settings, load_settings


def default_uow(settings: Settings | None = None) -> UnitOfWork:
    """A unit of work on the configured database (REFLEX_DB_URL)."""
    settings = settings or load_settings()
    return UnitOfWork(engine_for(settings.db_url))


def read_uow(settings: Settings | None = None) -> UnitOfWork:
    """A unit of work for a service that only reads; it never waits for SQLite's write lock."""
    settings = settings or load_settings()
    return UnitOfWork(reader_for(settings.db_url))
from cozykart.services import ledger_subscriptions  # noqa: E402, F401  (the ledger listens to the league)

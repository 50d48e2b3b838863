"""Use cases. Each service function does one thing in one unit of work.

Entry points (pages, API routes, the CLI, Discord) call these and nothing
below them; services call the domain and the database. Every unit of work is
made with the one handler table (`services/handlers.py`), whatever the process
imported.
"""

from __future__ import annotations

from cozykart.db.engine import engine_for, reader_for
from cozykart.db.uow import HandlerTable, UnitOfWork
from cozykart.settings import Settings, load_settings


def _table(handlers: HandlerTable | None) -> HandlerTable:
    from cozykart.services.handlers import HANDLERS  # here: the handlers are services themselves

    return HANDLERS if handlers is None else handlers


def default_uow(settings: Settings | None = None, *, handlers: HandlerTable | None = None) -> UnitOfWork:
    """A unit of work on the configured database (REFLEX_DB_URL), with the handler table."""
    settings = settings or load_settings()
    return UnitOfWork(engine_for(settings.db_url), handlers=_table(handlers), settings=settings)


def read_uow(settings: Settings | None = None) -> UnitOfWork:
    """A unit of work for a service that only reads; it never waits for SQLite's write lock."""
    settings = settings or load_settings()
    return UnitOfWork(reader_for(settings.db_url), handlers=_table(None), settings=settings)

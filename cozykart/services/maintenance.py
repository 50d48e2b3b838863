"""Operating the database: migrations and their state."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext

from cozykart.db.engine import engine_for
from cozykart.db.migrate import upgrade
from cozykart.db.uow import UnitOfWork
from cozykart.settings import Settings


def migrate(settings: Settings) -> str:
    """Upgrade the configured database to the newest migration; returns its revision."""
    upgrade(settings.db_url)
    return database_revision(uow=UnitOfWork(engine_for(settings.db_url)))


def database_revision(*, uow: UnitOfWork) -> str:
    """The migration the database is at ("base" when none has run)."""
    with uow:
        connection = uow.session.connection()
        return MigrationContext.configure(connection).get_current_revision() or "base"

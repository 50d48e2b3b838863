"""Operating the database: migrations (the revision it is at is a read model, `reads/migration_state.py`)."""

from __future__ import annotations

from cozykart.db.engine import engine_for
from cozykart.db.migrate import upgrade
from cozykart.db.uow import UnitOfWork
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.migration_state import database_revision
from cozykart.settings import Settings


def migrate(settings: Settings) -> str:
    """Upgrade the configured database to the newest migration; returns its revision."""
    upgrade(settings.db_url)
    return database_revision(uow=UnitOfWork(engine_for(settings.db_url), handlers=HANDLERS))

"""Operating the database: migrations."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext

from cozykart.db.engine import engine_for
from cozykart.db.migrate import upgrade
from cozykart.settings import Settings


def migrate(settings: Settings) -> str:
    """Upgrade the configured database to the newest migration; returns its revision."""
    upgrade(settings.db_url)
    with engine_for(settings.db_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() or "base"

"""The database's migration state: which alembic revision it is at (the health probe, `migrate`)."""

from __future__ import annotations

import sqlalchemy as sa

from cozykart.db.uow import UnitOfWork

# alembic's own bookkeeping table, declared once: `/api/health` reads it on every probe, and a
# statement built from one long-lived table compiles once (alembic's MigrationContext builds a new
# table per call, so each probe compiled again and filled the engine's statement cache with copies).
_ALEMBIC_VERSION = sa.table("alembic_version", sa.column("version_num"))


def database_revision(*, uow: UnitOfWork) -> str:
    """The migration the database is at ("base" when none has run)."""
    with uow:
        connection = uow.session.connection()
        if not sa.inspect(connection).has_table(_ALEMBIC_VERSION.name):
            return "base"
        revisions: list[str] = list(connection.execute(sa.select(_ALEMBIC_VERSION.c.version_num)).scalars())
        if len(revisions) > 1:
            raise RuntimeError(f"the database is at several migration heads: {sorted(revisions)}")
        return revisions[0] if revisions else "base"

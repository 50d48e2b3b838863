"""Migrations build exactly the models' schema, and go down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import alembic_config, downgrade, upgrade
from cozykart.db.schema import metadata
from cozykart.db.uow import UnitOfWork
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.migration_state import database_revision
from tests.conftest import BACKENDS


def _schema_differences(url: str) -> list:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_upgrade_from_empty_gives_exactly_the_models_schema(empty_db_url):
    upgrade(empty_db_url)

    assert _schema_differences(empty_db_url) == []
    assert _table_names(empty_db_url) == set(metadata.tables)


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_every_migration_downgrades_and_upgrades_again(empty_db_url):
    script = ScriptDirectory.from_config(alembic_config(empty_db_url))
    revisions = [rev.revision for rev in script.walk_revisions("base", "heads")]
    assert revisions, "there is at least one migration"

    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    assert _table_names(empty_db_url) == set()

    # Step up one revision at a time, and each step down and up again.
    for revision in reversed(revisions):
        upgrade(empty_db_url, revision)
        downgrade(empty_db_url, "-1")
        upgrade(empty_db_url, revision)

    assert _schema_differences(empty_db_url) == []


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_database_revision_is_base_then_head_and_repeats_without_growing_the_statement_cache(empty_db_url):
    """`/api/health` asks this on every probe: each call must reuse compiled statements, not add
    new ones to the engine's cache (alembic's per-call version table used to add two a call)."""
    engine = create_db_engine(empty_db_url)
    try:
        assert database_revision(uow=UnitOfWork(engine, handlers=HANDLERS)) == "base"
        upgrade(empty_db_url)
        head = ScriptDirectory.from_config(alembic_config(empty_db_url)).get_current_head()
        assert database_revision(uow=UnitOfWork(engine, handlers=HANDLERS)) == head

        cache = engine._compiled_cache
        cached_after_one_call = len(cache)
        for _ in range(40):
            assert database_revision(uow=UnitOfWork(engine, handlers=HANDLERS)) == head
        assert len(cache) == cached_after_one_call
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_0014_adds_the_admin_action_trail_beside_existing_rows_and_goes_down_without_touching_them(
    empty_db_url,
):
    import sqlalchemy as sa

    upgrade(empty_db_url, "0013")
    engine = create_db_engine(empty_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO racer (discord_id, username, display_name, created_at, is_host, is_dj) "
                    "VALUES ('d-1', 'sam', 'Sam', CURRENT_TIMESTAMP, false, false)"
                )
            )
        assert "admin_action" not in _table_names(empty_db_url)

        upgrade(empty_db_url, "0014")
        with engine.begin() as connection:
            racer_id = connection.execute(sa.text("SELECT id FROM racer")).scalar_one()
            connection.execute(
                sa.text(
                    "INSERT INTO admin_action (kind, actor_racer_id, racer_id, subject, created_at) "
                    "VALUES ('overlay_key', :racer, :racer, 'OBS overlay key', CURRENT_TIMESTAMP)"
                ),
                {"racer": racer_id},
            )
        assert {index["name"] for index in inspect(engine).get_indexes("admin_action")} == {
            "ix_admin_action_created_at",
            "ix_admin_action_race_id",
            "ix_admin_action_racer_id",
        }

        downgrade(empty_db_url, "0013")
        assert "admin_action" not in _table_names(empty_db_url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT display_name FROM racer")).scalar_one() == "Sam"
    finally:
        engine.dispose()

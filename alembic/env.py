"""Alembic environment: the URL comes from the caller or from the settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from cozykart.db.engine import create_db_engine
from cozykart.db.schema import metadata
from cozykart.settings import load_settings

config = context.config
if config.config_file_name and not config.attributes.get("db_url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_online() -> None:
    db_url = config.attributes.get("db_url") or load_settings().db_url
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run them against a database")
run_migrations_online()

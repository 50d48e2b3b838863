"""Alembic, driven from Python: the CLI's `migrate` and the tests use this."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from cozykart.settings import PROJECT_ROOT


def alembic_config(db_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["db_url"] = db_url
    return config


def upgrade(db_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(db_url), revision)


def downgrade(db_url: str, revision: str) -> None:
    command.downgrade(alembic_config(db_url), revision)

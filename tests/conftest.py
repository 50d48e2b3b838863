"""Shared fixtures: a fresh, migrated database per test, on SQLite and PostgreSQL.

Any test that takes the `database` fixture runs twice: on a SQLite file, and on
PostgreSQL when COZYKART_TEST_POSTGRES_URL is set (otherwise that run is skipped
with a message). Each PostgreSQL run gets its own schema, so parallel runs and
leftovers never meet. At the end, the summary says how many tests ran on each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench import _served
from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import upgrade
from cozykart.db.uow import HandlerTable, UnitOfWork
from cozykart.services.handlers import HANDLERS
from cozykart.settings import Settings
from tests import drill_reports

POSTGRES_URL_ENV = "COZYKART_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
POSTGRES_CLIENT_TOOLS = ("pg_dump", "pg_restore", "psql")
CLI_TIMEOUT_S = 180  # one `python -m cozykart` command in a test


@dataclass(frozen=True)
class Database:
    backend: str
    url: str
    engine: Engine
    handlers: HandlerTable = field(default_factory=lambda: HANDLERS)  # a test may hand its own

    def uow(self, settings: Settings | None = None) -> UnitOfWork:
        """A unit of work on this database; services read `settings` (the environment's if None) from it."""
        return UnitOfWork(self.engine, handlers=self.handlers, settings=settings)


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_URL_ENV, "").strip() or None


def _with_search_path(url: str, schema: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    url = postgres_base_url()
    if url is None:
        return
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure to reach it is fatal
        pytest.exit(
            f"{POSTGRES_URL_ENV} is set but PostgreSQL cannot be reached: {type(error).__name__}: {error}",
            returncode=3,
        )


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new, empty schema (dropped afterwards)."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL run skipped: set {POSTGRES_URL_ENV} to run it")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database (no tables) on the backend of the current parameter."""
    backend = request.param if hasattr(request, "param") else "sqlite"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'cozykart-test.db'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def restore_target_url(empty_db_url, tmp_path) -> Iterator[str]:
    """A second empty database on the backend of `empty_db_url`: a restore's target."""
    if empty_db_url.startswith("sqlite"):
        (tmp_path / "restored").mkdir()
        yield f"sqlite:///{tmp_path / 'restored' / 'cozykart.db'}"
        return
    need_postgres_client("PostgreSQL backup tests")
    base = postgres_base_url()
    assert base is not None
    url, schema = _served.postgres_schema(base, "restore")
    try:
        yield url
    finally:
        _served.drop_schema(base, schema)


def need_postgres_client(what: str) -> None:
    """Skip unless the client tools the backup and restore commands call are on PATH."""
    missing = [tool for tool in POSTGRES_CLIENT_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{what} skipped: {', '.join(missing)} not on PATH (postgresql-client)")


def run_cli(db_url: str, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m cozykart ARGS` as an operator runs it, on `db_url` (and `path` as PATH when given)."""
    return _served.run_cli(db_url, *args, timeout_s=CLI_TIMEOUT_S, path=path)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A fresh database migrated to head, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cozykart-test.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    upgrade(url)
    engine = create_db_engine(url)
    try:
        yield Database(backend=request.param, url=url, engine=engine)
    finally:
        engine.dispose()


# --- per-database counts in the summary --------------------------------------

_outcomes: Counter[tuple[str, str]] = Counter()


def _backend_of(nodeid: str) -> str | None:
    for backend in BACKENDS:
        if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
            return backend
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    backend = _backend_of(report.nodeid)
    if backend is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[(backend, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    drills = drill_reports.recorded()
    if drills:
        terminalreporter.section("fault drill reports")
        for name, summary in drills:
            terminalreporter.write_line(f"{name}: {summary}")
    if not _outcomes:
        return
    terminalreporter.section("tests per database")
    for backend in BACKENDS:
        counts = {outcome: _outcomes[(backend, outcome)] for outcome in ("passed", "failed", "skipped")}
        terminalreporter.write_line(
            f"{backend}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
        )

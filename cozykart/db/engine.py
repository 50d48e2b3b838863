"""Engines: one per database URL per process, tuned for a money system.

SQLite runs in WAL mode with synchronous=FULL (a committed transaction survives
power loss), foreign keys on, and every transaction opened with BEGIN IMMEDIATE
so two writers never deadlock on a lock upgrade: the second one waits (up to the
busy timeout) instead of failing half-way. A read that only reads (the Live Pot,
`GET /api/pot`) uses `reader_for(url)` instead: the same pool, but its SQLite
transactions begin DEFERRED, a WAL snapshot that never takes the write lock, so a
burst of pot reads does not queue the webhook writer behind them.

PostgreSQL connections name themselves (`application_name`, so an operator can
find, or `pg_terminate_backend`, this app's sessions in `pg_stat_activity`), give
up connecting after CONNECT_TIMEOUT_S (a database that does not answer fails the
request with a 5xx in seconds instead of holding it), are checked before each
use (`pool_pre_ping`: a connection the server or the network dropped is replaced
instead of failing the next request) and renewed after POOL_RECYCLE_S. On every
database, a failed statement's error shows the SQL without its parameters
(`hide_parameters`): the error of a webhook that could not be stored is logged,
and its parameters are the payment's data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from cozykart.settings import SQLITE_BUSY_TIMEOUT_MS

READ_ONLY_OPTION = "cozykart_read_only"
APPLICATION_NAME = "cozykart"
CONNECT_TIMEOUT_S = 5  # libpq's connect_timeout: the whole connection set-up, TCP to authentication
POOL_RECYCLE_S = 1800
POOL_SIZE = 10
POOL_OVERFLOW_MAX = 20


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str) -> Engine:
    """A new engine for `url` (tests use this for fresh databases)."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        _install_sqlite_pragmas(engine)
        return engine
    return create_engine(
        url,
        connect_args=_postgres_connect_args(url),
        hide_parameters=True,
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE_S,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW_MAX,
    )


def _postgres_connect_args(url: str) -> dict[str, str | int]:
    """libpq's `application_name` and `connect_timeout`, unless the URL sets them itself
    (https://www.postgresql.org/docs/current/libpq-connect.html, "Parameter Key Words")."""
    query = make_url(url).query
    defaults: dict[str, str | int] = {
        "application_name": APPLICATION_NAME,
        "connect_timeout": CONNECT_TIMEOUT_S,
    }
    return {key: value for key, value in defaults.items() if key not in query}


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """The process-wide engine for `url`."""
    return create_db_engine(url)


@lru_cache(maxsize=8)
def reader_for(url: str) -> Engine:
    """The process-wide engine for `url`, for transactions that only read.

    It shares `engine_for(url)`'s pool and events; on SQLite its transactions
    begin DEFERRED (see the module's docstring). Never write through it: a
    deferred SQLite transaction that writes may fail to upgrade its lock.
    """
    return engine_for(url).execution_options(**{READ_ONLY_OPTION: True})

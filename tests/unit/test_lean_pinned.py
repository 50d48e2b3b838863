"""cozykart/db/lean.py leans on SQLAlchemy internals; these fail when SQLAlchemy changes them.

If one fails after an SQLAlchemy upgrade, read the new SQLAlchemy's compiler
(`_bind_processors`, `_result_columns`, `positiontup`) and default execution
context, fix lean.py, then widen `lean.SQLALCHEMY_VERSIONS`.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, create_engine, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError

from cozykart.db import lean
from cozykart.db.types import UtcDateTime

metadata = MetaData()
things = Table(
    "lean_things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(20), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)
# Module-level constants, as lean requires (it caches by id).
_INSERT = insert(things).returning(things.c.id)
_PLAIN_INSERT = insert(things)
_SELECT = select(things.c.id, things.c.key, things.c.at).where(
    things.c.key == bindparam("key"), things.c.status != "cancelled"
)
_AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))


def _version() -> tuple[int, int]:
    major, minor = sqlalchemy.__version__.split(".")[:2]
    return int(major), int(minor)


@pytest.fixture
def connection():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def test_sqlalchemy_is_a_version_lean_was_checked_against():
    lowest, below = lean.SQLALCHEMY_VERSIONS
    assert lowest <= _version() < below, sqlalchemy.__version__


def test_a_compiled_statement_has_the_bind_processors_lean_reads(connection):
    compiled = _INSERT.compile(dialect=connection.dialect, column_keys=["key", "status", "at"])
    assert isinstance(compiled._bind_processors, dict)
    # UtcDateTime has a processor under its bind's name; it stores what connection.execute stores.
    processor = compiled._bind_processors["at"]
    assert callable(processor)
    connection.execute(_PLAIN_INSERT, {"key": "orm", "status": "ok", "at": _AT})
    (stored,) = connection.exec_driver_sql("SELECT at FROM lean_things WHERE key = 'orm'").one()
    assert processor(_AT) == stored
    assert compiled.string.startswith("INSERT INTO lean_things")


def test_sqlite_statements_are_positional_with_their_names_in_order(connection):
    compiled = _SELECT.compile(dialect=connection.dialect)
    assert compiled.positional is True
    assert list(compiled.positiontup) == ["key", "status_1"]
    assert compiled.string.count("?") == 2
    # A literal of the statement is a parameter with its value bound in the statement itself.
    assert compiled.params == {"key": None, "status_1": "cancelled"}


def test_postgresql_statements_are_named():
    compiled = _SELECT.compile(dialect=postgresql.psycopg.dialect())
    assert not compiled.positional
    assert "%(key)s" in compiled.string and "%(status_1)s" in compiled.string
    assert compiled.params == {"key": None, "status_1": "cancelled"}


def test_result_columns_carry_types_whose_cached_result_processor_reads_back(connection):
    compiled = _SELECT.compile(dialect=connection.dialect)
    assert [column.type.__class__ for column in compiled._result_columns] == [
        col.type.__class__ for col in (things.c.id, things.c.key, things.c.at)
    ]
    processors = [
        column.type._cached_result_processor(connection.dialect, None) for column in compiled._result_columns
    ]
    assert processors[0] is None and callable(processors[2])
    # What the bind processor stores, the result processor reads back as the same instant, in UTC.
    insert = _INSERT.compile(dialect=connection.dialect, column_keys=["key", "status", "at"])
    read_back = processors[2](insert._bind_processors["at"](_AT))
    assert read_back == _AT and read_back.tzinfo == UTC


def test_compile_takes_the_keyword_arguments_lean_gives_it(connection):
    many = _PLAIN_INSERT.compile(
        dialect=connection.dialect, column_keys=["key", "status", "at"], for_executemany=True
    )
    assert list(many.positiontup) == ["key", "status", "at"]


def test_the_driver_connection_and_the_dbapi_error_are_where_lean_finds_them(connection):
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    driver.cursor().close()
    assert connection.dialect.loaded_dbapi.Error is sqlite3.Error
    error = DBAPIError.instance("INSERT ...", (), sqlite3.IntegrityError("UNIQUE"), sqlite3.Error)
    assert isinstance(error, IntegrityError)


def test_lean_reads_and_writes_what_connection_execute_does(connection):
    (inserted,) = lean.execute(connection, _INSERT, {"key": "lean", "status": "ok", "at": _AT})
    lean.executemany(connection, _PLAIN_INSERT, [{"key": "many", "status": "cancelled", "at": _AT}])
    assert lean.execute(connection, _SELECT, {"key": "lean"}) == [
        tuple(row) for row in connection.execute(_SELECT, {"key": "lean"})
    ]
    (row,) = lean.execute(connection, _SELECT, {"key": "lean"})
    assert row == (inserted[0], "lean", _AT) and row[2].tzinfo == UTC
    assert lean.execute(connection, _SELECT, {"key": "many"}) == []  # the literal != 'cancelled' applied
    with pytest.raises(IntegrityError):
        lean.execute(connection, _INSERT, {"key": "lean", "status": "ok", "at": _AT})

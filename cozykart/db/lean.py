"""Core statements run straight on the DBAPI cursor: the webhook writer's hot path.

SQLAlchemy spends about a tenth of a millisecond per statement it executes (cache
key, execution context, events, result proxy) against a few microseconds in
SQLite itself. The group-commit writer runs a dozen statements per sale, so for
the statements it runs on every event this module compiles each one ONCE per
dialect and then executes it on the DBAPI cursor of the connection's open
transaction. Values still go through the same bind processors SQLAlchemy would
use (UtcDateTime, SQLite's datetime strings), and results through the same
result processors, so what is stored and read back is identical to a normal
`connection.execute`.

DBAPI errors are raised as SQLAlchemy's (`IntegrityError` and the rest), as
`connection.execute` raises them. Only plain statements are supported: no expanding IN parameters, no statement
built per call. A statement must be a module-level constant (it is cached by id).

It leans on SQLAlchemy internals, for the versions in `SQLALCHEMY_VERSIONS`: a
compiled statement's `_bind_processors`, `_result_columns`, `positional`,
`positiontup`, `params` and `string`; a type's `_cached_result_processor`; the
DBAPI connection behind `connection.connection.driver_connection`; the
dialect's `loaded_dbapi`; `DBAPIError.instance`. tests/unit/test_lean_pinned.py
fails loudly when an upgrade changes one of them: read the new SQLAlchemy's
compiler and default execution context, fix this module, then widen the range.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable, Insert
from sqlalchemy.exc import DBAPIError

# The SQLAlchemy versions whose internals this module was checked against: at least, below.
SQLALCHEMY_VERSIONS = ((2, 1), (2, 2))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # parameter names in order (qmark), or None (named)
    defaults: dict[str, Any]  # values bound in the statement itself (literals such as != 'cancelled')
    bind_processors: dict[str, Any]
    returns_rows: bool
    result_processors: tuple[tuple[int, Any], ...]  # (column index, processor) for the columns that have one


_compiled: dict[tuple, tuple[Executable, _Compiled]] = {}


def _compile(
    connection: Connection, statement: Executable, values: Mapping[str, Any], *, many: bool = False
) -> _Compiled:
    # An INSERT names the columns it is given (the others keep their defaults), so
    # it is compiled once per set of keys.
    column_keys = tuple(values) if isinstance(statement, Insert) else None
    slot = (connection.dialect.name, id(statement), column_keys, many)
    cached = _compiled.get(slot)
    if cached is not None and cached[0] is statement:
        return cached[1]
    dialect = connection.dialect
    compiled = statement.compile(
        dialect=dialect, column_keys=list(column_keys) if column_keys else None, for_executemany=many
    )
    bind_processors = {
        name: processor for name, processor in compiled._bind_processors.items() if processor is not None
    }
    processors = [column.type._cached_result_processor(dialect, None) for column in compiled._result_columns]
    result_processors = tuple((index, p) for index, p in enumerate(processors) if p is not None)
    positional = tuple(compiled.positiontup) if compiled.positional else None
    defaults = {name: value for name, value in compiled.params.items() if value is not None}
    entry = _Compiled(
        compiled.string, positional, defaults, bind_processors, bool(processors), result_processors
    )
    _compiled[slot] = (statement, entry)
    return entry


def _parameters(compiled: _Compiled, values: Mapping[str, Any]):
    processors = compiled.bind_processors
    if compiled.defaults:
        values = {**compiled.defaults, **values}
    if compiled.positional is not None:
        return [
            processors[name](values[name]) if name in processors else values[name]
            for name in compiled.positional
        ]
    return {name: processors[name](value) if name in processors else value for name, value in values.items()}


def _cursor(connection: Connection):
    return connection.connection.driver_connection.cursor()


def _as_sqlalchemy_error(connection: Connection, sql: str, parameters: Any, error: Exception) -> Exception:
    """A DBAPI error as SQLAlchemy raises it (IntegrityError and the rest), as `connection.execute` does,
    its parameters hidden when the engine hides them (`engine.py`: they are a payment's data)."""
    return DBAPIError.instance(
        sql,
        parameters,
        error,
        connection.dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
    )


def execute(connection: Connection, statement: Executable, values: Mapping[str, Any]) -> list[tuple]:
    """Run `statement` with `values`; the rows it returns (processed as SQLAlchemy would)."""
    compiled = _compile(connection, statement, values)
    parameters = _parameters(compiled, values)
    cursor = _cursor(connection)
    try:
        cursor.execute(compiled.sql, parameters)
        if not compiled.returns_rows:
            return []
        rows = cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(connection, compiled.sql, parameters, error) from error
    finally:
        cursor.close()
    if not compiled.result_processors:
        return rows
    return [_processed(compiled.result_processors, row) for row in rows]


def executemany(connection: Connection, statement: Executable, rows: Iterable[Mapping[str, Any]]) -> None:
    """Run a statement that returns nothing once per row of `rows`."""
    rows = list(rows)
    if not rows:
        return
    compiled = _compile(connection, statement, rows[0], many=True)
    assert not compiled.returns_rows, "executemany does not return rows"
    parameters = [_parameters(compiled, values) for values in rows]
    cursor = _cursor(connection)
    try:
        cursor.executemany(compiled.sql, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(connection, compiled.sql, parameters, error) from error
    finally:
        cursor.close()


def executemany_together(
    connection: Connection, batches: Sequence[tuple[Executable, Sequence[Mapping[str, Any]]]]
) -> None:
    """`executemany` for each (statement, rows), in order; on PostgreSQL in ONE pipeline (one round trip).

    psycopg runs each `executemany` in a pipeline of its own, which ends with a sync that
    waits for the server: a ledger transaction's postings and its balance updates would
    be two round trips. Inside one `pipeline()` block they are one
    (https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html, "Pipeline mode support").
    A failing statement fails the block, as it fails the transaction.
    """
    prepared = []
    for statement, rows in batches:
        if rows:
            compiled = _compile(connection, statement, rows[0], many=True)
            assert not compiled.returns_rows, "executemany does not return rows"
            prepared.append((compiled.sql, [_parameters(compiled, values) for values in rows]))
    if not prepared:
        return
    driver = connection.connection.driver_connection
    cursor = driver.cursor()
    sql, parameters = prepared[0]
    try:
        if connection.dialect.name == "postgresql":
            with driver.pipeline():
                for sql, parameters in prepared:
                    cursor.executemany(sql, parameters)
        else:
            for sql, parameters in prepared:
                cursor.executemany(sql, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(connection, sql, parameters, error) from error
    finally:
        cursor.close()


def execute_sql(connection: Connection, sql: str) -> None:
    """Run a fixed SQL command with no parameters and no rows (SAVEPOINT and the like)."""
    cursor = _cursor(connection)
    try:
        cursor.execute(sql)
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(connection, sql, (), error) from error
    finally:
        cursor.close()


def _processed(processors: tuple[tuple[int, Any], ...], row: Sequence[Any]) -> tuple:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return tuple(values)

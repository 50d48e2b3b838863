"""Backup and restore, the storage mechanics: SQLite's online backup API, PostgreSQL's pg_dump.

A copy is taken while the app serves, so it must be one consistent instant:
- SQLite: `sqlite3.Connection.backup` in ONE step (pages=-1). A stepped backup restarts
  whenever another connection writes between steps, which under load may never end;
  one step reads the whole database inside one read transaction (in WAL mode writers
  go on meanwhile) and copies exactly the commits made before it. A file copy would
  miss the WAL and could tear a page.
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the counts are read in
  it and `pg_dump --format=custom --snapshot` dumps that same snapshot, so what the
  backup says it holds is what the file holds.
The copy goes to a temporary name beside FILE, is fsynced, then renamed (and the
directory fsynced): a failed or interrupted backup never leaves a half FILE.

A restore first proves the file whole, then writes the target in one transaction, so
a truncated or damaged file is refused with the target unchanged:
- SQLite: open read-only, `PRAGMA integrity_check`, the alembic revision readable; then
  the backup API from the file into the target (one step: one write transaction).
- PostgreSQL: `pg_restore` turns the dump into SQL (it fails on a truncated or damaged
  dump) before anything is touched; the SQL is run by `psql --single-transaction` with
  ON_ERROR_STOP, after dropping what the target schema holds when forced. pg_dump names
  every object with its schema; a backup of schema A restored into schema B has the
  schema of its statements (not of the data it copies) renamed to B.
Passwords go to pg_dump, pg_restore and psql in PGPASSWORD, never on a command line,
and are scrubbed from any message they print.

What this relies on, from the tools' own documentation:
- SQLite, "Online Backup API" (https://sqlite.org/c3ref/backup_finish.html): a negative
  page count copies all remaining pages in one sqlite3_backup_step; changes made through
  another connection between steps make the backup start over.
- Python, sqlite3.Connection.backup (https://docs.python.org/3/library/sqlite3.html): pages=-1
  (the default) copies the entire database in a single step.
- PostgreSQL, "Snapshot Synchronization Functions"
  (https://www.postgresql.org/docs/current/functions-admin.html): pg_export_snapshot() keeps
  the snapshot importable while its transaction stays open; pg_dump --snapshot
  (https://www.postgresql.org/docs/current/app-pgdump.html) dumps that snapshot.
- psql --single-transaction with ON_ERROR_STOP (https://www.postgresql.org/docs/current/app-psql.html):
  the whole file runs as one transaction and the first error rolls it back.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from cozykart.domain.errors import Conflict, InvalidInput, Unavailable
from cozykart.settings import SQLITE_BUSY_TIMEOUT_MS

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
PG_DUMP_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
POSTGRES_CLIENT_PACKAGE = "postgresql-client"  # Debian and Ubuntu ship pg_dump, pg_restore and psql in it
TOOL_TIMEOUT_S = 600  # pg_dump, pg_restore or psql: a generous bound for a league's database
COUNTED_TABLES = ("ledger_account", "ledger_transaction", "ledger_posting", "webhook_event")


@dataclass(frozen=True)
class Contents:
    """What a database (or a backup of one) holds: its migration and its main row counts."""

    revision: str  # "base" when no migration ran
    accounts: int
    transactions: int
    postings: int
    inbox_events: int


@dataclass(frozen=True)
class Occupancy:
    """What a restore target already holds (nothing, for a fresh database)."""

    revision: str | None
    tables: int
    tables_with_rows: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return self.revision is None and self.tables == 0


def backend_of(db_url: str) -> str:
    """ "sqlite" or "postgresql" (the kinds of file a backup can be)."""
    name = make_url(db_url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise InvalidInput(f"backups are made of SQLite and PostgreSQL databases, not {name}")
    return name


def safe_url(db_url: str) -> str:
    """The URL to show: the password is never printed."""
    return make_url(db_url).render_as_string(hide_password=True)


def file_kind(path: Path) -> str:
    """The kind of backup `path` is, read from its first bytes."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise InvalidInput(f"no backup file at {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory, not a backup file") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise InvalidInput(
        f"{path} is not a Cozy-Kart backup: neither a SQLite database nor a pg_dump custom archive"
    )


# --- files ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _written_atomically(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`; renamed onto it, fsynced, only when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        with partial.open("rb+") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        partial.unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)


def sqlite_path(db_url: str) -> Path:
    database = make_url(db_url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def _sqlite_connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        )
    return sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)


def _sqlite_contents(connection: sqlite3.Connection) -> Contents:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    counts = [
        connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] if table in tables else 0
        for table in COUNTED_TABLES
    ]
    revision = "base"
    if "alembic_version" in tables:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else "base"
    return Contents(revision, *counts)


# --- SQLite -----------------------------------------------------------------------------------


def backup_sqlite(db_url: str, target: Path) -> Contents:
    """The online backup API, one step, into a temporary file renamed onto `target`."""
    source_path = sqlite_path(db_url)
    if not source_path.exists():
        raise InvalidInput(f"the configured SQLite database {source_path} does not exist")
    with _written_atomically(target) as partial:
        source = _sqlite_connect(source_path, read_only=True)
        copy = _sqlite_connect(partial)
        try:
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            contents = _sqlite_contents(copy)
        except sqlite3.DatabaseError as error:
            raise Unavailable(f"the backup of {source_path} failed, nothing was written: {error}") from None
        finally:
            copy.close()
            source.close()
    return contents


def _checked_sqlite_file(path: Path) -> sqlite3.Connection:
    """The backup opened read-only, once it is proven whole and a Cozy-Kart database."""
    source = _sqlite_connect(path, read_only=True)
    try:
        problems = [row[0] for row in source.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise InvalidInput(f"{path} is damaged or truncated: {'; '.join(problems[:3])}")
        if _sqlite_contents(source).revision == "base":
            raise InvalidInput(f"{path} is a SQLite database but not a Cozy-Kart one (no migration revision)")
    except sqlite3.DatabaseError as error:
        source.close()
        raise InvalidInput(f"{path} is damaged or truncated: {error}") from None
    except BaseException:
        source.close()
        raise
    return source


def restore_sqlite(db_url: str, source_path: Path) -> None:
    """Replace the target's whole contents with the backup's (the backup API, one write transaction)."""
    target_path = sqlite_path(db_url)
    source = _checked_sqlite_file(source_path)
    try:
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target = _sqlite_connect(target_path)
        try:
            source.backup(target, pages=-1)
        finally:
            target.close()
    finally:
        source.close()


# --- PostgreSQL -----------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Unavailable(
            f"{name} was not found on PATH: install the PostgreSQL client tools of the server's major "
            f"version (Debian/Ubuntu: apt-get install {POSTGRES_CLIENT_PACKAGE})"
        )
    return found


def _libpq(db_url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it."""
    url: URL = make_url(db_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_tool(command: list[str], db_url: str, *, what: str, error=Unavailable) -> str:
    """Runs a PostgreSQL client tool; its stdout, or `error` with its last words (no password)."""
    _conninfo, env = _libpq(db_url)
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL
    )
    if completed.returncode != 0:
        words = completed.stderr.strip().splitlines()[-3:] or [f"exit status {completed.returncode}"]
        message = " / ".join(words)
        password = make_url(db_url).password
        if password:
            message = message.replace(str(password), "***")
        raise error(f"{what} failed: {message}")
    return completed.stdout


def _engine(db_url: str):
    return create_engine(db_url, poolclass=NullPool)


def _current_schema(connection: Connection) -> str:
    schema = connection.execute(text("SELECT current_schema()")).scalar_one_or_none()
    if schema is None:
        search_path = connection.execute(text("SHOW search_path")).scalar_one()
        raise InvalidInput(f"no schema of the database URL's search_path ({search_path}) exists")
    return str(schema)


def _pg_contents(connection: Connection) -> Contents:
    tables = set(inspect(connection).get_table_names())
    counts = [
        connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one() if table in tables else 0
        for table in COUNTED_TABLES
    ]
    revision = "base"
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar() or "base"
    return Contents(revision, *counts)


def backup_postgres(db_url: str, target: Path) -> Contents:
    """`pg_dump --format=custom` of the URL's schema, at the snapshot its counts were read in."""
    pg_dump = _tool("pg_dump")
    conninfo, _env = _libpq(db_url)
    engine = _engine(db_url)
    try:
        snapshotting = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshotting as connection, connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            schema = _current_schema(connection)
            contents = _pg_contents(connection)
            with _written_atomically(target) as partial:
                _run_tool(
                    [
                        pg_dump,
                        "--format=custom",
                        "--no-password",
                        f"--snapshot={snapshot}",
                        f"--schema={_quoted(schema)}",
                        f"--file={partial}",
                        f"--dbname={conninfo}",
                    ],
                    db_url,
                    what="pg_dump",
                )
    finally:
        engine.dispose()
    return contents


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _as_written(identifier: str) -> str:
    """How pg_dump writes a schema's name: bare when it needs no quotes."""
    return identifier if re.fullmatch(r"[a-z_][a-z0-9_]*", identifier) else _quoted(identifier)


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ")


def _dumped_schema(pg_restore: str, source_path: Path, db_url: str) -> str:
    """The schema whose tables the dump holds (it must hold alembic's: a Cozy-Kart database)."""
    listing = _run_tool(
        [pg_restore, "--list", str(source_path)], db_url, what=f"reading {source_path}", error=InvalidInput
    )
    for line in listing.splitlines():
        found = _TOC_TABLE.match(line)
        if found and found.group(2) == "alembic_version":
            return found.group(1)
    raise InvalidInput(
        f"{source_path} is a pg_dump archive but not of a Cozy-Kart database (no alembic_version)"
    )


def _renamed_statements(script: Path, old: str, new: str) -> Iterator[str]:
    """The script's lines, the schema of its statements renamed (COPY data is passed as it is)."""
    qualifier = re.compile(r'(?<![\w$."])(?:' + re.escape(_quoted(old)) + "|" + re.escape(old) + r")(?=\.)")
    own_schema = re.compile(r"^(CREATE|COMMENT ON) SCHEMA (" + re.escape(_as_written(old)) + r")\b")
    in_copy = False
    with script.open(encoding="utf-8") as lines:
        for line in lines:
            if in_copy:
                in_copy = line != "\\.\n"
                yield line
                continue
            if own_schema.match(line):
                continue  # the target schema exists already: the restore fills it
            if old != new:
                line = qualifier.sub(_as_written(new).replace("\\", "\\\\"), line)
            in_copy = line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;")
            yield line


def _emptied(schema: str) -> str:
    """SQL that drops every object of `schema`, keeping the schema itself (and who may use it)."""
    literal = "'" + schema.replace("'", "''") + "'"
    return f"""
DO $cozykart$
DECLARE item record;
BEGIN
  FOR item IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = {literal} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
    EXECUTE format(CASE WHEN item.relkind = 'v' THEN 'DROP VIEW IF EXISTS %I.%I CASCADE'
                        WHEN item.relkind = 'm' THEN 'DROP MATERIALIZED VIEW IF EXISTS %I.%I CASCADE'
                        WHEN item.relkind = 'f' THEN 'DROP FOREIGN TABLE IF EXISTS %I.%I CASCADE'
                        ELSE 'DROP TABLE IF EXISTS %I.%I CASCADE' END, {literal}, item.relname);
  END LOOP;
  FOR item IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = {literal} AND c.relkind = 'S' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', {literal}, item.relname);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n
      ON n.oid = p.pronamespace WHERE n.nspname = {literal} LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.signature);
  END LOOP;
  FOR item IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = {literal} AND t.typtype IN ('e', 'd', 'c', 'r') AND t.typrelid = 0 LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I.%I CASCADE', {literal}, item.typname);
  END LOOP;
END
$cozykart$;
"""


def restore_postgres(db_url: str, source_path: Path, *, replace: bool) -> None:
    """The dump into the URL's schema in one transaction (emptied first when `replace`)."""
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    conninfo, _env = _libpq(db_url)
    engine = _engine(db_url)
    try:
        with engine.connect() as connection:
            target_schema = _current_schema(connection)
    finally:
        engine.dispose()
    old_schema = _dumped_schema(pg_restore, source_path, db_url)
    with tempfile.TemporaryDirectory(prefix="cozykart-restore-") as work:
        script, ready = Path(work) / "dump.sql", Path(work) / "restore.sql"
        _run_tool(
            [pg_restore, "--no-owner", "--no-privileges", f"--file={script}", str(source_path)],
            db_url,
            what=f"reading {source_path} (truncated or damaged?)",
            error=InvalidInput,
        )
        with ready.open("w", encoding="utf-8") as out:
            if replace:
                out.write(_emptied(target_schema))
            out.writelines(_renamed_statements(script, old_schema, target_schema))
        _run_tool(
            [
                psql,
                "--no-psqlrc",
                "--quiet",
                "--no-password",
                "--set=ON_ERROR_STOP=1",
                "--single-transaction",
                f"--dbname={conninfo}",
                f"--file={ready}",
            ],
            db_url,
            what="restoring into PostgreSQL (nothing was changed)",
        )


# --- either -----------------------------------------------------------------------------------


def occupancy(db_url: str) -> Occupancy:
    """What the target holds: its revision, its tables, those with rows (a missing file holds nothing)."""
    if backend_of(db_url) == "sqlite" and not sqlite_path(db_url).exists():
        return Occupancy(None, 0, ())
    engine = _engine(db_url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                _current_schema(connection)
            tables = inspect(connection).get_table_names()
            with_rows = tuple(
                table
                for table in tables
                if connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None
            )
            revision = None
            if "alembic_version" in tables:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    return Occupancy(revision, len(tables), with_rows)


def contents(db_url: str) -> Contents:
    """The revision and counts of the database at `db_url`."""
    if backend_of(db_url) == "sqlite":
        connection = _sqlite_connect(sqlite_path(db_url), read_only=True)
        try:
            return _sqlite_contents(connection)
        finally:
            connection.close()
    engine = _engine(db_url)
    try:
        with engine.connect() as connection:
            return _pg_contents(connection)
    finally:
        engine.dispose()


def refuse_if_occupied(db_url: str) -> None:
    """Conflict when the target holds anything: a restore never overwrites data unless forced."""
    found = occupancy(db_url)
    if found.empty:
        return
    parts = [f"{found.tables} table(s)"]
    if found.revision:
        parts.append(f"migration revision {found.revision}")
    if found.tables_with_rows:
        parts.append(f"rows in {', '.join(found.tables_with_rows[:5])}")
    raise Conflict(
        f"the target database {safe_url(db_url)} is not empty ({'; '.join(parts)}): nothing was changed. "
        "Restore into a fresh database, or pass --force to replace its whole contents with the backup's."
    )

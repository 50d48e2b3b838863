"""Backup and restore of the configured database (`python -m cozykart backup` / `restore`).

A backup is a consistent copy taken while the app serves: every commit before its
instant, none after (the storage mechanics and why: `cozykart/db/backup.py`). A
restore refuses to overwrite a database that holds anything unless forced, refuses a
file of the other database's kind, and proves the file whole before it writes, so a
refusal changes nothing. After a restore the database is migrated to this app's head:
a backup taken by an older version restores into a newer one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cozykart.db import backup as storage
from cozykart.db.migrate import upgrade
from cozykart.domain.errors import InvalidInput
from cozykart.settings import Settings

HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class BackupReport:
    path: str
    kind: str  # sqlite | postgresql
    database: str  # the source, its password hidden
    bytes: int
    sha256: str
    seconds: float
    contents: storage.Contents

    def as_json(self) -> dict:
        return {**asdict(self), "contents": asdict(self.contents)}


@dataclass(frozen=True)
class RestoreReport:
    path: str
    kind: str
    database: str  # the target, its password hidden
    replaced: bool  # the target held something and --force replaced it
    revision_in_backup: str
    seconds: float
    contents: storage.Contents  # after migrating to head

    def as_json(self) -> dict:
        return {**asdict(self), "contents": asdict(self.contents)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def backup(settings: Settings, to: Path) -> BackupReport:
    """A consistent copy of the configured database written to `to` (replacing it only when done)."""
    kind = storage.backend_of(settings.db_url)
    if to.is_dir():
        raise InvalidInput(f"{to} is a directory: name the backup file to write")
    started = time.perf_counter()
    if kind == "sqlite":
        if storage.sqlite_path(settings.db_url).resolve() == to.resolve():
            raise InvalidInput("the backup file cannot be the database itself")
        contents = storage.backup_sqlite(settings.db_url, to)
    else:
        contents = storage.backup_postgres(settings.db_url, to)
    seconds = time.perf_counter() - started
    return BackupReport(
        path=str(to),
        kind=kind,
        database=storage.safe_url(settings.db_url),
        bytes=to.stat().st_size,
        sha256=_sha256(to),
        seconds=round(seconds, 3),
        contents=contents,
    )


def restore(settings: Settings, source: Path, *, force: bool = False) -> RestoreReport:
    """The backup at `source` into the configured database, then migrated to head."""
    target_kind = storage.backend_of(settings.db_url)
    kind = storage.file_kind(source)
    if kind != target_kind:
        raise InvalidInput(
            f"{source} is a {_named(kind)} backup but the configured database is {_named(target_kind)}: "
            f"restore it into a {_named(kind)} database (REFLEX_DB_URL). Nothing was changed."
        )
    replaced = not storage.occupancy(settings.db_url).empty
    if replaced and not force:
        storage.refuse_if_occupied(settings.db_url)
    started = time.perf_counter()
    if kind == "sqlite":
        storage.restore_sqlite(settings.db_url, source)
    else:
        storage.restore_postgres(settings.db_url, source, replace=replaced)
    revision_in_backup = storage.contents(settings.db_url).revision
    upgrade(settings.db_url)
    seconds = time.perf_counter() - started
    return RestoreReport(
        path=str(source),
        kind=kind,
        database=storage.safe_url(settings.db_url),
        replaced=replaced,
        revision_in_backup=revision_in_backup,
        seconds=round(seconds, 3),
        contents=storage.contents(settings.db_url),
    )


def _named(kind: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[kind]

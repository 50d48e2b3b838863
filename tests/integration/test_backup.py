"""`python -m cozykart backup` and `restore` as an operator runs them: real processes, real databases.

A restore into a fresh database gives back every row of every table; a non-empty target is
refused without --force and left as it was, and --force replaces all of it (a table the backup
never had included); a file of the other kind, a foreign file, a truncated or damaged backup
are refused with the target unchanged; without pg_dump the message names what to install;
an older backup is migrated to head; the URL's password is never printed. The backup under
load (the served app, webhooks arriving) is tests/e2e/test_backup_under_load.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench import _served, crash_drill
from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import upgrade
from cozykart.settings import Settings
from tests.conftest import BACKENDS, need_postgres_client, run_cli

OLDER_REVISION = "0021"
HEAD_REVISION = "0022"


def every_row(db_url: str) -> dict[str, list[tuple]]:
    """Every table of the database and its rows, sorted: two databases with the same are the same."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            return {
                table: sorted(
                    (tuple(map(repr, row)) for row in connection.execute(text(f'SELECT * FROM "{table}"'))),
                    key=repr,
                )
                for table in sorted(tables)
            }
    finally:
        engine.dispose()


def with_league(db_url: str, deliveries: int = 12, seed: int = 7) -> None:
    """A migrated database with a live race, a DJ, and signed sales, tips and a refund applied."""
    league = _served.prepare(db_url)
    settings = Settings(db_url=db_url, admin_discord_ids=frozenset({_served.ADMIN_DISCORD_ID}))
    planned = crash_drill.plan(deliveries, random.Random(seed))
    planned.append(crash_drill._refund_for(next(d for d in planned if d.kind == "sale")))
    engine = create_db_engine(db_url)
    try:
        for delivery in planned:
            crash_drill.apply_in_process(engine, settings, delivery)
    finally:
        engine.dispose()
    assert league.race_id


def backup(db_url: str, file: Path) -> dict:
    made = run_cli(db_url, "backup", "--to", str(file), "--json")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_a_backup_restores_into_a_fresh_database_with_every_row(empty_db_url, restore_target_url, tmp_path):
    with_league(empty_db_url)
    file = tmp_path / "backups" / "league.backup"

    report = backup(empty_db_url, file)

    assert report["bytes"] == file.stat().st_size > 0
    assert report["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    source = every_row(empty_db_url)
    assert report["contents"] == {
        "revision": HEAD_REVISION,
        "accounts": len(source["ledger_account"]),
        "transactions": len(source["ledger_transaction"]),
        "postings": len(source["ledger_posting"]),
        "inbox_events": len(source["webhook_event"]),
    }
    assert report["contents"]["transactions"] == 13
    assert [p.name for p in file.parent.iterdir()] == [file.name], "no temporary file is left beside it"
    text_out = run_cli(empty_db_url, "backup", "--to", str(tmp_path / "again.backup"))
    assert text_out.returncode == 0, text_out.stderr
    assert "13 transactions" in text_out.stdout and "sha256 " in text_out.stdout

    restored = run_cli(restore_target_url, "restore", "--from", str(file), "--json")

    assert restored.returncode == 0, restored.stderr
    outcome = json.loads(restored.stdout)
    assert outcome["replaced"] is False and outcome["contents"] == report["contents"]
    assert every_row(restore_target_url) == source
    assert _served.reconcile(restore_target_url)[0] == 0


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_a_non_empty_database_is_refused_unchanged_and_force_replaces_all_of_it(
    empty_db_url, restore_target_url, tmp_path
):
    with_league(empty_db_url, deliveries=6, seed=1)
    file = tmp_path / "league.backup"
    backup(empty_db_url, file)
    with_league(restore_target_url, deliveries=9, seed=2)  # another league, its own money
    engine = create_engine(restore_target_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE operator_notes (note VARCHAR(40))"))
        connection.execute(text("INSERT INTO operator_notes VALUES ('kept by hand')"))
    engine.dispose()
    before = every_row(restore_target_url)

    refused = run_cli(restore_target_url, "restore", "--from", str(file))

    assert refused.returncode == 2
    assert "is not empty" in refused.stderr and "--force" in refused.stderr, refused.stderr
    assert f"migration revision {HEAD_REVISION}" in refused.stderr
    assert every_row(restore_target_url) == before

    forced = run_cli(restore_target_url, "restore", "--from", str(file), "--force")

    assert forced.returncode == 0, forced.stderr
    assert "replaced its contents" in forced.stdout
    assert every_row(restore_target_url) == every_row(empty_db_url)  # operator_notes is gone with the rest
    assert _served.reconcile(restore_target_url)[0] == 0


def _other_kind(backend: str, tmp_path: Path) -> tuple[Path, str]:
    """A backup of the other database's kind, and the words naming it."""
    if backend == "postgresql":
        sqlite_url = f"sqlite:///{tmp_path / 'other.db'}"
        upgrade(sqlite_url)
        file = tmp_path / "other.sqlite"
        backup(sqlite_url, file)
        return file, "is a SQLite backup but the configured database is PostgreSQL"
    file = tmp_path / "other.pgdump"
    file.write_bytes(b"PGDMP" + bytes(range(256)) * 8)  # a custom archive's magic: read before anything
    return file, "is a PostgreSQL backup but the configured database is SQLite"


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_a_file_of_the_other_kind_or_no_backup_at_all_is_refused(empty_db_url, tmp_path):
    backend = make_url(empty_db_url).get_backend_name()
    if backend == "postgresql":
        need_postgres_client("PostgreSQL backup tests")
    with_league(empty_db_url, deliveries=4)
    before = every_row(empty_db_url)
    other, words = _other_kind(backend, tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a backup\n")

    for file, expected in (
        (other, words),
        (notes, "is not a Cozy-Kart backup"),
        (tmp_path / "gone", "no backup file"),
    ):
        refused = run_cli(empty_db_url, "restore", "--from", str(file), "--force")
        assert refused.returncode == 2, refused.stdout
        assert expected in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert every_row(empty_db_url) == before


def _damaged(file: Path, tmp_path: Path) -> list[tuple[str, Path]]:
    data = file.read_bytes()
    copies = []
    for share in (0.5, 0.9):
        cut = tmp_path / f"cut-{share}.backup"
        cut.write_bytes(data[: int(len(data) * share)])
        copies.append((f"truncated to {share:.0%}", cut))
    zeroed = tmp_path / "zeroed.backup"
    middle = len(data) // 2
    zeroed.write_bytes(data[:middle] + bytes(8192) + data[middle + 8192 :])
    copies.append(("8 KiB zeroed in the middle", zeroed))
    return copies


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_a_truncated_or_damaged_backup_is_refused_and_the_target_unchanged(
    empty_db_url, restore_target_url, tmp_path
):
    with_league(empty_db_url, deliveries=40)
    file = tmp_path / "league.backup"
    backup(empty_db_url, file)
    occupied = every_row(empty_db_url)

    for what, damaged in _damaged(file, tmp_path):
        into_fresh = run_cli(restore_target_url, "restore", "--from", str(damaged))
        over_data = run_cli(empty_db_url, "restore", "--from", str(damaged), "--force")
        for refused in (into_fresh, over_data):
            assert refused.returncode == 2, f"{what}: {refused.stdout}{refused.stderr}"
            assert "damaged" in refused.stderr or "truncated" in refused.stderr, f"{what}: {refused.stderr}"
        assert every_row(restore_target_url) == {}, f"{what}: the fresh target got tables"
        assert every_row(empty_db_url) == occupied, f"{what}: the forced target changed"


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_an_older_backup_is_migrated_to_head_after_restore(empty_db_url, restore_target_url, tmp_path):
    upgrade(empty_db_url, OLDER_REVISION)
    file = tmp_path / "old.backup"
    assert backup(empty_db_url, file)["contents"]["revision"] == OLDER_REVISION

    restored = run_cli(restore_target_url, "restore", "--from", str(file))

    assert restored.returncode == 0, restored.stderr
    assert f"backup at revision {OLDER_REVISION}; now revision {HEAD_REVISION}" in restored.stdout


def _with_password(url: str, password: str) -> str:
    return make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_without_pg_dump_the_message_names_what_to_install_and_no_password_is_printed(empty_db_url, tmp_path):
    need_postgres_client("PostgreSQL backup tests")
    password = "s3cret-Pw-0451"  # the local server trusts loopback, so any password connects
    url = _with_password(empty_db_url, password)
    upgrade(empty_db_url)
    file = tmp_path / "league.backup"
    empty_path = tmp_path / "bin"
    empty_path.mkdir()

    missing = run_cli(url, "backup", "--to", str(file), path=str(empty_path))
    made = run_cli(url, "backup", "--to", str(file))
    missing_restore = run_cli(url, "restore", "--from", str(file), "--force", path=str(empty_path))
    bad_host = run_cli(
        _with_password(make_url(empty_db_url).set(port=1).render_as_string(hide_password=False), password),
        "backup",
        "--to",
        str(tmp_path / "never.backup"),
    )

    assert missing.returncode == 2
    assert "pg_dump was not found on PATH" in missing.stderr and "postgresql-client" in missing.stderr
    assert made.returncode == 0, made.stderr
    assert missing_restore.returncode == 2 and "pg_restore was not found" in missing_restore.stderr
    assert bad_host.returncode != 0 and not (tmp_path / "never.backup").exists()
    for run in (missing, made, missing_restore, bad_host):
        assert password not in run.stdout + run.stderr


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_a_failed_pg_dump_leaves_the_previous_file_whole(empty_db_url, tmp_path):
    upgrade(empty_db_url)
    file = tmp_path / "league.backup"
    file.write_bytes(b"the previous backup")
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "pg_dump"  # writes half an archive where it is told, then fails
    fake.write_text(
        "#!/bin/sh\nfor arg; do case $arg in --file=*) printf 'PGDMP half' > \"${arg#--file=}\";; esac; done\n"
        "echo 'pg_dump: error: disk full' >&2\nexit 1\n"
    )
    fake.chmod(0o755)

    failed = run_cli(
        empty_db_url, "backup", "--to", str(file), path=f"{tools}{os.pathsep}{os.environ['PATH']}"
    )

    assert failed.returncode == 2 and "disk full" in failed.stderr, failed.stderr
    assert file.read_bytes() == b"the previous backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "league.backup"]


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_a_failed_sqlite_backup_leaves_the_previous_file_whole(empty_db_url, tmp_path):
    source = Path(make_url(empty_db_url).database or "")
    source.write_bytes(b"this is not a database" * 200)
    file = tmp_path / "backups" / "league.backup"
    file.parent.mkdir()
    file.write_bytes(b"the previous backup")

    failed = run_cli(empty_db_url, "backup", "--to", str(file))

    assert failed.returncode != 0 and "Traceback" not in failed.stderr, failed.stderr
    assert file.read_bytes() == b"the previous backup"
    assert [p.name for p in file.parent.iterdir()] == [file.name]

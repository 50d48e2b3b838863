"""Backup and restore at the command line: `python -m cozykart backup --to FILE`,
`python -m cozykart restore --from FILE [--force]`.

Registered on `python -m cozykart` by `cozykart.cli`; each calls one service
(`services/backup.py`) on the configured database (REFLEX_DB_URL) and prints what
was written or restored. A refusal (a non-empty target, a file of the other kind, a
damaged file, pg_dump missing) prints its message and exits 2 with nothing changed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cozykart.settings import load_settings


def _describe(contents) -> str:
    return (
        f"revision {contents.revision}, {contents.accounts} accounts, {contents.transactions} transactions, "
        f"{contents.postings} postings, {contents.inbox_events} webhook events"
    )


def _cmd_backup(args: argparse.Namespace) -> int:
    from cozykart.services import backup

    report = backup.backup(load_settings(), Path(args.to))
    if args.json:
        print(json.dumps(report.as_json()))
        return 0
    print(f"backup written: {report.path} ({report.kind}, {report.bytes} bytes, {report.seconds} s)")
    print(f"  of {report.database}: {_describe(report.contents)}")
    print(f"  sha256 {report.sha256}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from cozykart.services import backup

    report = backup.restore(load_settings(), Path(args.source), force=args.force)
    if args.json:
        print(json.dumps(report.as_json()))
        return 0
    how = "replaced its contents" if report.replaced else "into an empty database"
    print(f"restored {report.path} ({report.kind}) into {report.database}: {how} ({report.seconds} s)")
    print(f"  backup at revision {report.revision_in_backup}; now {_describe(report.contents)}")
    return 0


def add_backup_commands(commands) -> None:
    backup = commands.add_parser(
        "backup", help="a consistent copy of the database while the app serves (SQLite file or pg_dump)"
    )
    backup.add_argument("--to", required=True, metavar="FILE", help="the backup file to write")
    backup.add_argument("--json", action="store_true", help="print the outcome as JSON")
    backup.set_defaults(handler=_cmd_backup)

    restore = commands.add_parser(
        "restore", help="a backup into the configured database (refuses a non-empty one without --force)"
    )
    restore.add_argument("--from", dest="source", required=True, metavar="FILE", help="the backup file")
    restore.add_argument(
        "--force", action="store_true", help="replace the database's whole contents when it is not empty"
    )
    restore.add_argument("--json", action="store_true", help="print the outcome as JSON")
    restore.set_defaults(handler=_cmd_restore)

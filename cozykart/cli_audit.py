"""The audit trail at the command line: `python -m cozykart audit [--json] [--race N] [--racer N]`.

Registered on `python -m cozykart` by `cozykart.cli`; it calls the audit read
model (`services/reads/audit.py`) as the operator, who already holds the database.
"""

from __future__ import annotations

import argparse
import json

from cozykart.domain.instants import INSTANT_WITH_YEAR, format_instant


def _cmd_audit(args: argparse.Namespace) -> int:
    from cozykart.services import default_uow
    from cozykart.services.reads.audit import audit_trail

    entries = audit_trail(actor_id=None, race_id=args.race, racer_id=args.racer, uow=default_uow())
    if args.json:
        print(json.dumps([entry.as_json() for entry in entries], indent=2))
        return 0
    if not entries:
        print("no admin actions recorded" + (" for that filter" if args.race or args.racer else ""))
        return 0
    for entry in entries:
        line = f"{format_instant(entry.at, INSTANT_WITH_YEAR)}  {entry.label}: {entry.subject}"
        if entry.change:
            line += f": {entry.change}"
        line += f" (by {entry.actor_name})"
        if entry.reason:
            line += f"; why: {entry.reason}"
        print(line)
    return 0


def add_audit_commands(commands) -> None:
    audit = commands.add_parser("audit", help="print every admin action, newest first")
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.add_argument("--race", metavar="N", help="only what touched race N")
    audit.add_argument("--racer", metavar="N", help="only what touched racer N")
    audit.set_defaults(handler=_cmd_audit)

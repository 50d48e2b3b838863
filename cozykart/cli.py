"""`python -m cozykart`: the operator's command line.

Each command is a thin entry point: parse arguments, call one service, print
the outcome. Errors a person can act on print their message and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cozykart.cli_audit import add_audit_commands
from cozykart.cli_backup import add_backup_commands
from cozykart.cli_discord import add_discord_commands
from cozykart.cli_ledger import add_ledger_commands
from cozykart.cli_webhooks import add_webhook_commands
from cozykart.domain.errors import CozyKartError
from cozykart.settings import SettingsError, load_settings


def _cmd_migrate(args: argparse.Namespace) -> int:
    from cozykart.services import maintenance

    revision = maintenance.migrate(load_settings())
    print(f"database at revision {revision}")
    return 0


def _cmd_seed_demo(args: argparse.Namespace) -> int:
    from cozykart.services import default_uow, demo
    from cozykart.services.handlers import DEMO_SEED_HANDLERS

    report = demo.seed_demo(uow=default_uow(handlers=DEMO_SEED_HANDLERS))  # demo data is never announced
    print(report.describe())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cozykart", description="Cozy-Kart operator commands")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser("migrate", help="apply database migrations up to the newest")
    migrate.set_defaults(handler=_cmd_migrate)

    seed = commands.add_parser("seed-demo", help="load demo data (safe to run twice)")
    seed.set_defaults(handler=_cmd_seed_demo)

    add_ledger_commands(commands)  # reconcile, wallet, balances, export-ledger, statement
    add_webhook_commands(commands)  # trigger, set-product-cost, inbox
    add_discord_commands(commands)  # discord register-commands, outbox
    add_audit_commands(commands)  # audit
    add_backup_commands(commands)  # backup, restore

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (CozyKartError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

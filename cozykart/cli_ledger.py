"""The ledger's operator commands: reconcile, wallet, balances, export-ledger, statement.

Registered on `python -m cozykart` by `cozykart.cli`; each parses its arguments,
calls one read service and prints the outcome.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys

from cozykart.domain.money import format_cents
from cozykart.settings import load_settings


def _uow():
    from cozykart.services import default_uow

    return default_uow()


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from cozykart.services.reads.reconcile import reconcile

    report = reconcile(uow=_uow())
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    elif report.clean:
        print(f"ledger clean: {report.transactions_checked} transactions, {report.accounts_checked} accounts")
    else:
        print(f"{len(report.violations)} violation(s):")
        for violation in report.violations:
            print(f"  {violation.check}: {violation.detail}")
    return 0 if report.clean else 1


def _cmd_wallet(args: argparse.Namespace) -> int:
    from cozykart.services.wallet import wallet_by_discord_id

    settings = load_settings()
    summary = wallet_by_discord_id(args.discord_id, uow=_uow())
    if args.json:
        print(json.dumps(summary.as_json()))
        return 0
    money = lambda cents: format_cents(cents, settings.currency)  # noqa: E731
    print(f"{summary.display_name} ({summary.discord_id})")
    for label, cents in (
        ("available", summary.available_cents),
        ("held", summary.held_cents),
        ("in payout", summary.in_payout_cents),
        ("debt", summary.debt_cents),
        ("lifetime earned", summary.lifetime_earned_cents),
        ("paid out", summary.paid_out_cents),
    ):
        print(f"  {label:<16}{money(cents):>14}")
    return 0


def _cmd_balances(args: argparse.Namespace) -> int:
    from cozykart.services.wallet import balances

    settings = load_settings()
    rows = balances(uow=_uow())
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "account": row.code,
                        "kind": row.kind,
                        "racer_id": row.racer_id,
                        "discord_id": row.discord_id,
                        "race_id": row.race_id,
                        "balance_cents": row.balance_cents,
                    }
                    for row in rows
                ],
                indent=2,
            )
        )
        return 0
    for row in rows:
        owner = f" {row.display_name}" if row.display_name else ""
        print(f"{row.code:<28}{format_cents(row.balance_cents, settings.currency):>16}{owner}")
    return 0


def _cmd_export_ledger(args: argparse.Namespace) -> int:
    from cozykart.services.wallet import EXPORT_COLUMNS, export_ledger

    writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    try:
        writer.writeheader()
        for row in export_ledger(uow=_uow()):
            writer.writerow(row)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _cmd_statement(args: argparse.Namespace) -> int:
    from cozykart.services.reads import statement

    settings = load_settings()
    statements = statement.league_statement(None, args.year, uow=_uow())
    if args.csv:
        sys.stdout.write(statement.statement_csv(statements, with_racer=True))
        return 0
    if not statements:
        print(f"no earnings or payouts in {args.year}")
        return 0

    def money(cents: int) -> str:
        return format_cents(cents, settings.currency)

    print(f"{'racer':<28}{'earned':>12}{'tip fees':>12}{'taken back':>12}{'net':>12}{'paid out':>12}")
    for one in statements:
        total = one.total
        earned = (
            total.race_shares + total.tips_gross + total.result_fixes + total.adjustments + total.won_back
        )
        print(
            f"{one.name[:27]:<28}{money(earned):>12}{money(total.tip_fees):>12}{money(total.taken_back):>12}"
            f"{money(total.net_earned):>12}{money(total.paid_out_total):>12}"
        )
    return 0


def add_ledger_commands(commands) -> None:
    reconcile = commands.add_parser("reconcile", help="check the ledger; exit 1 listing any violation")
    reconcile.add_argument("--json", action="store_true", help="print the report as JSON")
    reconcile.set_defaults(handler=_cmd_reconcile)

    wallet = commands.add_parser("wallet", help="a racer's wallet by Discord id")
    wallet.add_argument("discord_id", metavar="DISCORD_ID")
    wallet.add_argument("--json", action="store_true", help="print the wallet as JSON")
    wallet.set_defaults(handler=_cmd_wallet)

    balances = commands.add_parser("balances", help="every ledger account's balance")
    balances.add_argument("--json", action="store_true", help="print the balances as JSON")
    balances.set_defaults(handler=_cmd_balances)

    export = commands.add_parser("export-ledger", help="every posting, oldest first")
    export.add_argument("--csv", action="store_true", required=True, help="CSV on standard output")
    export.set_defaults(handler=_cmd_export_ledger)

    yearly = commands.add_parser("statement", help="every racer's yearly statement (for taxes), by UTC month")
    yearly.add_argument("--year", required=True, metavar="YYYY", help="the calendar year")
    yearly.add_argument(
        "--csv", action="store_true", help="CSV on standard output: per racer, per month and total"
    )
    yearly.set_defaults(handler=_cmd_statement)

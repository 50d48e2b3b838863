"""The ledger's operator commands, run as a real process on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import text

from cozykart.services import ledger
from tests.conftest import run_cli
from tests.integration.ledger_support import T0, finalize_race, make_race, make_racers, settings_for

WALLET_FIELDS = {
    "discord_id",
    "available_cents",
    "held_cents",
    "in_payout_cents",
    "debt_cents",
    "lifetime_earned_cents",
    "paid_out_cents",
    "refunds_taken_back_cents",
}


def _a_race_with_a_sale(database) -> list[int]:
    racers = make_racers(database, 3)
    race_id = make_race(database, racers)
    ledger.record_sale(
        key="pi_cli",
        gross_cents=3000,
        sold_at=T0 + timedelta(seconds=1),
        item="Hoodie",
        uow=database.uow(settings_for(database)),
    )
    finalize_race(database, race_id, {racers[0]: 1, racers[1]: 2, racers[2]: 3}, at=T0 + timedelta(hours=1))
    return racers


def test_reconcile_wallet_balances_and_export_on_a_clean_ledger(database):
    _a_race_with_a_sale(database)

    reconciled = run_cli(database.url, "reconcile", "--json")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert json.loads(reconciled.stdout)["clean"] is True

    wallet = run_cli(database.url, "wallet", "100000", "--json")
    assert wallet.returncode == 0, wallet.stderr
    summary = json.loads(wallet.stdout)
    assert set(summary) == WALLET_FIELDS
    assert summary["discord_id"] == "100000"
    assert summary["held_cents"] + summary["available_cents"] == 200
    assert summary["lifetime_earned_cents"] == 200

    balances = run_cli(database.url, "balances", "--json")
    assert balances.returncode == 0, balances.stderr
    assert sum(row["balance_cents"] for row in json.loads(balances.stdout)) == 0

    exported = run_cli(database.url, "export-ledger", "--csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sum(int(row["amount_cents"]) for row in rows) == 0
    assert any("Share of 'Hoodie' sale ($30.00)" in row["description"] for row in rows)


def test_reconcile_exits_one_listing_a_tampered_cached_balance(database):
    _a_race_with_a_sale(database)
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_account SET balance_cents = balance_cents + 1 WHERE code = 'house'")
        )

    reconciled = run_cli(database.url, "reconcile")
    assert reconciled.returncode == 1
    assert "cached_balance_mismatch: house" in reconciled.stdout


def test_wallet_of_an_unknown_racer_is_an_error_a_person_can_read(database):
    result = run_cli(database.url, "wallet", "424242", "--json")
    assert result.returncode == 2
    assert "No racer has the Discord id 424242" in result.stderr

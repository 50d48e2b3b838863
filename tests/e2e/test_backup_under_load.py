"""A backup taken while the served app takes webhooks restores to the source at one instant
(bench/backup_drill.py), on SQLite and PostgreSQL.

The drill's comparison is pinned first on its own: a copy that lacks a transaction before
its last one, holds one the source never had, a balance off by a cent, or an inbox row
whose transaction is not in it, must each be named.
"""

from __future__ import annotations

import random

import pytest

from bench import backup_drill, crash_drill
from tests import drill_reports
from tests.conftest import BACKENDS

DRILL_EVENTS = 240


def _ledger(*transactions: tuple[int, str, list[tuple[str, int]]], inbox=None) -> dict:
    balances: dict[str, int] = {}
    for _id, _key, postings in transactions:
        for code, cents in postings:
            balances[code] = balances.get(code, 0) + cents
    return {
        "transactions": {i: (key, "COMMISSION", sorted(postings)) for i, key, postings in transactions},
        "balances": balances,
        "inbox": inbox or {},
    }


def test_the_comparison_sees_a_gap_a_stranger_a_wrong_balance_and_a_half_applied_event():
    sales = [d for d in crash_drill.plan(12, random.Random(3)) if d.kind == "sale"][:3]
    rows = [
        (n + 1, backup_drill.transaction_key(sale), [("clearing", -sale.cents), ("house", sale.cents)])
        for n, sale in enumerate(sales)
    ]
    inbox = {sale.event_id: "applied" for sale in sales}
    source = _ledger(*rows, inbox=inbox)
    instants = {"backup_started": 10.0, "backup_ended": 11.0, "acked_at": {}, "first_sent": {}}

    assert (
        backup_drill.compare(source, _ledger(*rows[:2], inbox=dict(list(inbox.items())[:2])), sales, instants)
        == []
    )
    gap = backup_drill.compare(source, _ledger(rows[0], rows[2], inbox=inbox), sales, instants)
    assert any("not a prefix" in problem for problem in gap), gap
    stranger = backup_drill.compare(source, _ledger(*rows, (9, "payment:x", [("house", 1)])), sales, instants)
    assert any("not in the source" in problem for problem in stranger), stranger
    off = _ledger(*rows[:2], inbox=dict(list(inbox.items())[:2]))
    off["balances"]["house"] += 1
    assert any("house holds" in p for p in backup_drill.compare(source, off, sales, instants))
    half = backup_drill.compare(source, _ledger(*rows[:2], inbox=inbox), sales, instants)
    assert any("without their transaction" in problem for problem in half), half
    early = dict(instants, acked_at={sales[2].event_id: 9.0})
    missed = backup_drill.compare(
        source, _ledger(*rows[:2], inbox=dict(list(inbox.items())[:2])), sales, early
    )
    assert any("acknowledged before the backup began" in problem for problem in missed), missed


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_a_backup_under_load_restores_to_the_source_at_its_instant(
    empty_db_url, restore_target_url, tmp_path
):
    report = drill_reports.run_in_own_thread(
        backup_drill.drill, empty_db_url, restore_target_url, tmp_path, events=DRILL_EVENTS
    )

    acknowledged = report["acknowledged"]
    assert min(acknowledged.values()) > 0, acknowledged  # before, during and after the backup
    split = report["acknowledged_during"]
    assert split["in_copy"] + split["not_in_copy"] == acknowledged["during"]
    assert report["retry"]["never_acknowledged"] == 0
    assert report["problems"] == []
    assert report["reconcile"] == {"source_clean": True, "restored_clean": True}
    assert 0 < report["transactions_in_copy"] < report["source_transactions"]
    assert report["ok"] is True
    backend = empty_db_url.split(":")[0].split("+")[0]
    drill_reports.record(
        f"backup-{backend}",
        report,
        f"{report['deliveries']} deliveries, acknowledged {acknowledged['before']} before / "
        f"{acknowledged['during']} during ({split['in_copy']} before the copy's instant, "
        f"{split['not_in_copy']} after) / {acknowledged['after']} after the backup, "
        f"{report['retry']['retried']} retried, 0 lost, 0 doubled; backup {report['backup']['seconds']} s "
        f"({report['backup_command_seconds']} s command), {report['backup']['bytes']} bytes, "
        f"{report['transactions_in_copy']} of {report['source_transactions']} transactions in the copy; "
        f"restore {report['restore']['seconds']} s ({report['restore_command_seconds']} s command); "
        f"reconcile clean on source and copy",
    )

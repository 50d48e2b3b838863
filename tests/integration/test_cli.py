"""`python -m cozykart` as an operator runs it: a real process on a real database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from cozykart.db.engine import create_db_engine
from cozykart.db.outbox_tables import DiscordOutbox
from cozykart.settings import PROJECT_ROOT
from tests.conftest import BACKENDS, CLI_TIMEOUT_S, run_cli


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_migrate_then_seed_demo_twice(empty_db_url):
    migrated = run_cli(empty_db_url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("database at revision ")

    first = run_cli(empty_db_url, "seed-demo")
    second = run_cli(empty_db_url, "seed-demo")

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("demo data loaded: 16 racers, 1 season, 9 races, ")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "demo data already present; nothing added"
    engine = create_db_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            queued = connection.execute(sa.select(sa.func.count()).select_from(DiscordOutbox)).scalar_one()
    finally:
        engine.dispose()
    assert queued == 0, "the demo's tips are never announced to a real channel"


def test_a_bad_setting_is_reported_without_a_traceback(tmp_path):
    env = dict(os.environ, REFLEX_DB_URL=f"sqlite:///{tmp_path / 'x.db'}", COZYKART_CURRENCY="dollars")
    result = subprocess.run(
        [sys.executable, "-m", "cozykart", "seed-demo"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert result.returncode == 2
    assert "COZYKART_CURRENCY must be a three-letter ISO code" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_prints_every_admin_action_as_text_or_json_and_filters(database):
    import json

    from tests.integration.test_audit_trail import _a_night_of_admin_actions

    _lg, race_id, (_paid, rejected, direct) = _a_night_of_admin_actions(database)

    text = run_cli(database.url, "audit")
    as_json = run_cli(database.url, "audit", "--json")
    of_race = run_cli(database.url, "audit", "--json", "--race", str(race_id))
    bad = run_cli(database.url, "audit", "--racer", "abc")

    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 11  # 3 payouts, the key, a role, a setting, 3 fixes, 2 seasons
    assert lines[0].endswith(
        f"Direct payout: Payout #{direct} of $10.00 to Racer1: paid by gift_card (ref GC-9) (by Admin)"
    )
    assert (
        f"Payout rejected: Payout #{rejected} of $25.00: pending → rejected: back in the wallet (by Admin); why: wrong PayPal address"
        in lines[1]
    )
    assert as_json.returncode == 0, as_json.stderr
    entries = json.loads(as_json.stdout)
    assert [entry["kind"] for entry in entries[:3]] == ["payout_direct", "payout_rejected", "payout_paid"]
    assert {"at", "who", "what", "subject", "old", "new", "why", "race_id", "racer_id"} <= set(entries[0])
    assert {entry["kind"] for entry in json.loads(of_race.stdout)} == {"result_fix"}
    assert bad.returncode == 2
    assert "Give a racer number" in bad.stderr and "Traceback" not in bad.stderr

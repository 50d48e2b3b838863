"""Crash safety: the served app is SIGKILLed mid-load and restarted; every acknowledged webhook is
applied exactly once and nothing else changed (bench/crash_drill.py), on SQLite and PostgreSQL.

The drill's checker is pinned first on its own: given a database where one sale was
applied twice (under a second key, as a retry that missed its inbox row would), or an
event nobody acknowledged was applied, or a delivery never arrived, it must say so.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bench import _served, crash_drill
from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger
from cozykart.services.handlers import HANDLERS
from cozykart.settings import Settings
from tests import drill_reports
from tests.conftest import BACKENDS

DRILL_EVENTS = 300


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_the_checker_sees_a_double_applied_sale_an_unacknowledged_event_and_a_lost_one(empty_db_url):
    league = _served.prepare(empty_db_url)
    settings = Settings(db_url=empty_db_url, admin_discord_ids=frozenset({_served.ADMIN_DISCORD_ID}))
    deliveries = crash_drill.plan(12, random.Random(7))
    sale = next(delivery for delivery in deliveries if delivery.kind == "sale")
    deliveries.append(
        crash_drill._refund_for(next(d for d in deliveries if d.kind == "sale" and d is not sale))
    )
    engine = create_db_engine(empty_db_url)
    try:
        for delivery in deliveries:
            crash_drill.apply_in_process(engine, settings, delivery)

        def problems(delivered: list[crash_drill.Delivery]) -> list[str]:
            expected = crash_drill.expected_of(
                delivered,
                commission_bps=settings.commission_rate_bps,
                tip_fee_bps=settings.tip_fee_bps,
                race_id=league.race_id,
                dj_id=league.dj_id,
            )
            return crash_drill.check(expected, crash_drill.observe(empty_db_url))

        assert problems(deliveries) == []
        assert any("inbox: 0 events missing, 1 unexpected" in problem for problem in problems(deliveries[1:]))
        lost = crash_drill.Delivery("tip", 500, _served.tip_event(500))
        assert any("inbox: 1 events missing" in problem for problem in problems([*deliveries, lost]))

        ledger.record_sale(
            key=f"{sale.payment_key}:again",
            gross_cents=sale.cents,
            sold_at=datetime.now(UTC),
            item="Drill tee",
            provider="stripe",
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
        )
        found = problems(deliveries)
    finally:
        engine.dispose()
    assert any(problem.startswith(f"race:{league.race_id}:pool holds") for problem in found), found
    assert any(problem.startswith("clearing holds") for problem in found), found
    assert any("1 unexpected" in problem and "payments" in problem for problem in found), found
    assert any("COMMISSION transactions" in problem for problem in found), found


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_sigkill_mid_load_then_retries_leave_every_event_applied_exactly_once(empty_db_url, tmp_path):
    report = drill_reports.run_in_own_thread(crash_drill.drill, empty_db_url, tmp_path, events=DRILL_EVENTS)

    assert len(report["kills"]) == crash_drill.KILLS_DEFAULT
    assert all(
        cycle["killed"] and cycle["never_sent"] > 0 for cycle in report["kills"]
    )  # each kill came mid-load
    assert report["retry"]["retried"] > 0
    assert report["retry"]["never_acknowledged"] == 0
    assert report["retry"]["duplicates_acknowledged"] == report["retry"]["duplicates_sent"] > 0
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    assert report["problems"] == []
    assert report["ok"] is True
    drill_reports.record(
        f"sigkill-{empty_db_url.split(':')[0].split('+')[0]}",
        report,
        f"{report['distinct_events']} events, {len(report['kills'])} SIGKILLs, {report['retry']['retried']} retried, "
        f"0 lost, 0 doubled, reconcile clean, {report['seconds']} s",
    )

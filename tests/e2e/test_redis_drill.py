"""Redis stopped for 10 s and started again empty, under load, with two workers on PostgreSQL
(bench/redis_drill.py): webhooks keep settling, every acknowledged event is applied once,
every announcement is sent once, and every viewer shows the database's pot again.

Skips with a message without COZYKART_TEST_POSTGRES_URL (two workers need PostgreSQL) or
without `redis-server` on PATH (the drill runs its own, to stop it).
"""

from __future__ import annotations

import os
import shutil

import pytest

from bench import _served, redis_drill
from tests import drill_reports

pytestmark = pytest.mark.e2e
DRILL_EVENTS = 160
VIEWER_RECOVERY_MAX_S = (
    15  # RESYNC comes within RECONNECT_DELAY_S of Redis answering; a loaded machine is slow
)


@pytest.fixture
def postgres_url(tmp_path):
    base = os.environ.get("COZYKART_TEST_POSTGRES_URL", "").strip()
    if not base:
        pytest.skip(
            "Redis drill skipped: COZYKART_TEST_POSTGRES_URL is not set (two workers need PostgreSQL)"
        )
    if shutil.which("redis-server") is None:
        pytest.skip("Redis drill skipped: redis-server is not on PATH (the drill stops and starts its own)")
    url, schema = _served.postgres_schema(base, "redis_drill")
    yield url
    _served.drop_schema(base, schema)


def test_redis_stopped_under_load_loses_nothing_and_viewers_recover(postgres_url, tmp_path):
    report = drill_reports.run_in_own_thread(
        redis_drill.drill, postgres_url, tmp_path, events=DRILL_EVENTS, outage_s=redis_drill.OUTAGE_S_DEFAULT
    )

    webhooks = report["webhooks"]
    assert report["outage_s"] >= redis_drill.OUTAGE_S_DEFAULT
    assert report["viewers_per_worker"][0] >= redis_drill.VIEWERS_PER_WORKER  # both workers hold viewers
    # Webhooks need only the database: everything sent while Redis was down was acknowledged.
    assert webhooks["attempts_during_outage"] > 0
    assert webhooks["acknowledged_during_outage"] == webhooks["attempts_during_outage"]
    assert webhooks["five_xx"] == 0
    # During the outage a worker's own pushes go on; the other worker's viewers miss them.
    assert report["lone_sale"]["acknowledged"] and report["lone_sale"]["workers_seeing_it"] == 1
    assert report["during_outage"]["viewers_connected_at_end"] == report["viewers"]
    assert report["during_outage"]["viewers_behind_database_at_end"] > 0
    # After: every viewer shows the database's pot, the tab opened meanwhile too, pushes cross workers again.
    assert report["viewer_recovery_s"] is not None and report["viewer_recovery_s"] <= VIEWER_RECOVERY_MAX_S
    assert report["new_tab_recovery_s"] is not None and report["new_tab_recovery_s"] <= VIEWER_RECOVERY_MAX_S
    assert report["page_reload_s"] is not None and report["page_reload_s"] <= VIEWER_RECOVERY_MAX_S
    assert report["page_reloads_asked"] >= report["viewers"]
    assert report["cross_worker_after_return_s"] is not None
    assert report["keyspace_events_after_return"]  # Reflex's lock notifications are on again
    # Nothing lost or doubled: ledger, inbox, reconcile, announcements.
    assert report["retry"]["never_acknowledged"] == 0
    assert report["retry"]["duplicates_acknowledged"] == report["retry"]["duplicates_sent"] > 0
    assert report["acknowledged"] == report["distinct_events"]
    assert report["applied_once"] is True
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    announced = report["announcements"]
    assert announced["each_once"] and announced["doubled"] == 0 and announced["not_sent"] == 0
    assert (
        announced["sent"] == announced["expected"] and announced["tip_rows"] == announced["tips_expected"] > 0
    )
    assert report["problems"] == []
    assert report["ok"] is True
    drill_reports.record(
        "redis-outage-postgresql",
        report,
        f"{report['distinct_events']} events, Redis down {report['outage_s']} s: "
        f"{webhooks['acknowledged_during_outage']} acknowledged during it, {webhooks['five_xx']} 5xx, "
        f"{report['retry']['retried']} retried, {report['acknowledged']} acknowledged = applied once, "
        f"announcements {announced['sent']}/{announced['expected']}, viewers recovered in "
        f"{report['viewer_recovery_s']} s (new tab {report['new_tab_recovery_s']} s, "
        f"every page asked to reload {report['page_reload_s']} s), "
        f"reconcile {'clean' if report['reconcile']['clean'] else 'NOT clean'}, {report['seconds']} s",
    )

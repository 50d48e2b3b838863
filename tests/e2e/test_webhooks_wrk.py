"""bench/webhooks_wrk.py's quick run through bench/run.py: wrk sends every pre-signed delivery
once and the served app applies each once, on SQLite and (with a URL) PostgreSQL with one and
two workers; every goal of issue 21 sits beside a figure. Nothing about speed is asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run

ROOT = Path(__file__).resolve().parents[2]
QUICK_RUN_TIMEOUT_S = 900
QUICK_EVENTS = 300  # bench/run.py's quick arguments for webhooks_wrk
QUICK_FIXED_RATE_EVENTS = 50 * 2


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_quick_run_applies_every_wrk_delivery_once_and_reports_each_goal():
    completed = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", "webhooks_wrk"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_RUN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    report = json.loads(completed.stdout)
    assert completed.returncode == 0, (report["failed"], completed.stderr[-3000:])
    postgres = bool(os.environ.get(run.POSTGRES_URL_ENV))

    runs = report["benches"]["webhooks_wrk"]["result"]["reports"]
    expected = [("sqlite", 1)] + ([("postgresql", 1), ("postgresql", 2)] if postgres else [])
    assert [(r["database"], r["workers"]) for r in runs] == expected
    for measured in runs:
        settled, fixed = measured["settled"], measured["fixed_rate"]
        assert settled["events"] == settled["answered"] == settled["inbox_rows_applied"] == QUICK_EVENTS
        assert settled["inbox_rows"] == QUICK_EVENTS and settled["all_applied_once"] is True, settled
        assert settled["wrk_non_2xx"] == 0 and settled["refused"] == 0
        assert fixed["inbox_rows_applied"] == fixed["events"] == QUICK_FIXED_RATE_EVENTS, fixed
        assert fixed["all_applied_once"] is True and fixed["wrk_non_2xx"] == 0
        assert measured["noop"]["before_per_s"] > 0 and measured["noop"]["after_per_s"] > 0
        assert settled["server_cpu_ms_per_event"] > 0 and len(measured["load_average_before"]) == 3
        assert 0 <= settled["server_system_cpu_ms_per_event"] <= settled["server_cpu_ms_per_event"], settled
        if measured["database"] == "postgresql":
            assert settled["postgres_backends"] >= 1 and settled["postgres_cpu_ms_per_event"] > 0, settled

    goals = [goal for goal in report["goals"] if goal["bench"] == "webhooks_wrk"]
    assert len(goals) == len(run.WRK_GOALS) + 1
    for goal in goals:
        if goal["database"] == "sqlite" or postgres:
            assert isinstance(goal["measured"], int | float) and goal["met"] in (True, False), goal
        else:
            assert goal["met"] is None and goal["skipped"] == run.SKIPPED_NO_POSTGRES

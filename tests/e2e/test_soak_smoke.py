"""bench/soak.py, briefly: every kind of traffic reaches the served app and is answered, the
server's memory is sampled, and the ledger reconciles afterwards (the five-minute run is
`python bench/soak.py`; its figures are in the project's notes, not asserted here)."""

from __future__ import annotations

import argparse

import pytest

from bench import soak
from tests import drill_reports

SMOKE_SECONDS = 10


def test_a_short_soak_answers_every_kind_of_request_and_leaves_the_ledger_clean(tmp_path):
    report = drill_reports.run_in_own_thread(
        soak.soak, f"sqlite:///{tmp_path / 'soak.db'}", tmp_path, SMOKE_SECONDS
    )

    assert report["errors"] == {}, report["error_samples"]
    assert set(report["requests"]) >= {"sale", "tip", "refund", "api_read", "page_view", "login"}
    assert report["requests"]["sale"] >= SMOKE_SECONDS  # about 8 a second were offered
    assert report["rss_mb"]["samples"] >= 2 and report["rss_mb"]["peak"] >= report["rss_mb"]["start"] > 0
    assert report["inbox_not_applied"] == 0
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    assert report["ok"] is True


def test_kinds_names_the_traffic_to_run_and_refuses_an_unknown_one():
    assert soak._kinds("sale, tip") == ("sale", "tip")
    for bad in ("sale,lunch", "", " , "):
        with pytest.raises(argparse.ArgumentTypeError, match="kinds are some of sale,tip"):
            soak._kinds(bad)

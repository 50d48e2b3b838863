"""Graceful stop: the served app gets SIGTERM mid-load, three times, and is restarted; whatever it
answered 200 is committed, whatever it did not answer the provider's retry settles, every event is
applied exactly once, every announcement reaches Discord once (bench/sigterm_drill.py), on SQLite
and PostgreSQL. And SIGTERM while the writer cannot commit (another transaction holds its lock):
the stop waits, then every delivery handed over is committed and answered 200.

The drill's own judgement is pinned first: an answered-but-uncommitted request, an announcement
sent twice or never sent must each be reported.
"""

from __future__ import annotations

import random

import pytest

from bench import crash_drill, sigterm_drill
from tests import drill_reports
from tests.conftest import BACKENDS
from tests.fake_discord_webhook import FakeDiscordWebhook

DRILL_EVENTS = 300


def _attempt(started: float, ended: float, status: str) -> sigterm_drill.Attempt:
    delivery = crash_drill.plan(1, random.Random(started))[0]
    return sigterm_drill.Attempt(delivery, started, ended, status, acknowledged=status.startswith("200"))


def test_the_classifier_counts_an_acknowledged_but_uncommitted_request_and_sorts_the_in_flight_ones():
    stop = sigterm_drill._Stop(signalled_at=10.0)
    before = _attempt(1.0, 2.0, "200 applied")  # done before the signal: not in flight
    answered = _attempt(9.0, 10.5, "200 applied")
    refused = _attempt(9.5, 10.2, "503")
    closed = _attempt(9.8, 10.1, "ReadError")
    attempts = [before, answered, refused, closed]

    committed = {before.delivery.event_id, refused.delivery.event_id}  # `answered` is not in the inbox
    cycle = sigterm_drill.classify(attempts, stop, committed)

    assert cycle["in_flight_at_sigterm"] == 3
    assert (cycle["answered_200_after_sigterm"], cycle["answered_5xx_after_sigterm"]) == (1, 1)
    assert cycle["closed_without_answer"] == 1
    assert cycle["unanswered_but_committed"] == 1
    assert cycle["acknowledged_not_committed"] == 1
    committed.add(answered.delivery.event_id)
    assert sigterm_drill.classify(attempts, stop, committed)["acknowledged_not_committed"] == 0


def test_the_announcement_check_sees_one_sent_twice_and_one_never_sent():
    discord = FakeDiscordWebhook()
    discord.received.extend([{"content": "a"}, {"content": "b"}])
    assert sigterm_drill.announcement_problems({"sent": 2}, discord) == []

    discord.received.append({"content": "b"})
    assert any("twice" in problem for problem in sigterm_drill.announcement_problems({"sent": 2}, discord))
    problems = sigterm_drill.announcement_problems({"sent": 2, "pending": 1}, FakeDiscordWebhook())
    assert any("not sent" in problem for problem in problems)
    assert any("0 distinct announcements" in problem for problem in problems)


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_sigterm_mid_load_answers_only_what_it_committed_and_a_restart_loses_nothing(empty_db_url, tmp_path):
    report = drill_reports.run_in_own_thread(sigterm_drill.drill, empty_db_url, tmp_path, events=DRILL_EVENTS)

    cycles = report["cycles"]
    assert len(cycles) == sigterm_drill.STOPS_DEFAULT
    assert {cycle["sigterm_to"] for cycle in cycles} == {"process group", "main process"}
    for cycle in cycles:
        assert cycle["sigterm_sent"] and cycle["stopped_by_itself"], cycle
        # The signal came mid-load: requests in flight and deliveries still to send.
        assert cycle["in_flight_at_sigterm"] > 0 and cycle["never_sent"] > 0, cycle
        assert cycle["acknowledged_not_committed"] == 0, cycle
        assert cycle["in_flight_at_sigterm"] == (
            cycle["answered_200_after_sigterm"]
            + cycle["answered_5xx_after_sigterm"]
            + cycle["closed_without_answer"]
        )
        assert cycle["new_connection_after_sigterm"].startswith("refused"), cycle
        assert cycle["shutdown_log_defects"] == [], cycle
    # Requests caught by the signal were finished and answered, not dropped.
    assert sum(cycle["answered_200_after_sigterm"] for cycle in cycles) > 0
    assert report["final_stop"]["stopped_by_itself"]
    assert report["retry"]["never_acknowledged"] == 0
    assert report["retry"]["duplicates_acknowledged"] == report["retry"]["duplicates_sent"] > 0
    assert (
        report["outbox"] == {"sent": report["announcements_received"]}
        and report["announcements_received"] > 0
    )
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    assert report["problems"] == []
    assert report["ok"] is True
    drill_reports.record(f"sigterm-{empty_db_url.split(':')[0].split('+')[0]}", report, _summary(report))


def _summary(report: dict) -> str:
    cycles = report["cycles"]
    in_flight = sum(cycle["in_flight_at_sigterm"] for cycle in cycles)
    answered = sum(cycle["answered_200_after_sigterm"] for cycle in cycles)
    not_committed = sum(cycle["acknowledged_not_committed"] for cycle in cycles)
    acknowledged = report["distinct_events"] - report["retry"]["never_acknowledged"]
    return (
        f"{len(cycles)} SIGTERMs, {in_flight} in flight: {answered} answered 200 (all committed), "
        f"{in_flight - answered} unanswered, {not_committed} answered-not-committed; "
        f"exit <= {max(cycle['seconds_sigterm_to_exit'] for cycle in cycles)} s, "
        f"start <= {max(cycle['start_seconds'] for cycle in cycles)} s; "
        f"{acknowledged}/{report['distinct_events']} acknowledged and applied once, "
        f"{report['retry']['retried']} retried, {report['announcements_received']} announcements once, "
        f"reconcile {'clean' if report['reconcile']['clean'] else 'NOT clean'}, {report['seconds']} s"
    )


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_sigterm_while_the_writer_cannot_commit_waits_then_commits_and_answers_every_delivery(
    empty_db_url, tmp_path
):
    report = drill_reports.run_in_own_thread(sigterm_drill.held_up_stop, empty_db_url, tmp_path)

    assert report["in_flight_at_sigterm"] == sigterm_drill.HELD_DELIVERIES  # all handed over, none answered
    assert report["alive_while_held"] is True  # the stop waited for the writer
    assert report["answered_200_after_sigterm"] == sigterm_drill.HELD_DELIVERIES
    assert report["acknowledged_not_committed"] == 0
    assert (
        report["stopped_by_itself"]
        and report["seconds_sigterm_to_exit"] >= sigterm_drill.HOLD_AFTER_SIGTERM_S
    )
    assert "retry" not in report  # nothing was left for the provider to retry
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    assert report["problems"] == [] and report["ok"] is True
    drill_reports.record(
        f"sigterm-held-{empty_db_url.split(':')[0].split('+')[0]}",
        report,
        f"SIGTERM with the writer held {report['hold_after_sigterm_s']} s: "
        f"{report['in_flight_at_sigterm']} in flight, {report['answered_200_after_sigterm']} answered 200 "
        f"and committed, {report['acknowledged_not_committed']} answered-not-committed, "
        f"{report['distinct_events']} applied once, 0 retries, exit after {report['seconds_sigterm_to_exit']} s, "
        f"reconcile {'clean' if report['reconcile']['clean'] else 'NOT clean'}, {report['seconds']} s",
    )

"""Discord's faults against the served app (bench/discord_drill.py), on SQLite and PostgreSQL: signed Stripe
tips are announced through a webhook that answers route and global 429s (JSON and Cloudflare-style),
a spent bucket, 500/502/503 and stalls, and DMed to the DJ through a bot that does the same; every
message arrives once and in order (the webhook's one documented exception: a stall that stored the
message), every wait is honoured, and no webhook POST waits for Discord.

The drill's comparison is pinned first on its own: given what a fake received out of order, twice
without a stored timeout to explain it, or not at all, it must say so.
"""

from __future__ import annotations

import pytest

from bench import discord_drill
from tests import drill_reports
from tests.conftest import BACKENDS
from tests.fake_discord_webhook import FakeDiscordWebhook

POST_MS_MAX_DURING_STALL = 2000  # a request never waits for Discord (the stall is 7 s)


def _rows(*texts: str) -> list[tuple[int, str, dict]]:
    return [(n, "sent", {"content": text}) for n, text in enumerate(texts, start=1)]


def test_the_comparison_sees_a_duplicate_an_inversion_and_a_lost_message():
    fake = FakeDiscordWebhook()
    fake.received.extend([{"content": "one"}, {"content": "three"}, {"content": "two"}, {"content": "two"}])
    found = discord_drill.compare(_rows("one", "two", "three", "four"), fake)
    assert found["out_of_order"] == 2  # "two" after "three", twice
    assert found["duplicates_seen_by_fake"] == 1 and found["unexplained_duplicates"] == 1
    assert found["never_delivered"] == [4] and found["messages_delivered"] == 3

    fine = FakeDiscordWebhook()
    fine.received.extend([{"content": "one"}, {"content": "two"}])
    clean = discord_drill.compare(_rows("one", "two"), fine)
    assert (clean["duplicates_seen_by_fake"], clean["out_of_order"], clean["never_delivered"]) == (0, 0, [])
    assert clean["messages_delivered"] == 2


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_discord_429s_5xx_and_stalls_deliver_every_announcement_once_in_order_without_blocking(
    empty_db_url, tmp_path
):
    report = drill_reports.run_in_own_thread(discord_drill.drill, empty_db_url, tmp_path)

    discord, waits, latency = report["discord"], report["waits"], report["latency"]
    assert report["schedule_left"] == 0  # every scripted fault met a request
    assert discord["messages_queued"] == report["tips_sent"] + 1 > 1  # the race start and each tip
    assert discord["messages_delivered"] == discord["messages_sent_status"] == discord["messages_queued"]
    assert discord["out_of_order"] == 0 and discord["unknown_messages"] == 0
    # Execute Webhook has no nonce: only the stall that stored the message and answered too late repeats it.
    assert discord["duplicates_seen_by_fake"] == discord["stored_timeouts"] == 1
    assert discord["unexplained_duplicates"] == 0
    assert waits["rate_limits_asked"] == 4 == waits["rate_limits_honoured"]
    assert waits["min_wait_margin_s"] >= 0 and waits["early_requests"] == 0
    assert report["retries"] >= 7
    assert latency["posts_during_stall"] > 0
    assert latency["max_post_ms_during_stall"] < POST_MS_MAX_DURING_STALL
    bot = report["bot"]
    assert bot["schedule_left"] == 0 and bot["bot_early_requests"] == 0
    assert bot["dms_delivered"] == bot["dms_sent_status"] == bot["dms_queued"] == report["tips_sent"]
    assert (
        bot["dm_duplicates"] == 0 < bot["dm_stored_timeouts"]
    )  # the nonce: a lost answer is not a second DM
    assert bot["dm_out_of_order"] == 0
    assert report["tips_acknowledged"] == report["tips_sent"]
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    assert report["problems"] == [] and report["ok"] is True
    backend = empty_db_url.split(":")[0].split("+")[0]
    drill_reports.record(
        f"discord-{backend}",
        report,
        f"{report['tips_acknowledged']} tips acknowledged and applied once, {discord['messages_queued']} "
        f"announcements delivered in order ({discord['duplicates_seen_by_fake']} duplicate from a stored "
        f"timeout), {bot['dms_delivered']} DMs once in order (0 duplicates after {bot['dm_stored_timeouts']} "
        f"stored timeout), {waits['rate_limits_honoured']}/{waits['rate_limits_asked']} waits honoured "
        f"(min margin {waits['min_wait_margin_s']} s), {report['retries']} retries, recovered "
        f"{report['recovery_s']} s after the last fault, POST max {latency['max_post_ms_during_stall']} ms "
        f"while Discord stalled, reconcile clean, {report['seconds']} s",
    )

"""Stopping the outbox's sender (the lifespan cancels its task on SIGTERM) while a round is sending.

A round runs in a thread that cancelling the task cannot interrupt. Two promises are tested here
against the stand-in webhook (tests/fake_discord_webhook.py), on SQLite and PostgreSQL:
- the stop finishes at most the message in flight (one client timeout), not the rest of the batch
  (up to `SEND_BATCH_MAX` slow sends): after the task ends, nothing more reaches Discord;
- the lease is given up only once that round's thread has returned, so a second sender waiting for
  the lease never sends the message the stopping one is still sending (the webhook has no nonce:
  two sends would show it twice).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from cozykart.api import discord as discord_api
from cozykart.db.types import utc_now
from cozykart.domain.discord_messages import OutboxChannel, OutboxStatus
from cozykart.integrations.discord_announce import WebhookNotifier
from cozykart.services import outbox
from cozykart.settings import Settings
from tests.fake_discord_webhook import FakeDiscordWebhook, stall
from tests.integration.discord_support import stand_in_discord

CLIENT_TIMEOUT_S = 2.0
SLOW_S = 1.0  # each answer comes this late: slow, yet inside the client's timeout (a 200, stored)
STOP_MARGIN_S = 3.0  # the settle's transaction and the event loop, on a shared machine
MESSAGES = 8  # fewer than SEND_BATCH_MAX: without the stop flag one round would send them all
SEND_INTERVAL_S = 0.1
WAIT_TIMEOUT_S = 60
POLL_S = 0.02
BOUND_S = 0.2  # a stop bound shorter than the stalled send, for the test of the bound
LATE_S = 2.0  # that send's answer: a 200 this late


def _queue(database, texts: list[str]) -> None:
    with database.uow() as uow:
        for text in texts:
            outbox.record(uow, dedupe_key=f"stop:{text}", kind="test", message={"content": text})
        uow.commit()


def _statuses(database) -> list[str]:
    rows = sorted(outbox.list_outbox(uow=database.uow()), key=lambda row: row.outbox_id)
    return [row.status for row in rows]


async def _until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {WAIT_TIMEOUT_S} s"
        await asyncio.sleep(POLL_S)


def _sender(fake: FakeDiscordWebhook, database, timeout_s: float = CLIENT_TIMEOUT_S) -> asyncio.Task:
    notifier = WebhookNotifier(fake.url, timeout_s=timeout_s)
    settings = Settings(db_url=database.url)
    return asyncio.create_task(discord_api._send_for_ever(notifier, OutboxChannel.ANNOUNCE, settings))


async def _stop(task: asyncio.Task) -> float:
    """Cancel the sender as the lifespan does; the seconds until its task has ended."""
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=WAIT_TIMEOUT_S)
    return time.monotonic() - cancelled_at


@pytest.fixture
def slow_discord(monkeypatch):
    monkeypatch.setattr(discord_api, "SEND_INTERVAL_S", SEND_INTERVAL_S)
    with stand_in_discord() as fake:
        fake.answer_next(*[stall(SLOW_S, stored=True) for _ in range(MESSAGES)])
        yield fake


def test_a_stop_mid_round_ends_after_the_message_in_flight_and_nothing_is_sent_after_it(
    database, slow_discord
):
    fake, texts = slow_discord, [f"slow {n}" for n in range(MESSAGES)]
    _queue(database, texts)

    async def scenario() -> tuple[float, int, int]:
        task = _sender(fake, database)
        await _until(lambda: len(fake.seen) >= 2, "the second slow send")
        stop_s = await _stop(task)
        tried_at_stop = len(fake.seen)
        await asyncio.sleep(SLOW_S * 3)  # a round still running in its thread would send again
        return stop_s, tried_at_stop, len(fake.seen)

    stop_s, tried_at_stop, tried_later = asyncio.run(scenario())
    assert stop_s <= CLIENT_TIMEOUT_S + STOP_MARGIN_S, f"the stop took {stop_s:.1f} s"
    assert tried_later == tried_at_stop, "the stopped round went on sending in its thread"
    assert tried_at_stop < MESSAGES
    sent = _statuses(database).count(OutboxStatus.SENT)
    assert fake.contents() == texts[:sent] and sent == tried_at_stop  # each try settled, in order
    assert _statuses(database)[sent:] == [OutboxStatus.PENDING] * (MESSAGES - sent)


def test_a_second_sender_takes_over_only_after_the_stopped_round_and_sends_nothing_twice(
    database, slow_discord
):
    fake, texts = slow_discord, [f"handed over {n}" for n in range(MESSAGES)]
    _queue(database, texts)

    async def scenario() -> float:
        first = _sender(fake, database)
        await _until(lambda: len(fake.seen) >= 1, "the first slow send")
        second = _sender(fake, database)  # waits for the lease the first one holds
        await asyncio.sleep(SEND_INTERVAL_S * 3)
        await _until(
            lambda: len(fake.seen) >= 2 and fake.seen[-1].at_s > time.monotonic() - SLOW_S / 2,
            "a send just started",
        )
        stop_s = await _stop(first)
        await _until(lambda: OutboxStatus.PENDING not in _statuses(database), "the second sender's drain")
        await _stop(second)
        return stop_s

    stop_s = asyncio.run(scenario())
    assert stop_s <= CLIENT_TIMEOUT_S + STOP_MARGIN_S, f"the stop took {stop_s:.1f} s"
    assert fake.duplicates() == 0, fake.contents()
    assert fake.contents() == texts and fake.attempts == MESSAGES
    assert _statuses(database) == [OutboxStatus.SENT] * MESSAGES
    with database.uow() as uow:  # the second sender released it too: nobody holds the channel
        now = utc_now()
        assert uow.outbox.take_lease(outbox.SENDER_LEASE_NAME, "a third", now=now, expires_at=now)


def test_a_round_still_sending_past_the_bound_keeps_the_lease_for_it_to_expire(database, monkeypatch):
    monkeypatch.setattr(discord_api, "SEND_INTERVAL_S", SEND_INTERVAL_S)
    monkeypatch.setattr(discord_api, "ROUND_REQUESTS_MAX", 0)  # the bound: the margin alone,
    monkeypatch.setattr(discord_api, "ROUND_STOP_MARGIN_S", BOUND_S)  # far shorter than the send
    _queue(database, ["past the bound"])
    with stand_in_discord() as fake:
        fake.answer_next(stall(LATE_S, stored=True))

        async def scenario() -> float:
            task = _sender(fake, database, timeout_s=LATE_S * 3)  # a late 200, not a timeout
            await _until(lambda: len(fake.seen) == 1, "the slow send")
            stop_s = await _stop(task)
            with database.uow() as uow:  # not released: another sender could send it again
                now = utc_now()
                assert not uow.outbox.take_lease(outbox.SENDER_LEASE_NAME, "b", now=now, expires_at=now)
            await _until(lambda: _statuses(database) == [OutboxStatus.SENT], "the late send's settle")
            return stop_s

        stop_s = asyncio.run(scenario())
    assert stop_s < LATE_S, f"the stop took {stop_s:.1f} s: it waited for the send"
    assert fake.contents() == ["past the bound"]

"""SIGTERM to the served app while its announcement sender is in a slow round, on SQLite and PostgreSQL.

Discord answers every message, slowly (inside the client's timeout): one sender round would go on
for the whole batch. The stop must end after the message in flight (the process exits within one
send timeout and a margin, not a batch of slow sends), record what it sent, give the lease up, and
the restarted app must send the rest: each message once and in order.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bench import _served
from cozykart.db.engine import create_db_engine
from cozykart.db.outbox_tables import DiscordSenderLease
from cozykart.db.uow import UnitOfWork
from cozykart.domain.discord_messages import OutboxStatus
from cozykart.integrations.discord_announce import REQUEST_TIMEOUT_S
from cozykart.services import outbox
from cozykart.services.handlers import HANDLERS
from tests.conftest import BACKENDS
from tests.fake_discord_webhook import FakeDiscordWebhook, stall

MESSAGES = 12
SLOW_S = 2.0  # each answer: a 200 this late (the served notifier waits up to REQUEST_TIMEOUT_S)
STOP_MARGIN_S = 6.0  # the server's own shutdown on a shared machine (the drills measure 1-4 s)
STOP_TIMEOUT_S = 90  # then SIGKILL, and the test fails
WAIT_TIMEOUT_S = 120
POLL_S = 0.1


def _queue(db_url: str, texts: list[str]) -> None:
    engine = create_db_engine(db_url)
    try:
        with UnitOfWork(engine, handlers=HANDLERS) as uow:
            for text in texts:
                outbox.record(uow, dedupe_key=f"served-stop:{text}", kind="test", message={"content": text})
            uow.commit()
    finally:
        engine.dispose()


def _outbox(db_url: str) -> tuple[list[tuple[str, str]], str | None]:
    """(content, status) of every announcement in id order, and who holds the announcer's lease."""
    engine = create_db_engine(db_url)
    try:
        with UnitOfWork(engine, handlers=HANDLERS) as uow:
            rows = sorted(
                outbox.list_outbox(uow=uow, limit=outbox.OUTBOX_LIST_LENGTH_MAX), key=lambda r: r.outbox_id
            )
            holder = uow.session.execute(
                select(DiscordSenderLease.holder).where(DiscordSenderLease.name == outbox.SENDER_LEASE_NAME)
            ).scalar_one_or_none()
        return [(row.summary, row.status) for row in rows], holder
    finally:
        engine.dispose()


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {WAIT_TIMEOUT_S} s"
        time.sleep(POLL_S)


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_sigterm_during_a_slow_round_stops_after_the_message_in_flight_and_a_restart_sends_the_rest(
    empty_db_url, tmp_path
):
    _served.prepare(empty_db_url)  # a live race: its announcement is the first message
    texts = [f"slow announcement {n}" for n in range(MESSAGES)]
    _queue(empty_db_url, texts)
    queued = len(_outbox(empty_db_url)[0])
    fake = FakeDiscordWebhook().start()
    fake.answer_next(*[stall(SLOW_S, stored=True) for _ in range(queued)])
    server = _served.Server(
        _served.server_env(empty_db_url, tmp_path, DISCORD_ANNOUNCE_WEBHOOK_URL=fake.url), tmp_path
    )
    try:
        server.start()
        _wait(lambda: len(fake.seen) >= 3, "the third slow send")
        stop_s, by_itself = server.terminate(STOP_TIMEOUT_S)
        tried = len(fake.seen)
        rows, holder = _outbox(empty_db_url)
        server.start()
        _wait(
            lambda: OutboxStatus.PENDING not in {status for _, status in _outbox(empty_db_url)[0]}, "the rest"
        )
    finally:
        server.stop()
        fake.stop()

    assert by_itself, f"SIGKILLed after {STOP_TIMEOUT_S} s"
    assert stop_s <= REQUEST_TIMEOUT_S + STOP_MARGIN_S, f"the stop took {stop_s:.1f} s ({tried} sends)"
    sent_before_stop = [content for content, status in rows if status == OutboxStatus.SENT]
    assert len(sent_before_stop) == tried < queued  # every send settled; the batch was cut short
    assert holder is None  # released, after the round had returned
    assert fake.duplicates() == 0 and fake.attempts == len(fake.received) == queued
    assert [content for content in fake.contents() if content in texts] == texts  # once each, in order

"""The Discord outbox: recorded with the change, sent once and in order by one sender,
through outages, 500s and 429s, parked after its last try and sent again on request."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cozykart import cli
from cozykart.api import discord as discord_api
from cozykart.domain.discord_messages import OutboxNotResendable
from cozykart.domain.errors import PermissionDenied
from cozykart.domain.league import LobbyTooSmall
from cozykart.services import league, outbox
from tests.fake_discord_webhook import rate_limited, server_error
from tests.integration.discord_support import (
    DRAIN_ROUNDS_MAX,
    FAST_RETRIES,
    Clock,
    drain,
    notifier_for,
    stand_in_discord,
)
from tests.integration.league_support import ADMIN_DISCORD_ID, League, league_settings, make_racer
from tests.integration.league_support import Clock as LeagueClock

THREAD_JOIN_TIMEOUT_S = 30


@pytest.fixture
def discord_server():
    with stand_in_discord() as fake:
        yield fake


def _queue(database, *texts: str) -> list[int]:
    ids = []
    with database.uow() as uow:
        for text in texts:
            ids.append(outbox.record(uow, dedupe_key=f"test:{text}", kind="test", message={"content": text}))
        uow.commit()
    return ids


def _statuses(database) -> list[str]:
    return [
        row.status for row in sorted(outbox.list_outbox(uow=database.uow()), key=lambda row: row.outbox_id)
    ]


def _round(database, fake, clock, sender_id="sender-a"):
    return outbox.deliver_due(
        notifier_for(fake), sender_id=sender_id, uow=database.uow(), policy=FAST_RETRIES, clock=clock
    )


def test_outage_500_and_429_then_recovery_deliver_every_announcement_once_in_order(database, discord_server):
    fake, clock = discord_server, Clock()
    _queue(database, "one", "two", "three", "four")

    fake.stop()  # Discord is down: connection refused
    down = _round(database, fake, clock)
    assert (down.sent, down.retried) == (0, 1)
    row = outbox.list_outbox(uow=database.uow(), status="pending")[-1]
    assert row.attempts == 1 and "could not be reached" in row.last_error

    fake.start()
    fake.answer_next(server_error())
    assert _round(database, fake, clock).sent == 0  # not due yet: the backoff holds it
    clock.advance(1.0)
    assert _round(database, fake, clock).retried == 1  # 500

    fake.answer_next(rate_limited(0.5))
    clock.advance(2.0)
    limited = _round(database, fake, clock)
    assert (limited.sent, limited.retried) == (0, 1)
    clock.advance(0.2)
    assert _round(database, fake, clock).sent == 0  # retry_after is honoured
    clock.advance(0.4)
    assert _round(database, fake, clock).sent == 4

    assert fake.contents() == ["one", "two", "three", "four"]
    assert _statuses(database) == ["sent"] * 4
    assert _round(database, fake, clock).sent == 0
    assert fake.contents() == ["one", "two", "three", "four"]
    assert fake.attempts == 2 + 4  # the 500, the 429, and one success each (the refusals never arrived)


def test_a_rate_limit_does_not_count_as_a_try(database, discord_server):
    fake, clock = discord_server, Clock()
    _queue(database, "hello")
    for _ in range(FAST_RETRIES.attempts_max + 2):
        fake.answer_next(rate_limited(0.1))
        _round(database, fake, clock)
        clock.advance(0.2)
    assert _round(database, fake, clock).sent == 1
    assert fake.contents() == ["hello"]


def test_after_its_last_try_a_message_is_parked_and_the_rest_go_on(
    database, discord_server, monkeypatch, capsys
):
    fake, clock = discord_server, Clock()
    parked_id, _ = _queue(database, "unlucky", "next")
    fake.answer_next(*[server_error()] * FAST_RETRIES.attempts_max)
    for _ in range(FAST_RETRIES.attempts_max):
        _round(database, fake, clock)
        clock.advance(FAST_RETRIES.backoff_max_s)
    assert fake.contents() == ["next"]
    failed = outbox.list_outbox(uow=database.uow(), status="failed")
    assert [row.outbox_id for row in failed] == [parked_id]
    assert failed[0].attempts == FAST_RETRIES.attempts_max and "500" in failed[0].last_error

    monkeypatch.setenv("REFLEX_DB_URL", database.url)
    assert cli.main(["outbox", "--status", "failed"]) == 0
    listed = capsys.readouterr().out
    assert f"#{parked_id} " in listed and "failed" in listed and "unlucky" in listed
    assert cli.main(["outbox", "resend", str(parked_id)]) == 0
    assert "queued again" in capsys.readouterr().out
    assert cli.main(["outbox", "resend", str(parked_id)]) == 2  # pending now: not resendable
    assert "only a failed announcement" in capsys.readouterr().err

    assert _round(database, fake, clock).sent == 1
    assert fake.contents() == ["next", "unlucky"]
    assert _statuses(database) == ["sent", "sent"]


def test_the_console_is_for_admins(database):
    settings = league_settings(database)
    racer_id = make_racer(database, "rita")
    admin_id = make_racer(database, "admin", discord_id=ADMIN_DISCORD_ID)
    (outbox_id,) = _queue(database, "x")

    with pytest.raises(PermissionDenied):
        outbox.outbox_console(racer_id, uow=database.uow(settings))
    with pytest.raises(PermissionDenied):
        outbox.resend(outbox_id, actor_id=racer_id, uow=database.uow(settings))
    console = outbox.outbox_console(admin_id, uow=database.uow(settings))
    assert console.counts == {"pending": 1, "sent": 0, "failed": 0}
    assert [row.summary for row in console.rows] == ["x"]
    with pytest.raises(OutboxNotResendable):
        outbox.resend(outbox_id, actor_id=admin_id, uow=database.uow(settings))


def test_two_senders_at_once_never_double_send(database, discord_server):
    fake = discord_server
    fake.delay_s = 0.005
    texts = [f"message {n}" for n in range(30)]
    _queue(database, *texts)
    barrier = threading.Barrier(2)
    leased = {"sender-a": 0, "sender-b": 0}

    def sender(sender_id: str) -> None:
        barrier.wait(THREAD_JOIN_TIMEOUT_S)
        for _ in range(DRAIN_ROUNDS_MAX):
            report = outbox.deliver_due(notifier_for(fake), sender_id=sender_id, uow=database.uow())
            leased[sender_id] += report.leased
            if not [row for row in outbox.list_outbox(uow=database.uow(), status="pending")]:
                return

    threads = [threading.Thread(target=sender, args=(name,)) for name in leased]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)

    assert fake.contents() == texts  # each once, in order
    assert fake.attempts == len(texts)
    assert sorted(leased.values())[0] == 0  # one sender did all the sending


def test_the_lease_passes_to_another_sender_only_when_it_expires(database, discord_server):
    fake, clock = discord_server, Clock()
    _queue(database, "first")
    assert _round(database, fake, clock, "sender-a").sent == 1
    _queue(database, "second")
    clock.advance(outbox.LEASE_TTL.total_seconds() - 1)
    refused = _round(database, fake, clock, "sender-b")
    assert (refused.leased, refused.sent) == (False, 0)
    clock.advance(2)
    taken = _round(database, fake, clock, "sender-b")
    assert (taken.leased, taken.sent) == (True, 1)
    assert fake.contents() == ["first", "second"]


def test_a_released_lease_is_free_at_once(database, discord_server):
    fake, clock = discord_server, Clock()
    _queue(database, "first")
    _round(database, fake, clock, "sender-a")
    outbox.release_lease("sender-a", uow=database.uow(), now=clock())
    _queue(database, "second")
    assert _round(database, fake, clock, "sender-b").sent == 1


def test_an_announcement_commits_with_its_change_or_not_at_all(database):
    league_ = League(database, league_settings(database), LeagueClock(), 0, 0)
    league_.admin_id = make_racer(database, "admin", discord_id="900000000000000001")
    league_.host_id = make_racer(database, "hana", host=True)
    racers = [make_racer(database, name) for name in ("ana", "bo")]
    lonely = league_.lobby([make_racer(database, "cy")], name="Lonely")
    with pytest.raises(LobbyTooSmall):
        league.start_race(lonely, **league_.kw_no_now(league_.host_id))
    assert outbox.list_outbox(uow=database.uow()) == ()

    league_.live_race(racers, name="Shy Guy Beach")
    (started,) = outbox.list_outbox(uow=database.uow())
    assert started.kind == "race_started" and started.status == "pending"
    embed = started.message["embeds"][0]
    assert embed["title"] == "🏁 Shy Guy Beach is live!" and embed["color"] == 0x5865F2
    assert "Ana" in embed["fields"][0]["value"] and "Bo" in embed["fields"][0]["value"]


def test_without_a_webhook_url_the_sender_does_not_run_and_the_outbox_still_records(database, monkeypatch):
    monkeypatch.delenv("DISCORD_ANNOUNCE_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("REFLEX_DB_URL", database.url)
    asyncio.run(asyncio.wait_for(discord_api.send_announcements(), timeout=5))
    _queue(database, "kept")
    assert _statuses(database) == ["pending"]


def test_the_sender_task_sends_in_the_background(database, discord_server, monkeypatch):
    fake = discord_server
    monkeypatch.setenv("DISCORD_ANNOUNCE_WEBHOOK_URL", fake.url)
    monkeypatch.setenv("REFLEX_DB_URL", database.url)
    monkeypatch.setattr(discord_api, "SEND_INTERVAL_S", 0.05)
    _queue(database, "from the task")

    async def run_briefly() -> None:
        task = asyncio.create_task(discord_api.send_announcements())
        for _ in range(100):
            await asyncio.sleep(0.05)
            if fake.contents():
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_briefly())
    assert fake.contents() == ["from the task"]
    assert drain(database, fake) == 0


def test_the_console_says_whether_it_sends_and_previews_mentions_as_names(database):
    import dataclasses

    from cozykart.domain import discord_messages as say

    settings = league_settings(database)
    admin_id = make_racer(database, "admin", discord_id=ADMIN_DISCORD_ID)
    make_racer(database, "rosa", discord_id="123456789012345678")
    body = say.cash_out(racer=say.Person("Rosa", "123456789012345678"), amount_cents=5000, currency="USD")
    with database.uow() as uow:
        outbox.record(uow, dedupe_key="test:cash-out", kind="cash_out", message=body)
        uow.commit()

    unset = outbox.outbox_console(admin_id, uow=database.uow(settings))
    configured = outbox.outbox_console(
        admin_id,
        uow=database.uow(
            dataclasses.replace(settings, discord_announce_webhook_url="http://127.0.0.1:9/hook")
        ),
    )

    assert unset.sending is False and configured.sending is True
    (row,) = unset.rows
    assert row.preview is not None
    assert row.preview.content == "💸 @Rosa just cashed out $50.00!"
    assert "<@" not in row.preview.content and "<@" in row.summary  # the raw body keeps the mention


def test_an_admins_resend_is_in_the_audit_trail_and_the_operators_is_not(database, discord_server):
    from cozykart.services.reads.audit import audit_trail

    settings = league_settings(database)
    admin_id = make_racer(database, "admin", discord_id=ADMIN_DISCORD_ID)
    first, second = _queue(database, "a", "b")
    with database.uow() as uow:
        for row_id in (first, second):
            row = uow.outbox.message_for_update(row_id)
            row.status = "failed"
            uow.outbox.save(row, flush=True)
        uow.commit()

    outbox.resend(first, actor_id=admin_id, uow=database.uow(settings))
    outbox.resend(second, actor_id=None, uow=database.uow(settings))

    lines = [
        e for e in audit_trail(actor_id=admin_id, uow=database.uow(settings)) if e.kind == "outbox_resend"
    ]
    assert [(line.subject, line.change, line.actor_name) for line in lines] == [
        (f"Announcement #{first} (test)", "failed → pending", "Admin")
    ]

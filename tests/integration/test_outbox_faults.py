"""Discord's faults, as Discord answers them, against the outbox's sender: 429s per route and global
(with a JSON body or only a `Retry-After` header), a bucket spent to `X-RateLimit-Remaining: 0`, 5xx,
stalls past the client's timeout (the message stored or not), and a wait longer than the lease with
two senders. Each message is sent once and in order; every wait Discord asked for is honoured.

Rate limits as documented: https://docs.discord.com/developers/topics/rate-limits (headers,
429 body `{"message", "retry_after", "global"}`, `X-RateLimit-Global`, `Retry-After` in seconds).
The fakes (`tests/fake_discord_webhook.py`, `tests/fake_discord.py`) answer with those headers and,
with `enforce_waits`, refuse a request that comes early, counting it (`early`, `bot_early`).
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from cozykart.domain.discord_messages import OutboxChannel, OutboxStatus
from cozykart.integrations.discord_announce import RateLimits, WebhookNotifier, is_global, retry_after_s
from cozykart.integrations.discord_dm import MESSAGE_ROUTE, OPEN_DM_ROUTE, BotMessenger
from cozykart.services import outbox
from tests.fake_discord import BotAnswer, FakeDiscord, running_fake_discord
from tests.fake_discord_webhook import cloudflare_429, rate_limited, server_error, spent, stall
from tests.integration.discord_support import FAST_RETRIES, Clock, stand_in_discord

DRAIN_TIMEOUT_S = 30
ROUND_PAUSE_S = 0.05
CLIENT_TIMEOUT_S = 0.5
STALL_S = 1.5  # past the client's timeout
RECIPIENTS = ("80351110224678912", "80351110224678913")


@pytest.fixture
def fake():
    with stand_in_discord() as server:
        server.enforce_waits = True
        yield server


@pytest.fixture
def bot():
    with running_fake_discord() as server:
        server.enforce_waits = True
        yield server


def _queue(database, *texts: str, channel: OutboxChannel = OutboxChannel.ANNOUNCE) -> list[int]:
    ids = []
    with database.uow() as uow:
        for n, text in enumerate(texts):
            message: dict = {"content": text}
            if channel == OutboxChannel.DIRECT:
                message["recipient_id"] = RECIPIENTS[n % len(RECIPIENTS)]
            ids.append(
                outbox.record(uow, dedupe_key=f"t:{text}", kind="test", message=message, channel=channel)
            )
        uow.commit()
    return ids


def _rows(database) -> list[outbox.OutboxRow]:
    return sorted(outbox.list_outbox(uow=database.uow()), key=lambda row: row.outbox_id)


def _drain_in_real_time(database, notifier, *, channel=OutboxChannel.ANNOUNCE, policy=FAST_RETRIES) -> dict:
    """Sender rounds on the real clock, one notifier for all (it keeps its rate limits), until nothing is
    pending; what the rounds did, summed."""
    totals = {"sent": 0, "retried": 0, "rate_limited": 0, "rounds": 0}
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while any(row.status == OutboxStatus.PENDING for row in _rows(database)):
        assert time.monotonic() < deadline, (
            f"the outbox did not drain in {DRAIN_TIMEOUT_S} s: {_rows(database)}"
        )
        report = outbox.deliver_due(
            notifier, sender_id="s", uow=database.uow(), policy=policy, channel=channel
        )
        for key in ("sent", "retried", "rate_limited"):
            totals[key] += getattr(report, key)
        totals["rounds"] += 1
        time.sleep(ROUND_PAUSE_S)
    return totals


def _gap_after(fake, status: int) -> tuple[float, float]:
    """(the wait asked by the first answer of `status`, the time until the next request arrived)."""
    seen = fake.seen
    n = next(i for i, request in enumerate(seen) if request.status == status)
    return seen[n].asked_wait_s, seen[n + 1].at_s - seen[n].at_s


# --- the announcement webhook -----------------------------------------------------------------


def test_a_route_429_is_waited_out_and_is_not_a_try(database, fake):
    _queue(database, "one", "two")
    fake.answer_next(rate_limited(0.6))
    totals = _drain_in_real_time(database, WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S))

    assert fake.contents() == ["one", "two"] and fake.early == 0
    asked_s, waited_s = _gap_after(fake, 429)
    assert waited_s >= asked_s == 0.6
    assert totals["rate_limited"] == 1 and totals["sent"] == 2
    assert [row.attempts for row in _rows(database)] == [0, 0]  # a 429 is not a failed try
    assert all("wait=" in request.query.lower() for request in fake.seen)  # ?wait=true: answered once saved


def test_a_global_429_and_a_cloudflare_429_without_a_body_are_waited_out(database, fake):
    _queue(database, "one", "two", "three")
    fake.answer_next(rate_limited(0.5, global_=True), spent(0.1), cloudflare_429(1))
    _drain_in_real_time(database, WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S))

    assert fake.contents() == ["one", "two", "three"] and fake.early == 0
    statuses = [request.status for request in fake.seen]
    assert statuses == [429, 200, 429, 200, 200]
    for n, request in enumerate(fake.seen[:-1]):
        if request.asked_wait_s is not None:
            assert fake.seen[n + 1].at_s - request.at_s >= request.asked_wait_s, (n, request)


def test_a_spent_bucket_holds_the_next_message_until_its_reset_without_asking_discord(database, fake):
    _queue(database, "one", "two", "three")
    fake.answer_next(spent(0.8))
    notifier = WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S)
    first = outbox.deliver_due(notifier, sender_id="s", uow=database.uow())
    assert (first.sent, first.rate_limited) == (1, 1)  # the second was held back, not sent
    assert fake.attempts == 1
    totals = _drain_in_real_time(database, notifier)

    assert fake.contents() == ["one", "two", "three"] and fake.early == 0
    asked_s, waited_s = _gap_after(fake, 200)
    assert asked_s == 0.8 and waited_s >= 0.8
    assert totals["sent"] == 2 and [row.attempts for row in _rows(database)] == [0, 0, 0]


def test_5xx_and_a_stall_that_never_answers_are_retried_with_backoff_once_each_in_order(database, fake):
    _queue(database, "one", "two", "three")
    policy = outbox.RetryPolicy(attempts_max=6, backoff_base_s=1.0, backoff_max_s=8.0)
    faults = [server_error(500), stall(STALL_S, stored=False), server_error(502), server_error(503)]
    fake.answer_next(*faults)
    clock = Clock()
    notifier = WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S)

    def round_():
        return outbox.deliver_due(notifier, sender_id="s", uow=database.uow(), clock=clock, policy=policy)

    errors = []
    for attempt in range(1, len(faults) + 1):
        report = round_()
        head = _rows(database)[0]
        assert (report.retried, report.sent, head.attempts) == (1, 0, attempt)
        assert head.next_attempt_at - clock() == policy.delay(attempt)  # 1 s, 2 s, 4 s, 8 s
        errors.append(head.last_error)
        clock.advance(policy.delay(attempt).total_seconds() - 0.5)
        assert round_().sent == 0  # not before its backoff
        clock.advance(0.5)
    assert "500" in errors[0] and "did not answer in time" in errors[1] and "502" in errors[2]
    assert round_().sent == 3
    assert fake.contents() == ["one", "two", "three"]
    assert fake.duplicates() == 0 and fake.attempts == len(faults) + 3


def test_a_webhook_timeout_after_discord_stored_the_message_shows_it_twice_the_measured_gap(database, fake):
    """Execute Webhook takes no nonce: when Discord saved the message and its answer came after our
    timeout, the retry posts it again. This pins the at-least-once gap the outbox documents."""
    _queue(database, "stored then lost", "next")
    fake.answer_next(stall(STALL_S, stored=True))
    clock = Clock()
    notifier = WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S)
    timed_out = outbox.deliver_due(
        notifier, sender_id="s", uow=database.uow(), clock=clock, policy=FAST_RETRIES
    )
    assert timed_out.retried == 1 and "did not answer in time" in _rows(database)[0].last_error
    clock.advance(FAST_RETRIES.backoff_max_s)
    assert outbox.deliver_due(notifier, sender_id="s", uow=database.uow(), clock=clock).sent == 2
    assert fake.contents() == ["stored then lost", "stored then lost", "next"]
    assert fake.duplicates() == 1


def test_the_wait_is_the_longer_of_the_body_and_the_header_and_a_bodyless_429_still_waits():
    def answer(**kwargs) -> httpx.Response:
        return httpx.Response(429, **kwargs)

    body = {"message": "You are being rate limited.", "retry_after": 0.25, "global": False}
    assert retry_after_s(answer(json=body, headers={"Retry-After": "1"})) == 1.0  # the header, rounded up
    assert retry_after_s(answer(json={**body, "retry_after": 64.57}, headers={"Retry-After": "64"})) == 64.57
    assert retry_after_s(answer(text="<html>429</html>", headers={"Retry-After": "3"})) == 3.0  # Cloudflare
    assert retry_after_s(answer(text="")) == 1.0  # nothing said: a second, never a spin
    assert retry_after_s(answer(json={**body, "retry_after": 10**6})) == 300.0  # clamped
    assert is_global(answer(json=body, headers={"X-RateLimit-Global": "true"}))
    assert is_global(answer(json={**body, "global": True}))
    assert not is_global(answer(json=body, headers={"X-RateLimit-Scope": "user"}))


# --- the bot's direct messages ------------------------------------------------------------------


def _messenger(bot: FakeDiscord, limits: RateLimits | None = None) -> BotMessenger:
    return BotMessenger(
        api_base=bot.base_url, bot_token=bot.bot_token, timeout_s=CLIENT_TIMEOUT_S, limits=limits
    )


def test_the_bots_global_429_holds_both_routes_and_a_route_429_only_its_own(bot):
    messenger = _messenger(bot)
    bot.dm_failures.append(BotAnswer(429, retry_after_s=30))
    limited = messenger.send({"recipient_id": RECIPIENTS[0], "content": "a"})
    assert limited.rate_limited and limited.attempted and limited.retry_after_s == 30
    channel_a = next(iter(bot.dm_channels))
    assert messenger.limits.wait_s(MESSAGE_ROUTE, channel_a) > 29
    assert messenger.limits.wait_s(OPEN_DM_ROUTE) == 0  # another route is free
    assert messenger.send({"recipient_id": RECIPIENTS[1], "content": "b"}).ok  # another channel too
    requests_before = bot.bot_requests
    held = messenger.send({"recipient_id": RECIPIENTS[0], "content": "a"})
    assert held.rate_limited and not held.attempted  # channel A's route waits: its post never went out
    assert bot.bot_requests == requests_before + 1  # only the (free) DM opening

    bot.open_dm_failures.append(BotAnswer(429, retry_after_s=30, global_=True))
    assert messenger.send({"recipient_id": RECIPIENTS[1], "content": "c"}).rate_limited
    channel_b = next(channel for channel, recipient in bot.dm_channels.items() if recipient == RECIPIENTS[1])
    assert messenger.limits.wait_s(MESSAGE_ROUTE, channel_b) > 29  # the global wait holds the other route too
    requests_before = bot.bot_requests
    for recipient in RECIPIENTS:
        held = messenger.send({"recipient_id": recipient, "content": "d"})
        assert held.rate_limited and not held.attempted and held.retry_after_s > 29
    assert bot.bot_requests == requests_before  # the global limit holds every route: nothing went out
    assert [body["content"] for _, body in bot.direct_messages] == ["b"] and bot.bot_early == 0


def test_dms_through_global_and_route_429s_5xx_and_a_spent_bucket_arrive_once_in_order(database, bot):
    texts = [f"dm {n}" for n in range(5)]
    _queue(database, *texts, channel=OutboxChannel.DIRECT)
    bot.open_dm_failures.append(BotAnswer(429, retry_after_s=0.4, global_=True))
    bot.dm_failures.extend([BotAnswer(429, retry_after_s=0.3), 502, BotAnswer(200, reset_after_s=0.3)])
    totals = _drain_in_real_time(database, _messenger(bot), channel=OutboxChannel.DIRECT)

    assert [body["content"] for _, body in bot.direct_messages] == texts and bot.bot_early == 0
    assert totals["rate_limited"] >= 2 and totals["sent"] == 5
    assert [row.attempts for row in _rows(database)] == [1, 0, 0, 0, 0]  # only the 502 was a try
    assert all(body["enforce_nonce"] is True for _, body in bot.direct_messages)
    assert len({body["nonce"] for _, body in bot.direct_messages}) == 5


def test_a_dm_timeout_after_discord_stored_it_is_not_posted_twice_thanks_to_the_nonce(database, bot):
    _queue(database, "stored then lost", "next", channel=OutboxChannel.DIRECT)
    bot.dm_failures.append(BotAnswer(503, delay_s=STALL_S, stored=True))
    clock = Clock()
    messenger = _messenger(bot)
    timed_out = outbox.deliver_due(
        messenger,
        sender_id="s",
        uow=database.uow(),
        clock=clock,
        policy=FAST_RETRIES,
        channel=OutboxChannel.DIRECT,
    )
    assert timed_out.retried == 1 and "did not answer in time" in _rows(database)[0].last_error
    assert [body["content"] for _, body in bot.direct_messages] == ["stored then lost"]  # Discord has it
    clock.advance(FAST_RETRIES.backoff_max_s)
    again = outbox.deliver_due(
        messenger, sender_id="s", uow=database.uow(), clock=clock, channel=OutboxChannel.DIRECT
    )
    assert again.sent == 2
    assert [body["content"] for _, body in bot.direct_messages] == ["stored then lost", "next"]  # not twice
    assert [row.status for row in _rows(database)] == [OutboxStatus.SENT, OutboxStatus.SENT]


# --- a wait longer than the lease, two senders ------------------------------------------------------


def test_a_wait_longer_than_the_lease_keeps_the_sender_and_a_second_one_never_double_sends(database):
    with stand_in_discord() as fake:
        clock = Clock()
        limits = RateLimits(monotonic=lambda: clock().timestamp())  # the limits on the test's clock too
        wait_s = outbox.LEASE_TTL.total_seconds() * 2 + 5
        _queue(database, "long wait", "after it")
        fake.answer_next(rate_limited(wait_s, global_=True))
        notifier_a = WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S, limits=limits)
        notifier_b = WebhookNotifier(fake.url, timeout_s=CLIENT_TIMEOUT_S)
        limited_at = clock()
        a_sent = b_leased = 0
        for _ in range(int(wait_s // 5) + 3):
            pending = any(row.status == OutboxStatus.PENDING for row in _rows(database))
            a = outbox.deliver_due(notifier_a, sender_id="a", uow=database.uow(), clock=clock)
            b = outbox.deliver_due(notifier_b, sender_id="b", uow=database.uow(), clock=clock)
            a_sent, b_leased = a_sent + a.sent, b_leased + b.leased
            assert a.leased or not pending  # renewed in every round of the wait, so it never lapsed
            clock.advance(5)
        assert b_leased == 0 and a_sent == 2
        assert fake.contents() == ["long wait", "after it"] and fake.attempts == 3
        (sent_first, _) = _rows(database)
        assert sent_first.sent_at - limited_at >= timedelta(seconds=wait_s)


def test_a_sender_that_dies_mid_wait_hands_over_only_after_its_lease_and_the_wait_is_kept(database):
    with stand_in_discord() as fake:
        clock = Clock()
        wait_s = outbox.LEASE_TTL.total_seconds() * 2
        _queue(database, "long wait")
        fake.answer_next(rate_limited(wait_s))
        limited_at = clock()
        outbox.deliver_due(WebhookNotifier(fake.url), sender_id="a", uow=database.uow(), clock=clock)
        # "a" is gone; "b" finds the lease held until it expires, then the wait (kept in the database).
        clock.advance(outbox.LEASE_TTL.total_seconds() - 1)
        assert not outbox.deliver_due(
            WebhookNotifier(fake.url), sender_id="b", uow=database.uow(), clock=clock
        ).leased
        clock.advance(2)
        taken = outbox.deliver_due(WebhookNotifier(fake.url), sender_id="b", uow=database.uow(), clock=clock)
        assert (taken.leased, taken.sent, fake.attempts) == (True, 0, 1)  # b holds it, and waits
        clock.advance(wait_s)
        assert (
            outbox.deliver_due(WebhookNotifier(fake.url), sender_id="b", uow=database.uow(), clock=clock).sent
            == 1
        )
        assert _rows(database)[0].sent_at - limited_at >= timedelta(seconds=wait_s)
        assert fake.contents() == ["long wait"]


def test_an_idle_outbox_takes_no_lease(database):
    report = outbox.deliver_due(WebhookNotifier("http://127.0.0.1:9/none"), sender_id="s", uow=database.uow())
    assert report == outbox.DeliveryRound()

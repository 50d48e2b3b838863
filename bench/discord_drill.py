"""Discord drill: the served app announces signed Stripe tips through a Discord webhook, and DMs the DJ
through the bot, while both rate limit, fail and stall; every message arrives once and in order, every
wait is honoured, and no request waits for Discord.

    python bench/discord_drill.py [--tips 12] [--postgres-url URL] [--json]

For SQLite (a file) and, when a URL is given or COZYKART_TEST_POSTGRES_URL is set,
PostgreSQL (a fresh schema):
1. prepares a database with a live 8-racer race and a DJ (its "race started"
   announcement is queued), starts a scripted fake Discord webhook and a fake bot API
   on 127.0.0.1 (tests/fake_discord_webhook.py, tests/fake_discord.py, each holding
   the sender to the waits it asks for) and serves the backend with
   DISCORD_ANNOUNCE_WEBHOOK_URL, DISCORD_BOT_TOKEN and DISCORD_API_BASE pointing at them;
2. the fake answers `SCHEDULE`, one answer per request, a success between two
   faults: a route 429 and a global 429 (JSON body and `Retry-After`), a
   Cloudflare-style 429 (the header only), a spent bucket (`X-RateLimit-Remaining:
   0`), 500, 502, 503, a stall that never answers and a stall that answers after
   the sender's timeout with the message stored (Discord saved it; the answer was
   lost), then 200s; the bot answers `bot_schedule()` (a global 429 on opening a
   DM, a route 429, a 502, a spent bucket and a stored-then-lost post);
3. drives signed Stripe tips (each announced, and each song request DMed to the DJ) at the app, a first burst and then one
   every `TIP_INTERVAL_S` until the schedule is spent, timing every POST;
4. waits for the outbox to drain, stops the server, runs reconcile and the crash
   drill's ledger check (every acknowledged tip applied once), and compares what the
   fake received with the outbox: each message, its duplicates, its order.

Reports messages queued and delivered, duplicates seen by the fake (and how many a
stored-then-timed-out request explains: Execute Webhook has no nonce, the
documented at-least-once gap; the DMs carry a nonce and must show none), out-of-order arrivals, the waits asked and observed
(429s and the spent bucket; the fake counts early requests), retries, recovery
seconds after the last fault, and the webhook POST latency while Discord stalled.
Bounded: every request, start and wait has a limit (about a minute per database on
an idle machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from sqlalchemy import select

from bench import _served, crash_drill
from cozykart.db.engine import create_db_engine
from cozykart.db.outbox_tables import DiscordOutbox
from cozykart.integrations.discord_announce import REQUEST_TIMEOUT_S
from cozykart.services.outbox import NONCE_PREFIX
from cozykart.settings import load_settings
from tests.fake_discord import BotAnswer, FakeDiscord, running_fake_discord
from tests.fake_discord_webhook import (
    Answer,
    FakeDiscordWebhook,
    cloudflare_429,
    rate_limited,
    server_error,
    spent,
    stall,
)

TIPS_DEFAULT = 12  # the first burst; more follow while the schedule lasts
TIPS_MAX = 60
TIP_INTERVAL_S = 0.4
CONCURRENCY = 4
REQUEST_TIMEOUT_S_CLIENT = 20
STALL_S = REQUEST_TIMEOUT_S + 2.0  # past the sender's timeout
DRAIN_TIMEOUT_S = 120
SEED = 20261203
OK = None  # a plain 200 between two faults, so each fault meets a message of its own


def schedule() -> list:
    """The fake's answers, in order (`OK`: a success)."""
    return [
        rate_limited(1.5),
        OK,
        server_error(500),
        OK,
        rate_limited(1.0, global_=True),
        OK,
        server_error(502),
        spent(1.0),
        OK,
        stall(STALL_S, stored=False),
        OK,
        cloudflare_429(1),
        OK,
        server_error(503),
        OK,
        stall(STALL_S, stored=True),
        OK,
    ]


def bot_schedule() -> tuple[list[BotAnswer], list[BotAnswer]]:
    """The fake bot's answers: to the DM openings, and to the message posts (a 200 between two faults)."""
    opening = [BotAnswer(429, retry_after_s=1.0, global_=True)]
    posting = [
        BotAnswer(200),
        BotAnswer(429, retry_after_s=1.5),
        BotAnswer(200),
        BotAnswer(502),
        BotAnswer(200, reset_after_s=1.0),
        BotAnswer(200),
        BotAnswer(503, delay_s=STALL_S, stored=True),  # created, the answer lost: the nonce saves the retry
        BotAnswer(200),
    ]
    return opening, posting


def _bot_pending(bot: FakeDiscord) -> int:
    with bot.lock:
        return len(bot.open_dm_failures) + len(bot.dm_failures)


def _scripted(fake: FakeDiscordWebhook) -> None:
    fake.answer_next(*(answer or Answer(200, None) for answer in schedule()))


async def _post_tip(client: httpx.AsyncClient, url: str, delivery: crash_drill.Delivery, posts: list) -> None:
    started = time.monotonic()
    acked = await crash_drill._deliver(client, url, delivery)
    posts.append({"start": started, "end": time.monotonic(), "acked": acked})


async def drive_tips(
    url: str, fake: FakeDiscordWebhook, bot: FakeDiscord, tips: int, draw: random.Random
) -> tuple[list, list]:
    """A burst of `tips` tips, then one every TIP_INTERVAL_S until the fake's script is spent and no
    stall is on (at most TIPS_MAX); each POST timed. Returns the deliveries and the timings."""
    deliveries: list[crash_drill.Delivery] = []
    posts: list[dict] = []

    def tip() -> crash_drill.Delivery:
        cents = draw.randrange(300, 2001)
        delivery = crash_drill.Delivery(
            "tip", cents, _served.tip_event(cents, song=f"Song {len(deliveries)}")
        )
        deliveries.append(delivery)
        return delivery

    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S_CLIENT) as client:
        burst = [tip() for _ in range(tips)]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(delivery: crash_drill.Delivery) -> None:
            async with gate:
                await _post_tip(client, url, delivery, posts)

        await asyncio.gather(*(one(delivery) for delivery in burst))
        while len(deliveries) < TIPS_MAX and (fake.pending_answers() or _bot_pending(bot) or _stalling(fake)):
            await _post_tip(client, url, tip(), posts)
            await asyncio.sleep(TIP_INTERVAL_S)
        for delivery in deliveries:  # a provider's retry of what was not acknowledged (bounded)
            for _attempt in range(crash_drill.RETRY_ATTEMPTS_MAX):
                if delivery.acked:
                    break
                await _post_tip(client, url, delivery, posts)
    return deliveries, posts


def _stalling(fake: FakeDiscordWebhook) -> bool:
    now = time.monotonic()
    return any(start <= now <= end for start, end in list(fake.stalls))


def _outbox_rows(db_url: str, channel: str = "announce") -> list[tuple[int, str, dict]]:
    table = DiscordOutbox.__table__
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(table.c.id, table.c.status, table.c.payload)
                .where(table.c.channel == channel)
                .order_by(table.c.id)
            ).all()
    finally:
        engine.dispose()
    return [(row[0], row[1], json.loads(row[2])) for row in rows]


def wait_for_outbox(db_url: str) -> float:
    """Seconds until no announcement or DM is pending (bounded by DRAIN_TIMEOUT_S)."""
    started = time.monotonic()
    while time.monotonic() - started < DRAIN_TIMEOUT_S:
        rows = _outbox_rows(db_url) + _outbox_rows(db_url, "direct")
        if all(status != "pending" for _id, status, _message in rows):
            break
        time.sleep(0.5)
    return round(time.monotonic() - started, 2)


def _key(message: dict) -> str:
    return json.dumps([message.get("content"), message.get("embeds")], sort_keys=True)


def compare(rows: list[tuple[int, str, dict]], fake: FakeDiscordWebhook) -> dict:
    """What the fake received against the outbox: delivered, duplicates, order, unknown messages."""
    id_of = {_key(message): outbox_id for outbox_id, _status, message in rows}
    arrived = [id_of.get(_key(message)) for message in list(fake.received)]
    counts: dict[int, int] = {}
    out_of_order = highest = 0
    for outbox_id in arrived:
        if outbox_id is None:
            continue
        counts[outbox_id] = counts.get(outbox_id, 0) + 1
        if outbox_id < highest:
            out_of_order += 1
        highest = max(highest, outbox_id)
    stored_timeouts = sum(
        1 for request in list(fake.seen) if request.stored and request.stalled_s > REQUEST_TIMEOUT_S
    )
    duplicates = sum(count - 1 for count in counts.values())
    return {
        "messages_queued": len(rows),
        "messages_sent_status": sum(status == "sent" for _id, status, _message in rows),
        "messages_delivered": len(counts),
        "never_delivered": sorted(set(id_of.values()) - set(counts)),
        "unknown_messages": arrived.count(None),
        "duplicates_seen_by_fake": duplicates,
        "duplicates_from_stored_timeouts": min(duplicates, stored_timeouts),
        "stored_timeouts": stored_timeouts,
        "unexplained_duplicates": max(0, duplicates - stored_timeouts),
        "out_of_order": out_of_order,
    }


def compare_dms(rows: list[tuple[int, str, dict]], bot: FakeDiscord) -> dict:
    """The DMs the fake bot created against the outbox's direct channel, by their nonces."""
    with bot.lock:
        bodies = [body for _recipient, body in bot.direct_messages]
        requests = bot.bot_requests
    arrived = [int(str(body.get("nonce", "")).removeprefix(NONCE_PREFIX) or 0) for body in bodies]
    queued = [outbox_id for outbox_id, _status, _message in rows]
    return {
        "dms_queued": len(rows),
        "dms_sent_status": sum(status == "sent" for _id, status, _message in rows),
        "dms_delivered": len(set(arrived) & set(queued)),
        "dm_duplicates": len(arrived) - len(set(arrived)),
        "dm_out_of_order": sum(1 for a, b in itertools.pairwise(arrived) if b < a),
        "dm_stored_timeouts": sum(
            answer.stored for answer in bot_schedule()[1]
        ),  # created, answered too late
        "bot_requests": requests,
        "bot_early_requests": bot.bot_early,
    }


def waits(fake: FakeDiscordWebhook) -> dict:
    """Every wait the fake asked for (a 429's retry_after, a spent bucket's reset) and how long the
    sender actually waited before its next request."""
    seen = list(fake.seen)
    pairs = [
        {
            "status": request.status,
            "asked_s": request.asked_wait_s,
            "waited_s": round(nxt.at_s - request.at_s, 3),
        }
        for request, nxt in itertools.pairwise(seen)
        if request.asked_wait_s is not None
    ]
    margins = [pair["waited_s"] - pair["asked_s"] for pair in pairs]
    return {
        "asked": pairs,
        "rate_limits_honoured": sum(margin >= 0 for margin in margins),
        "rate_limits_asked": len(pairs),
        "min_wait_margin_s": round(min(margins), 3) if margins else None,
        "early_requests": fake.early,
    }


def latency_while_stalled(fake: FakeDiscordWebhook, posts: list[dict]) -> dict:
    stalls = list(fake.stalls)
    during = [
        post for post in posts if any(post["start"] < end and post["end"] > start for start, end in stalls)
    ]
    all_ms = [round((post["end"] - post["start"]) * 1000, 1) for post in posts]
    during_ms = [round((post["end"] - post["start"]) * 1000, 1) for post in during]
    return {
        "posts": len(posts),
        "posts_during_stall": len(during),
        "max_post_ms_during_stall": max(during_ms) if during_ms else None,
        "max_post_ms": max(all_ms) if all_ms else None,
        "stall_s": STALL_S,
    }


def recovery_s(fake: FakeDiscordWebhook) -> float | None:
    """Seconds from the end of the last fault (its answer, or its stall) to the last message stored."""
    seen = list(fake.seen)
    faults = [request for request in seen if request.status != 200 or request.asked_wait_s is not None]
    if not faults:
        return None
    ends = [end for _start, end in fake.stalls] + [request.at_s for request in faults]
    last_stored = max(request.at_s for request in seen if request.status == 200)
    return round(max(0.0, last_stored - max(ends)), 2)


def drill(db_url: str, workdir: Path, *, tips: int = TIPS_DEFAULT, seed: int = SEED) -> dict:
    """One drill on one database; `ok` is true when every check holds."""
    started = time.perf_counter()
    league = _served.prepare(db_url)
    fake = FakeDiscordWebhook(enforce_waits=True).start()
    with running_fake_discord() as bot:
        bot.enforce_waits = True
        bot.open_dm_failures[:], bot.dm_failures[:] = bot_schedule()
        env = _served.server_env(
            db_url,
            workdir,
            DISCORD_ANNOUNCE_WEBHOOK_URL=fake.url,
            DISCORD_BOT_TOKEN=bot.bot_token,
            DISCORD_API_BASE=bot.base_url,
        )
        settings = load_settings(env)
        server = _served.Server(env, workdir)
        url = f"{server.base_url}/api/webhooks/stripe"
        report: dict = {"schedule": [answer.status if answer else 200 for answer in schedule()]}
        try:
            _scripted(fake)  # before the server starts: its first request meets the first fault
            server.start()
            _served.log(f"serving on {server.base_url}, Discord on {fake.api_base} and {bot.base_url}")
            deliveries, posts = asyncio.run(drive_tips(url, fake, bot, tips, random.Random(seed)))
            report["drain_s"] = wait_for_outbox(db_url)
        finally:
            server.stop()
            fake.stop()
        report["bot"] = compare_dms(_outbox_rows(db_url, "direct"), bot)
        report["bot"]["schedule_left"] = _bot_pending(bot)
    verdict = crash_drill.judge(db_url, deliveries, settings, league)
    problems = verdict.problems
    report.update(_figures(db_url, fake, deliveries, posts))
    report["reconcile"] = verdict.reconcile
    problems += _problems(report)
    report.update(
        {"problems": problems, "ok": not problems, "seconds": round(time.perf_counter() - started, 1)}
    )
    return report


def _figures(db_url: str, fake: FakeDiscordWebhook, deliveries: list, posts: list) -> dict:
    return {
        "tips_sent": len(deliveries),
        "tips_acknowledged": sum(delivery.acked for delivery in deliveries),
        "discord": compare(_outbox_rows(db_url), fake),
        "waits": waits(fake),
        "discord_requests": fake.attempts,
        "schedule_left": fake.pending_answers(),
        "retries": fake.attempts - len(fake.received) + fake.duplicates(),
        "recovery_s": recovery_s(fake),
        "latency": latency_while_stalled(fake, posts),
    }


def _problems(report: dict) -> list[str]:
    problems = []
    discord, waited = report["discord"], report["waits"]
    if discord["never_delivered"] or discord["messages_sent_status"] != discord["messages_queued"]:
        problems.append(f"not delivered: {discord['never_delivered']}")
    if discord["unexplained_duplicates"] or discord["unknown_messages"]:
        problems.append(f"duplicates beyond the stored timeouts: {discord}")
    if discord["out_of_order"]:
        problems.append(f"{discord['out_of_order']} announcements out of order")
    if waited["early_requests"] or waited["rate_limits_honoured"] != waited["rate_limits_asked"]:
        problems.append(f"waits not honoured: {waited}")
    bot = report["bot"]
    if bot["dms_delivered"] != bot["dms_queued"] or bot["dms_sent_status"] != bot["dms_queued"]:
        problems.append(f"DMs not delivered: {bot}")
    if bot["dm_duplicates"] or bot["dm_out_of_order"] or bot["bot_early_requests"] or bot["schedule_left"]:
        problems.append(f"DMs doubled, out of order, early or faults unmet: {bot}")
    if report["schedule_left"]:
        problems.append(f"{report['schedule_left']} scripted faults were never met")
    if report["tips_acknowledged"] != report["tips_sent"]:
        problems.append("a tip was never acknowledged")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=TIPS_DEFAULT, help="tips in the first burst")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):
        runs = _served.on_each_database(
            lambda url, workdir: drill(url, workdir, tips=args.tips, seed=args.seed),
            name="discord-drill",
            postgres_url=args.postgres_url,
        )
    _served.finish_drill("discord", runs, as_json=args.json)


if __name__ == "__main__":
    main()

"""`POST /api/discord/interactions` (slash commands), and the announcement sender task.

The route checks Discord's Ed25519 signature before reading anything else
(unset key: 503; bad or missing signature: 401), then its signed timestamp (more
than 5 minutes old or ahead of us: 401, nothing done), answers PING with PONG,
records the interaction id in the database before a command runs (the same id
again, on any worker: an ephemeral "already handled", nothing done; see
`services/interaction_replay.py`), and runs a command's service call in a
thread so the event loop stays free. Discord
waits 3 seconds: a call that takes longer than `ANSWER_WAIT_S` is answered
"thinking..." (deferred) and its reply follows through the interaction webhook.

`send_announcements` and `send_direct_messages` are Reflex lifespan tasks: every
few seconds each sends what is due in its channel of the outbox (the announcement
webhook; racers' DMs through the bot), if this worker holds that channel's
sender lease (one worker at a time does). Requests never wait for Discord. On
shutdown a sender finishes at most the message in flight, then gives its lease up
(`_send_for_ever`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cozykart.api import discord_commands
from cozykart.api._http import error_response, read_body_capped
from cozykart.domain.discord_messages import OutboxChannel
from cozykart.integrations import discord_interactions as interactions
from cozykart.integrations.discord_announce import REQUEST_TIMEOUT_S as ANNOUNCE_TIMEOUT_S
from cozykart.integrations.discord_announce import Notifier, WebhookNotifier
from cozykart.integrations.discord_dm import BotMessenger
from cozykart.services import default_uow, interaction_replay, outbox
from cozykart.settings import Settings, load_settings

BODY_BYTES_MAX = 64 * 1024
SEND_INTERVAL_S = 2.0
# Discord drops an interaction that is not answered within 3 s; past this wait the
# answer is deferred and sent when the service is done.
ANSWER_WAIT_S = 2.0
# A stopping sender round may still be sending one message: a DM is two requests (open the
# channel, post), each bounded by the notifier's timeout; then one short transaction settles it.
ROUND_REQUESTS_MAX = 2
ROUND_STOP_MARGIN_S = 5.0
logger = logging.getLogger("cozykart.discord")
# The sender renews its lease before each message; a send must end well before the lease does.
assert outbox.LEASE_TTL.total_seconds() > ANNOUNCE_TIMEOUT_S * 3
_follow_ups: set[asyncio.Task] = set()


async def interactions_endpoint(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if not settings.discord_public_key:
        return error_response(503, "Discord interactions are not configured")
    body = await read_body_capped(request, BODY_BYTES_MAX)
    if body is None:
        return error_response(413, f"body is larger than {BODY_BYTES_MAX} bytes")
    try:
        verified = interactions.verify(
            settings.discord_public_key,
            request.headers.get(interactions.SIGNATURE_HEADER),
            request.headers.get(interactions.TIMESTAMP_HEADER),
            body,
        )
    except interactions.InvalidPublicKey as error:
        logger.error("%s", error)
        return error_response(503, "Discord interactions are misconfigured")
    if not verified:
        return error_response(401, "invalid request signature")
    try:
        signed_at = interactions.signed_instant(
            request.headers[interactions.TIMESTAMP_HEADER], now_s=time.time()
        )
    except interactions.RefusedTimestamp as error:
        return error_response(401, str(error))
    try:
        interaction = json.loads(body)
    except ValueError:
        return error_response(400, "body is not JSON")
    if not isinstance(interaction, dict):
        return error_response(400, "body is not an interaction")
    kind = interaction.get("type")
    if kind == interactions.PING:
        return JSONResponse({"type": interactions.PONG})
    if kind != interactions.APPLICATION_COMMAND:
        return error_response(400, f"interaction type {kind!r} is not handled")
    return await _command(interaction, signed_at, settings)


async def _command(interaction: dict, signed_at: datetime, settings: Settings) -> JSONResponse:
    """Run a verified, fresh slash command once: answered within Discord's wait, or deferred."""
    interaction_id = interaction.get("id")
    if not interaction_replay.is_snowflake(interaction_id):
        return error_response(400, "interaction has no id")
    first = await asyncio.to_thread(
        interaction_replay.first_delivery, interaction_id, signed_at, uow=default_uow(settings)
    )
    if not first:  # a replay: answered, never acted on, and never given a follow-up
        return JSONResponse(discord_commands.already_handled())
    work = asyncio.ensure_future(asyncio.to_thread(discord_commands.answer, interaction, settings))
    done, _pending = await asyncio.wait({work}, timeout=ANSWER_WAIT_S)
    if done:
        return JSONResponse(work.result())
    follow_up = asyncio.create_task(_follow_up(work, interaction, settings))
    _follow_ups.add(follow_up)  # kept until done, so it is not collected mid-way
    follow_up.add_done_callback(_follow_ups.discard)
    return JSONResponse(discord_commands.deferred(interaction))


async def _follow_up(work: asyncio.Future, interaction: dict, settings: Settings) -> None:
    """Send a deferred interaction its answer once the service call is done."""
    reply = await work
    message = {key: value for key, value in reply["data"].items() if key != "flags"}
    try:
        await asyncio.to_thread(
            interactions.edit_original_response,
            api_base=settings.discord_api_base,
            application_id=str(interaction.get("application_id", "")),
            token=str(interaction.get("token", "")),
            message=message,
        )
    except interactions.FollowUpFailed as error:
        logger.warning("late answer to a slash command was not delivered: %s", error)


routes = [Route("/api/discord/interactions", interactions_endpoint, methods=["POST"])]


async def send_announcements() -> None:
    """Send the announcement channel's outbox for the life of the backend (one worker at a time holds the lease)."""
    settings = load_settings()
    if not settings.discord_announce_webhook_url:
        logger.info("DISCORD_ANNOUNCE_WEBHOOK_URL is unset: announcements are recorded, not sent")
        return
    notifier = WebhookNotifier(settings.discord_announce_webhook_url, timeout_s=ANNOUNCE_TIMEOUT_S)
    await _send_for_ever(notifier, OutboxChannel.ANNOUNCE, settings)


async def send_direct_messages() -> None:
    """Send racers' private notices as Discord DMs through the bot, for the life of the backend."""
    settings = load_settings()
    if not settings.discord_bot_token:
        logger.info("DISCORD_BOT_TOKEN is unset: notices are shown on the site only, not sent as DMs")
        return
    messenger = BotMessenger(
        api_base=settings.discord_api_base, bot_token=settings.discord_bot_token, timeout_s=ANNOUNCE_TIMEOUT_S
    )
    await _send_for_ever(messenger, OutboxChannel.DIRECT, settings)


async def _send_for_ever(notifier: Notifier, channel: OutboxChannel, settings: Settings) -> None:
    """Run the channel's sender rounds until the lifespan cancels this task, then stop cleanly.

    A round runs in a thread, which cancelling this task cannot interrupt: on
    cancellation the round's `stop` event is set, so it ends after the message in
    flight (not the rest of its batch), and the lease is released only once the
    round's thread has returned, so no other worker can take the lease and send
    the message this one is still sending.
    """
    sender_id = outbox.new_sender_id()
    uow = default_uow(settings)
    stop = threading.Event()
    round_: asyncio.Future[outbox.DeliveryRound] | None = None
    try:
        while True:
            round_ = asyncio.ensure_future(
                asyncio.to_thread(
                    outbox.deliver_due, notifier, sender_id=sender_id, uow=uow, channel=channel, stop=stop
                )
            )
            try:  # shielded: a cancellation must not forget the round still running in its thread
                report = await asyncio.shield(round_)
                if report.sent or report.parked:
                    logger.info("%s messages sent %d, parked %d", channel, report.sent, report.parked)
            except Exception:  # a bad round must not end the loop; it is logged
                logger.exception("%s outbox round failed", channel)
            round_ = None  # returned: nothing is left to wait for
            await asyncio.sleep(SEND_INTERVAL_S)
    finally:
        stop.set()
        if await _round_ended(round_, channel, _round_stop_bound_s(notifier)):
            await _release(sender_id, channel, settings)


def _round_stop_bound_s(notifier: Notifier) -> float:
    """How long a stopping round may still take: the message in flight (a DM is two requests, each
    up to the notifier's timeout) and its settle."""
    timeout_s = float(getattr(notifier, "timeout_s", ANNOUNCE_TIMEOUT_S))
    return ROUND_REQUESTS_MAX * timeout_s + ROUND_STOP_MARGIN_S


async def _round_ended(round_: asyncio.Future | None, channel: OutboxChannel, bound_s: float) -> bool:
    """Wait (bounded) for a stopping round's thread to return; False when it is still running."""
    if round_ is None:
        return True
    if not round_.done():
        await asyncio.wait({round_}, timeout=bound_s)
    if not round_.done() or round_.cancelled():  # cancelled: its thread may still be sending
        logger.warning(
            "%s outbox round may still be sending %.0f s after the stop: its lease is kept until it expires",
            channel,
            bound_s,
        )
        return False
    if round_.exception() is not None:
        logger.error("%s outbox round failed while stopping", channel, exc_info=round_.exception())
    return True


async def _release(sender_id: str, channel: OutboxChannel, settings: Settings) -> None:
    try:
        await asyncio.to_thread(outbox.release_lease, sender_id, uow=default_uow(settings), channel=channel)
    except Exception:  # shutting down: the lease expires by itself
        logger.exception("could not release the %s sender lease", channel)

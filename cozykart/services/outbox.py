"""The Discord outbox: announcements recorded with their change, sent later by one sender.

`record` is called by event subscribers inside the transaction of the change it
announces, so an announcement exists exactly when its change commits. Nothing
here talks to Discord during a request.

`deliver_due` is one round of the background sender of one channel (the
announcement webhook, or racers' direct messages through the bot: two queues,
so a racer's closed DMs never hold an announcement back). Exactly one sender per
channel is active at a time, whatever the number of workers: a sender must hold
the channel's lease (`announcer`, `direct-messenger`) (a row taken or renewed by
one conditional UPDATE, valid for `LEASE_TTL`), and renews it before every
message and in every round while the head of its queue waits. A send takes at
most the notifier's timeout, far less than the lease, and a wait is never slept
inside a send, so no other sender can take over while a message is in flight
or waiting. Messages go in id order: the oldest pending one blocks the rest
until it is sent or parked.

Discord's limits and faults (the notifiers read Discord's headers, see
`integrations/discord_announce.py`):
- a 429 (a route's or the sender's global limit, with a JSON body or only a
  `Retry-After` header) sets the head's `next_attempt_at` to at least the wait
  Discord asked for, and is not a try; a send the notifier holds back itself (a
  bucket spent to `X-RateLimit-Remaining: 0`, a global wait still running) is
  recorded the same way without reaching Discord. The wait is in the database,
  so a sender that takes over after a crash honours it too.
- a 5xx, a refused connection or a timeout is a try, retried with exponential
  backoff (`RetryPolicy`); after `attempts_max` tries, or at once when Discord
  says the message can never be delivered (a racer who closed their DMs), the
  message is parked as failed, visible in the admin console and the CLI
  (`python -m cozykart outbox --status failed`, `/admin/outbox`), until someone
  sends it again (`resend`).
- each try carries the message's `nonce` (`nonce_for(outbox_id)`); the bot's
  DMs send it with `enforce_nonce`, so a timed-out DM that Discord did store is
  not posted twice. The webhook has no nonce: a timeout after Discord stored the
  message can show it twice (at least once; bench/discord_drill.py measures it).

Stopping (SIGTERM): a round checks its `stop` event before each message, so a
worker that shuts down finishes at most the message in flight (one notifier
timeout) instead of the rest of the batch, and records what Discord said about
it before it lets the lease go (`api/discord._send_for_ever`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind
from cozykart.domain.discord_messages import OutboxChannel, OutboxNotResendable, OutboxStatus
from cozykart.domain.discord_preview import Preview, mentioned_ids, preview
from cozykart.domain.errors import NotFound
from cozykart.integrations.discord_announce import Delivery, Notifier
from cozykart.services.actors import load_admin
from cozykart.services.audit import record_admin_action

SENDER_LEASE_NAME = "announcer"
DIRECT_SENDER_LEASE_NAME = "direct-messenger"
LEASE_NAMES = {OutboxChannel.ANNOUNCE: SENDER_LEASE_NAME, OutboxChannel.DIRECT: DIRECT_SENDER_LEASE_NAME}
LEASE_TTL = timedelta(seconds=30)
SEND_BATCH_MAX = 20
OUTBOX_LIST_LENGTH_MAX = 200
ERROR_LENGTH_MAX = 500
NONCE_PREFIX = "cozykart-"  # + the outbox id: at most 25 characters (Discord's limit) below 10**16 ids


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a message is retried before it is parked."""

    attempts_max: int = 8
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0

    def delay(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed try: base, 2x base, 4x base... up to the maximum."""
        assert attempts >= 1
        return timedelta(seconds=min(self.backoff_base_s * 2 ** min(attempts - 1, 30), self.backoff_max_s))


DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True)
class OutboxRow:
    outbox_id: int
    kind: str
    channel: str
    summary: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    message: dict
    preview: Preview | None = None  # as Discord would show it: in the admin console's view


@dataclass(frozen=True)
class DeliveryRound:
    """What one round of the sender did."""

    sent: int = 0
    retried: int = 0
    parked: int = 0
    leased: bool = False
    rate_limited: int = (
        0  # of `retried`: waits Discord asked for (or the sender knew of), not counted as tries
    )


def new_sender_id() -> str:
    """A name for this sender: host, process and a random part (unique per call)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


# --- recording (inside the change's transaction) -------------------------------------


def record(
    uow: UnitOfWork,
    *,
    dedupe_key: str,
    kind: str,
    message: dict,
    now: datetime | None = None,
    channel: OutboxChannel = OutboxChannel.ANNOUNCE,
) -> int | None:
    """Queue `message` for `channel` in the open unit of work; a fact already queued is not queued twice.

    Returns the outbox id, or None when `dedupe_key` was queued before.
    """
    if uow.outbox.is_queued(dedupe_key):
        return None
    now = now or utc_now()
    return uow.outbox.add_message(
        dedupe_key=dedupe_key, kind=kind, payload=json.dumps(message), now=now, channel=channel
    )


# --- sending (the background sender) --------------------------------------------------


def _take_lease(uow: UnitOfWork, channel: OutboxChannel, sender_id: str, now: datetime) -> bool:
    """Take or renew the channel's sender lease in one conditional UPDATE; True when this sender holds it."""
    return uow.outbox.take_lease(LEASE_NAMES[channel], sender_id, now=now, expires_at=now + LEASE_TTL)


def _head(uow: UnitOfWork, channel: OutboxChannel):
    """The channel's oldest message still to send: everything after it waits for it."""
    return uow.outbox.oldest_pending(channel)


def _is_due(row, now: datetime) -> bool:
    return row is not None and (row.next_attempt_at is None or row.next_attempt_at <= now)


def nonce_for(outbox_id: int) -> str:
    """The message's nonce: the same on every try, so Discord can tell a retry from a new message."""
    return f"{NONCE_PREFIX}{outbox_id}"


@dataclass(frozen=True)
class _Claim:
    """What a sender found when it came for the head: the lease (or not), and the due message if any."""

    leased: bool
    outbox_id: int | None = None
    message: dict | None = None


def _claim(uow: UnitOfWork, channel: OutboxChannel, sender_id: str, clock: Callable[[], datetime]) -> _Claim:
    """Renew the lease and read the due head in one short transaction."""
    with uow:
        now = clock()
        if not _take_lease(uow, channel, sender_id, now):
            uow.commit()
            return _Claim(leased=False)
        row = _head(uow, channel)
        if not _is_due(row, now):
            uow.commit()
            return _Claim(leased=True)
        claim = _Claim(True, row.id, {**json.loads(row.payload), "nonce": nonce_for(row.id)})
        uow.commit()
    return claim


def _settle(
    uow: UnitOfWork, outbox_id: int, delivery: Delivery, policy: RetryPolicy, clock: Callable[[], datetime]
) -> str:
    """Record what Discord said about one message in one short transaction; returns the outcome:
    sent, rate_limited (a wait, not a try), retried (a try, backed off), parked, or settled (someone
    resent or settled it meanwhile)."""
    with uow:
        now = clock()
        row = uow.outbox.message_for_update(outbox_id)
        assert row is not None
        if row.status != OutboxStatus.PENDING:  # resent or settled meanwhile; nothing more to do
            uow.commit()
            return "settled"
        if delivery.ok:
            row.status, row.sent_at, row.next_attempt_at = OutboxStatus.SENT, now, None
            outcome = "sent"
        elif delivery.rate_limited:
            assert delivery.retry_after_s is not None
            # Not a try: Discord (or the sender's own count of its limits) asked for a wait.
            row.next_attempt_at = now + timedelta(seconds=delivery.retry_after_s)
            row.last_error = (delivery.error or "rate limited")[:ERROR_LENGTH_MAX]
            outcome = "rate_limited"
        else:
            row.attempts += 1
            row.last_error = (delivery.error or "unknown error")[:ERROR_LENGTH_MAX]
            if delivery.permanent or row.attempts >= policy.attempts_max:
                row.status, row.next_attempt_at = OutboxStatus.FAILED, None
                outcome = "parked"
            else:
                row.next_attempt_at = now + policy.delay(row.attempts)
                outcome = "retried"
        uow.outbox.save(row)
        uow.commit()
        return outcome


def deliver_due(
    notifier: Notifier,
    *,
    sender_id: str,
    uow: UnitOfWork,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    clock: Callable[[], datetime] = utc_now,
    batch_max: int = SEND_BATCH_MAX,
    channel: OutboxChannel = OutboxChannel.ANNOUNCE,
    stop: threading.Event | None = None,
) -> DeliveryRound:
    """Send the channel's due messages in order, at most `batch_max`, if this sender holds its lease.

    Each message takes two short transactions (claim, then settle); the HTTP call
    happens between them, outside any transaction. Stops at the first message
    that is not due yet (after a failure or a 429), so order is kept. While the
    head waits (a backoff, a 429's `retry_after`, however longer than
    `LEASE_TTL`), each round still renews the lease, so the waiting sender stays
    the one sender and no other worker takes over mid-wait; an idle channel
    (nothing pending) costs one read and no write. Once `stop` is set (the worker
    is shutting down) no further message is claimed: the one in flight is settled,
    the round ends, so a stop waits for one send, not for `batch_max` of them.
    """
    with uow:
        head, now = _head(uow, channel), clock()
        if head is None:
            return DeliveryRound()
        if not _is_due(head, now):
            leased = _take_lease(uow, channel, sender_id, now)
            uow.commit()
            return DeliveryRound(leased=leased)
    counts = dict.fromkeys(("sent", "retried", "parked", "rate_limited", "settled"), 0)
    for _ in range(batch_max):
        if stop is not None and stop.is_set():
            break  # shutting down: the message in flight (if any) was settled; the rest wait
        claim = _claim(uow, channel, sender_id, clock)
        if not claim.leased:
            return _round(counts, leased=False)
        if claim.outbox_id is None or claim.message is None:
            break  # the head is not due yet
        delivery = notifier.send(claim.message)
        outcome = _settle(uow, claim.outbox_id, delivery, policy, clock)
        counts[outcome] += 1
        if outcome in ("retried", "rate_limited"):
            break  # the head must wait; the rest wait behind it
    return _round(counts, leased=True)


def _round(counts: dict[str, int], *, leased: bool) -> DeliveryRound:
    return DeliveryRound(
        sent=counts["sent"],
        retried=counts["retried"] + counts["rate_limited"],
        parked=counts["parked"],
        rate_limited=counts["rate_limited"],
        leased=leased,
    )


def release_lease(
    sender_id: str,
    *,
    uow: UnitOfWork,
    now: datetime | None = None,
    channel: OutboxChannel = OutboxChannel.ANNOUNCE,
) -> None:
    """Give the channel's lease up (a worker shutting down), so another sender need not wait for expiry."""
    with uow:
        uow.outbox.release_lease(LEASE_NAMES[channel], sender_id, now or utc_now())
        uow.commit()


# --- the admin console and the CLI ------------------------------------------------------


def _summary(message: dict) -> str:
    embeds = message.get("embeds") or []
    title = embeds[0].get("title") if embeds else None
    return message.get("content") or title or "(empty)"


def _view(row) -> OutboxRow:
    message = json.loads(row.payload)
    return OutboxRow(
        outbox_id=row.id,
        kind=row.kind,
        channel=row.channel,
        summary=_summary(message),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        message=message,
    )


def list_outbox(*, uow: UnitOfWork, status: str | None = None, limit: int = 50) -> tuple[OutboxRow, ...]:
    """The newest announcements first, optionally of one status."""
    limit = max(1, min(limit, OUTBOX_LIST_LENGTH_MAX))
    with uow:
        rows = uow.outbox.newest(status=status, limit=limit)
        return tuple(_view(row) for row in rows)


@dataclass(frozen=True)
class OutboxConsole:
    counts: dict[str, int]
    rows: tuple[OutboxRow, ...]
    sending: bool = True  # False: DISCORD_ANNOUNCE_WEBHOOK_URL is not set, announcements are recorded only


def _with_previews(uow: UnitOfWork, rows: tuple[OutboxRow, ...]) -> tuple[OutboxRow, ...]:
    """Each row with its preview: mentions shown as the racers' names, read in the open transaction."""
    ids = set().union(*(mentioned_ids(row.message) for row in rows)) if rows else set()
    names = {}
    for discord_id in sorted(ids):
        racer = uow.league.racer_by_discord_id(discord_id)
        if racer is not None:
            names[discord_id] = racer.display_name
    return tuple(dataclasses.replace(row, preview=preview(row.message, names)) for row in rows)


def outbox_console(
    actor_id: int, *, uow: UnitOfWork, status: str | None = None, limit: int = 50
) -> OutboxConsole:
    """The admin console's view: counts by status, the newest announcements with their previews,
    and whether they are sent at all (admins only)."""
    with uow:
        load_admin(uow, actor_id)
        return OutboxConsole(
            counts=outbox_counts(uow=uow),
            rows=_with_previews(uow, list_outbox(uow=uow, status=status, limit=limit)),
            sending=bool(uow.base_settings.discord_announce_webhook_url),
        )


def outbox_counts(*, uow: UnitOfWork) -> dict[str, int]:
    with uow:
        counts: dict[str, int] = dict.fromkeys(tuple(OutboxStatus), 0)
        counts.update(uow.outbox.counts_by_status())
        return counts


def resend(outbox_id: int, *, actor_id: int | None, uow: UnitOfWork) -> OutboxRow:
    """Queue a parked (failed) announcement again, to be sent next in order of its id.

    `actor_id` is the admin acting in the console; None is the operator at the
    command line, who already holds the database.
    """
    with uow:
        if actor_id is not None:
            load_admin(uow, actor_id)
        row = uow.outbox.message_for_update(outbox_id)
        if row is None:
            raise NotFound(f"There is no announcement #{outbox_id}.")
        if row.status != OutboxStatus.FAILED:
            raise OutboxNotResendable(outbox_id, row.status)
        row.status, row.attempts, row.next_attempt_at = OutboxStatus.PENDING, 0, None
        uow.outbox.save(row, flush=True)
        if actor_id is not None:  # the operator at the command line is no admin of the trail
            record_admin_action(
                uow,
                ActionKind.OUTBOX_RESEND,
                actor_id=actor_id,
                subject=f"Announcement #{outbox_id} ({row.kind})",
                old_value=OutboxStatus.FAILED.value,
                new_value=OutboxStatus.PENDING.value,
                at=utc_now(),
            )
        view = _view(row)
        uow.commit()
        return view

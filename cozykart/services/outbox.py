"""The Discord outbox: announcements recorded with their change, sent later by one sender.

`record` is called by event subscribers inside the transaction of the change it
announces, so an announcement exists exactly when its change commits. Nothing
here talks to Discord during a request.

`deliver_due` is one round of the background sender of one channel (the
announcement webhook, or racers' direct messages through the bot: two queues,
so a racer's closed DMs never hold an announcement back). Exactly one sender per
channel is active at a time, whatever the number of workers: a sender must hold
the channel's lease (`announcer`, `direct-messenger`) (a row taken or renewed by one conditional UPDATE, valid for
`LEASE_TTL`), and renews it before every message. A send takes at most the
notifier's timeout, far less than the lease, so no other sender can take over
while a message is in flight. Messages go in id order: the oldest pending one
blocks the rest until it is sent or parked. A failure is retried with
exponential backoff; a 429 waits Discord's `retry_after` (and does not count
as a try); after `attempts_max` tries, or at once when Discord says the message
can never be delivered (a racer who closed their DMs), the message is parked as failed, visible
in the admin console and the CLI, until someone sends it again (`resend`).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.discord_messages import OutboxChannel, OutboxNotResendable, OutboxStatus
from cozykart.domain.errors import NotFound
from cozykart.integrations.discord_announce import Notifier
from cozykart.services.actors import load_admin

SENDER_LEASE_NAME = "announcer"
DIRECT_SENDER_LEASE_NAME = "direct-messenger"
LEASE_NAMES = {OutboxChannel.ANNOUNCE: SENDER_LEASE_NAME, OutboxChannel.DIRECT: DIRECT_SENDER_LEASE_NAME}
LEASE_TTL = timedelta(seconds=30)
SEND_BATCH_MAX = 20
OUTBOX_LIST_LENGTH_MAX = 200
ERROR_LENGTH_MAX = 500


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


@dataclass(frozen=True)
class DeliveryRound:
    """What one round of the sender did."""

    sent: int = 0
    retried: int = 0
    parked: int = 0
    leased: bool = False


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


def deliver_due(
    notifier: Notifier,
    *,
    sender_id: str,
    uow: UnitOfWork,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    clock: Callable[[], datetime] = utc_now,
    batch_max: int = SEND_BATCH_MAX,
    channel: OutboxChannel = OutboxChannel.ANNOUNCE,
) -> DeliveryRound:
    """Send the channel's due messages in order, at most `batch_max`, if this sender holds its lease.

    Each message takes two short transactions (claim, then settle); the HTTP call
    happens between them, outside any transaction. Stops at the first message
    that is not due yet (after a failure or a 429), so order is kept.
    """
    with uow:
        if not _is_due(_head(uow, channel), clock()):
            return DeliveryRound()
    sent = retried = parked = 0
    for _ in range(batch_max):
        with uow:
            now = clock()
            if not _take_lease(uow, channel, sender_id, now):
                uow.commit()
                return DeliveryRound(sent, retried, parked, leased=False)
            row = _head(uow, channel)
            if not _is_due(row, now):
                uow.commit()
                break
            outbox_id, message = row.id, json.loads(row.payload)
            uow.commit()
        delivery = notifier.send(message)
        with uow:
            now = clock()
            row = uow.outbox.message_for_update(outbox_id)
            assert row is not None
            if row.status != OutboxStatus.PENDING:  # resent or settled meanwhile; nothing more to do
                uow.commit()
                continue
            if delivery.ok:
                row.status, row.sent_at, row.next_attempt_at = OutboxStatus.SENT, now, None
                sent += 1
            elif delivery.rate_limited and delivery.retry_after_s is not None:
                row.next_attempt_at = now + timedelta(seconds=delivery.retry_after_s)
                row.last_error = delivery.error
                retried += 1
            else:
                row.attempts += 1
                row.last_error = (delivery.error or "unknown error")[:ERROR_LENGTH_MAX]
                if delivery.permanent or row.attempts >= policy.attempts_max:
                    row.status, row.next_attempt_at = OutboxStatus.FAILED, None
                    parked += 1
                else:
                    row.next_attempt_at = now + policy.delay(row.attempts)
                    retried += 1
            uow.outbox.save(row)
            uow.commit()
        if not delivery.ok and row.status == OutboxStatus.PENDING:
            break  # the head must wait; the rest wait behind it
    return DeliveryRound(sent, retried, parked, leased=True)


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


def outbox_console(
    actor_id: int, *, uow: UnitOfWork, status: str | None = None, limit: int = 50
) -> OutboxConsole:
    """The admin console's view: counts by status and the newest announcements (admins only)."""
    with uow:
        load_admin(uow, actor_id)
        return OutboxConsole(
            counts=outbox_counts(uow=uow), rows=list_outbox(uow=uow, status=status, limit=limit)
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
        view = _view(row)
        uow.commit()
        return view

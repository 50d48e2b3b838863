"""Private notices: a racer is told about their own money on the site and, with the bot, by DM.

The `on_*` functions are in-transaction event handlers (`services/handlers.py`):
in the transaction that paid, rejected or returned a payout, that took a refund
past a wallet's balance, or that recorded a tip with a song request (the DJ's), they write the racer's notice and, when the racer has a
Discord account (a snowflake id), queue the same words as a direct message in
the outbox's `direct` channel, sent later by the bot with retries. Nothing
here talks to Discord, so an admin's click never waits for it.

The reads are the racer's own: `unread_count` for the header's bell and
`open_notices`, which shows their newest notices and marks those seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain import discord_messages as say
from cozykart.domain import notices as told
from cozykart.domain.discord_messages import OutboxChannel
from cozykart.domain.ledger import PayoutPaid, PayoutRejected, PayoutReturned, TipRecorded, WalletInDebt
from cozykart.domain.song_requests import names_a_song
from cozykart.services import outbox
from cozykart.services.actors import load_actor


def _tell(uow: UnitOfWork, racer_id: int, notice: told.NoticeText, dedupe_key: str, at: datetime) -> None:
    notices = uow.notices
    if notices.is_told(dedupe_key):
        return
    notices.add(
        racer_id=racer_id,
        kind=notice.kind,
        title=notice.title,
        body=notice.body,
        dedupe_key=dedupe_key,
        now=at,
    )
    racer = uow.league.racer(racer_id)
    if racer is not None and racer.discord_id.isdigit():  # a Discord user (demo racers are not)
        message = say.direct_message(
            recipient_discord_id=racer.discord_id, title=notice.title, body=notice.body
        )
        outbox.record(
            uow,
            dedupe_key=f"dm:{dedupe_key}",
            kind=f"dm_{notice.kind}",
            message=message,
            now=at,
            channel=OutboxChannel.DIRECT,
        )


def on_payout_paid(event: PayoutPaid, uow: UnitOfWork) -> None:
    notice = told.payout_paid(
        payout_id=event.payout_id,
        amount_cents=event.amount_cents,
        method=event.method,
        currency=uow.base_settings.currency,
    )
    _tell(uow, event.racer_id, notice, f"payout:{event.payout_id}:paid", event.paid_at)


def on_payout_rejected(event: PayoutRejected, uow: UnitOfWork) -> None:
    notice = told.payout_rejected(
        payout_id=event.payout_id,
        amount_cents=event.amount_cents,
        reason=event.reason,
        currency=uow.base_settings.currency,
    )
    _tell(uow, event.racer_id, notice, f"payout:{event.payout_id}:rejected", event.rejected_at)


def on_payout_returned(event: PayoutReturned, uow: UnitOfWork) -> None:
    notice = told.payout_returned(
        payout_id=event.payout_id, amount_cents=event.amount_cents, currency=uow.base_settings.currency
    )
    _tell(uow, event.racer_id, notice, event.transaction_key, event.returned_at)


def on_wallet_in_debt(event: WalletInDebt, uow: UnitOfWork) -> None:
    notice = told.wallet_in_debt(
        debt_cents=event.debt_cents, cause=event.cause, currency=uow.base_settings.currency
    )
    _tell(uow, event.racer_id, notice, f"debt:{event.transaction_key}:{event.racer_id}", event.at)


def on_tip_recorded(event: TipRecorded, uow: UnitOfWork) -> None:
    """The DJ hears of a song request the moment its tip is recorded (a tip without a song: nothing)."""
    if not names_a_song(event.song):
        return
    notice = told.song_requested(
        fan_name=event.fan_name,
        song=event.song,
        message=event.message,
        tip_cents=event.tip_cents,
        currency=uow.base_settings.currency,
    )
    _tell(uow, event.dj_racer_id, notice, f"song-request:{event.payment_id}", event.occurred_at)


# --- the racer's reads ------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeLine:
    notice_id: int
    kind: str
    title: str
    body: str
    created_at: datetime
    unseen: bool  # not seen before this opening


def unread_count(racer_id: int, *, uow: UnitOfWork) -> int:
    """How many of the racer's notices they have not seen (the bell's number; `racer_id` is the session's)."""
    with uow:
        return uow.notices.unread_count(racer_id)


def open_notices(actor_id: int, *, uow: UnitOfWork, now: datetime | None = None) -> tuple[NoticeLine, ...]:
    """The racer's own newest notices, newest first; those shown are marked seen in the same transaction."""
    with uow:
        actor = load_actor(uow, actor_id)
        rows = uow.notices.newest(actor.racer_id, limit=told.NOTICES_SHOWN_MAX)
        lines = tuple(
            NoticeLine(row.id, row.kind, row.title, row.body, row.created_at, unseen=row.seen_at is None)
            for row in rows
        )
        if any(line.unseen for line in lines):
            uow.notices.mark_seen(actor.racer_id, up_to_id=lines[0].notice_id, now=now or utc_now())
            uow.commit()
        return lines

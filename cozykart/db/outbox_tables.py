"""The Discord outbox, and the lease that lets exactly one worker send it.

An announcement is a row of `discord_outbox`, written in the transaction of the
change it announces (a race started, results, a tip, a cash-out, a champion),
so it exists exactly when the change does. The sender posts rows in id order.

channel: announce (the announcement channel's webhook) | direct (a racer's
direct messages, through the bot). Each channel is its own queue, in id order.

status: pending (waiting to be sent; `next_attempt_at` says when, after a failure
or a 429) | sent | failed (parked after the last allowed try; an admin can send
it again). `dedupe_key` names what is announced (`race:7:results`), so the same
fact is never queued twice.

`discord_sender_lease` holds one row per sender role: whoever holds an unexpired
lease is the one sender; taking it is a single conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now


class DiscordOutbox(SQLModel, table=True):
    __tablename__ = "discord_outbox"
    __table_args__ = (
        Index("ix_discord_outbox_status_id", "status", "id"),
        Index("ix_discord_outbox_channel_status_id", "channel", "status", "id"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    dedupe_key: str = Field(max_length=120, unique=True)
    kind: str = Field(max_length=30)
    # OutboxChannel: "announce" (the channel webhook) or "direct" (a racer's DMs, through the bot)
    channel: str = Field(default="announce", max_length=10, sa_column_kwargs={"server_default": "announce"})
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=10)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class DiscordSenderLease(SQLModel, table=True):
    __tablename__ = "discord_sender_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str | None = Field(default=None, max_length=120)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))

"""The DJ booth's queue: one song request per tip that named a song (cozykart/domain/song_requests.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.payments import FAN_NAME_LENGTH_MAX, ITEM_LENGTH_MAX, MESSAGE_LENGTH_MAX


class SongRequest(SQLModel, table=True):
    """A tip's song in its DJ's queue; `fan_name` is the public name the tip recorded, or None."""

    __tablename__ = "song_request"
    __table_args__ = (Index("ix_song_request_status_id", "status", "id"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    payment_id: int = Field(foreign_key="ledger_payment.id", unique=True)
    dj_racer_id: int = Field(foreign_key="racer.id", index=True)
    fan_name: str | None = Field(default=None, max_length=FAN_NAME_LENGTH_MAX)
    song: str = Field(max_length=ITEM_LENGTH_MAX)
    message: str | None = Field(default=None, max_length=MESSAGE_LENGTH_MAX)
    tip_cents: int = Field(sa_column=Column(BigInteger(), nullable=False))
    status: str = Field(max_length=10)  # waiting | played | skipped | refunded
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    decided_by_racer_id: int | None = Field(default=None, foreign_key="racer.id")

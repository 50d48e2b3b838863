"""Private notices to racers (cozykart/domain/notices.py): one row per thing told, seen or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.notices import NOTICE_TEXT_LENGTH_MAX


class Notice(SQLModel, table=True):
    """What a racer was told; `dedupe_key` names the fact (`payout:7:paid`), so it is told once."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_racer_id_id", "racer_id", "id"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    racer_id: int = Field(foreign_key="racer.id")
    kind: str = Field(max_length=30)
    title: str = Field(max_length=80)
    body: str = Field(max_length=NOTICE_TEXT_LENGTH_MAX)
    dedupe_key: str = Field(max_length=120, unique=True)
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))
    seen_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))

"""The key that OBS overlays carry in their URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now


class OverlayKey(SQLModel, table=True):
    """One generated overlay key; the newest is the valid one. Only its SHA-256 is kept."""

    __tablename__ = "overlay_key"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    key_sha256: str = Field(max_length=64, unique=True)
    created_by_racer_id: int | None = Field(default=None, foreign_key="racer.id")
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime(), nullable=False))

"""The overlays repository: the overlay key."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from cozykart.db.overlay_tables import OverlayKey
from cozykart.db.repositories import Repository


class OverlaysRepository(Repository):
    def add_key(self, *, key_sha256: str, created_by_racer_id: int, created_at: datetime) -> None:
        """A new overlay key (its digest): the newest is the current one."""
        self.session.add(
            OverlayKey(key_sha256=key_sha256, created_by_racer_id=created_by_racer_id, created_at=created_at)
        )

    def current_key_sha256(self) -> str | None:
        """The digest of the newest overlay key, or None before the first."""
        return self.session.exec(
            select(OverlayKey.key_sha256).order_by(col(OverlayKey.id).desc()).limit(1)
        ).first()

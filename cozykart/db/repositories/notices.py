"""The notices repository: a racer's private notices, and which of them they have seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select

from cozykart.db.notice_tables import Notice
from cozykart.db.repositories import Repository


class NoticesRepository(Repository):
    def is_told(self, dedupe_key: str) -> bool:
        return self.session.exec(select(Notice.id).where(Notice.dedupe_key == dedupe_key)).first() is not None

    def add(self, *, racer_id: int, kind: str, title: str, body: str, dedupe_key: str, now: datetime) -> int:
        row = Notice(
            racer_id=racer_id, kind=kind, title=title, body=body, dedupe_key=dedupe_key, created_at=now
        )
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        return row.id

    def newest(self, racer_id: int, *, limit: int) -> list[Notice]:
        return list(
            self.session.exec(
                select(Notice).where(Notice.racer_id == racer_id).order_by(col(Notice.id).desc()).limit(limit)
            ).all()
        )

    def unread_count(self, racer_id: int) -> int:
        return self.session.exec(
            select(func.count())
            .select_from(Notice)
            .where(Notice.racer_id == racer_id, col(Notice.seen_at).is_(None))
        ).one()

    def mark_seen(self, racer_id: int, *, up_to_id: int, now: datetime) -> int:
        """Mark the racer's unseen notices up to `up_to_id` seen (those shown); how many were."""
        table = Notice.__table__
        return self.session.execute(
            update(table)
            .where(table.c.racer_id == racer_id, table.c.id <= up_to_id, table.c.seen_at.is_(None))
            .values(seen_at=now)
        ).rowcount

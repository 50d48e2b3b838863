"""The audit repository: the admin actions' trail (`admin_action`), appended, never rewritten."""

from __future__ import annotations

from datetime import datetime

from cozykart.db.audit_tables import ACTION_SUBJECT_LENGTH_MAX, ACTION_VALUE_LENGTH_MAX, AdminAction
from cozykart.db.repositories import Repository


def _clipped(text: str | None, length_max: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= length_max else text[: length_max - 1] + "…"


class AuditRepository(Repository):
    def append(
        self,
        *,
        kind: str,
        actor_racer_id: int,
        subject: str,
        at: datetime,
        race_id: int | None = None,
        racer_id: int | None = None,
        old_value: str | None = None,
        new_value: str | None = None,
        reason: str | None = None,
    ) -> int:
        """Append one admin action in the open transaction; its id. Long values are clipped to their column."""
        table = AdminAction.__table__
        return self.connection.execute(
            table.insert()
            .values(
                kind=kind,
                actor_racer_id=actor_racer_id,
                race_id=race_id,
                racer_id=racer_id,
                subject=_clipped(subject, ACTION_SUBJECT_LENGTH_MAX),
                old_value=_clipped(old_value, ACTION_VALUE_LENGTH_MAX),
                new_value=_clipped(new_value, ACTION_VALUE_LENGTH_MAX),
                reason=reason,
                created_at=at,
            )
            .returning(table.c.id)
        ).scalar_one()

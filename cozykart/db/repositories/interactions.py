"""The interactions repository: Discord interactions received, for replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from cozykart.db.discord_interaction_tables import DiscordInteraction
from cozykart.db.repositories import Repository

_table = DiscordInteraction.__table__


class InteractionsRepository(Repository):
    def forget_signed_before(self, instant: datetime) -> None:
        """Delete the interactions whose signed timestamp is older than `instant`."""
        self.connection.execute(delete(_table).where(_table.c.signed_at < instant))

    def record(self, interaction_id: str, *, signed_at: datetime, received_at: datetime) -> bool:
        """Insert the interaction's id; True when it was new, False when it was there already."""
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here.
        inserted = self.connection.execute(
            dialect.insert(_table)
            .values(interaction_id=interaction_id, signed_at=signed_at, received_at=received_at)
            .on_conflict_do_nothing(index_elements=[_table.c.interaction_id])
            .returning(_table.c.interaction_id)
        ).first()
        return inserted is not None

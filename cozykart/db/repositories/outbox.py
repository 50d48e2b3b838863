"""The outbox repository: the Discord outbox: messages waiting, sent and failed, and the sender lease.

What an announcement says (racers' names, the race, the season, a champion's
standing, the wallets' shares of a pot) is read through the league's, the
seasons' and the ledger's repositories, which own those rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from cozykart.db.outbox_tables import DiscordOutbox, DiscordSenderLease
from cozykart.db.repositories import Repository
from cozykart.domain.discord_messages import OutboxChannel, OutboxStatus


class OutboxRepository(Repository):
    # --- messages -------------------------------------------------------------------------

    def is_queued(self, dedupe_key: str) -> bool:
        return (
            self.session.exec(select(DiscordOutbox.id).where(DiscordOutbox.dedupe_key == dedupe_key)).first()
            is not None
        )

    def add_message(
        self,
        *,
        dedupe_key: str,
        kind: str,
        payload: str,
        now: datetime,
        channel: str = OutboxChannel.ANNOUNCE,
    ) -> int:
        """A pending message, due at once; returns its id."""
        row = DiscordOutbox(
            dedupe_key=dedupe_key,
            kind=kind,
            channel=channel,
            payload=payload,
            status=OutboxStatus.PENDING,
            created_at=now,
            next_attempt_at=None,
        )  # None: due at once
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        return row.id

    def oldest_pending(self, channel: str = OutboxChannel.ANNOUNCE) -> DiscordOutbox | None:
        return self.session.exec(
            select(DiscordOutbox)
            .where(DiscordOutbox.channel == channel, DiscordOutbox.status == OutboxStatus.PENDING)
            .order_by(DiscordOutbox.id)
            .limit(1)
        ).first()

    def message_for_update(self, outbox_id: int) -> DiscordOutbox | None:
        return self.session.get(DiscordOutbox, outbox_id, with_for_update=True)

    def save(self, row: DiscordOutbox, *, flush: bool = False) -> None:
        self.session.add(row)
        if flush:
            self.session.flush()

    def newest(self, *, status: str | None, limit: int) -> list[DiscordOutbox]:
        """The newest messages first, optionally of one status."""
        statement = select(DiscordOutbox)
        if status is not None:
            statement = statement.where(DiscordOutbox.status == status)
        return list(self.session.exec(statement.order_by(col(DiscordOutbox.id).desc()).limit(limit)).all())

    def counts_by_status(self) -> dict[str, int]:
        """How many messages of each status there are (statuses without any are absent)."""
        rows = self.session.exec(
            select(DiscordOutbox.status, func.count()).group_by(DiscordOutbox.status)
        ).all()
        return {status: count for status, count in rows}

    # --- the sender lease ---------------------------------------------------------------------

    def take_lease(self, name: str, sender_id: str, *, now: datetime, expires_at: datetime) -> bool:
        """Take or renew lease `name` in one conditional UPDATE; True when `sender_id` holds it."""
        session = self.session
        lease = DiscordSenderLease.__table__
        taken = session.execute(
            update(lease)
            .where(lease.c.name == name)
            .where(or_(lease.c.holder.is_(None), lease.c.holder == sender_id, lease.c.expires_at <= now))
            .values(holder=sender_id, expires_at=expires_at)
        ).rowcount
        if taken == 0 and session.get(DiscordSenderLease, name) is None:
            # The migration creates the row; a database made another way gets it now.
            try:
                with session.begin_nested():
                    session.add(DiscordSenderLease(name=name, holder=sender_id, expires_at=expires_at))
            except IntegrityError:  # another sender created it first, and holds it
                return False
            return True
        assert taken <= 1
        return taken == 1

    def release_lease(self, name: str, sender_id: str, now: datetime) -> None:
        """Give lease `name` up if `sender_id` holds it."""
        lease = DiscordSenderLease.__table__
        self.session.execute(
            update(lease)
            .where(lease.c.name == name, lease.c.holder == sender_id)
            .values(holder=None, expires_at=now)
        )

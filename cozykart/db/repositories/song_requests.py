"""The song requests repository: the DJ booth's queue, oldest first, and each request's decision."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from cozykart.db.repositories import Repository
from cozykart.db.song_request_tables import SongRequest
from cozykart.domain.song_requests import RequestStatus


class SongRequestsRepository(Repository):
    def add(
        self,
        *,
        payment_id: int,
        dj_racer_id: int,
        fan_name: str | None,
        song: str,
        message: str | None,
        tip_cents: int,
        now: datetime,
    ) -> int | None:
        """A waiting request for the tip; None when the tip already has one (the event handled twice)."""
        if self.by_payment(payment_id) is not None:
            return None
        row = SongRequest(
            payment_id=payment_id,
            dj_racer_id=dj_racer_id,
            fan_name=fan_name,
            song=song,
            message=message,
            tip_cents=tip_cents,
            status=RequestStatus.WAITING.value,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        return row.id

    def by_payment(self, payment_id: int) -> SongRequest | None:
        return self.session.exec(select(SongRequest).where(SongRequest.payment_id == payment_id)).first()

    def for_update(self, request_id: int) -> SongRequest | None:
        """The request, locked until the transaction ends (two clicks at once decide it once)."""
        return self.session.exec(
            select(SongRequest).where(SongRequest.id == request_id).with_for_update()
        ).first()

    def oldest_waiting(self, dj_racer_id: int | None) -> SongRequest | None:
        """The next song: the oldest waiting request (of one DJ, or of any when None), locked."""
        query = select(SongRequest).where(SongRequest.status == RequestStatus.WAITING.value)
        if dj_racer_id is not None:
            query = query.where(SongRequest.dj_racer_id == dj_racer_id)
        return self.session.exec(query.order_by(col(SongRequest.id)).limit(1).with_for_update()).first()

    def set_status(
        self, row: SongRequest, status: RequestStatus, *, decided_by: int | None, now: datetime
    ) -> None:
        row.status = status.value
        row.decided_at = now
        row.decided_by_racer_id = decided_by
        self.session.add(row)
        self.session.flush()

    def waiting(self, dj_racer_id: int | None, *, limit: int) -> list[SongRequest]:
        """Waiting requests, oldest first (of one DJ, or of every DJ when None)."""
        query = select(SongRequest).where(SongRequest.status == RequestStatus.WAITING.value)
        if dj_racer_id is not None:
            query = query.where(SongRequest.dj_racer_id == dj_racer_id)
        return list(self.session.exec(query.order_by(col(SongRequest.id)).limit(limit)).all())

    def latest_decided(self, dj_racer_id: int | None, *, limit: int) -> list[SongRequest]:
        """Requests no longer waiting, the latest decided first."""
        query = select(SongRequest).where(SongRequest.status != RequestStatus.WAITING.value)
        if dj_racer_id is not None:
            query = query.where(SongRequest.dj_racer_id == dj_racer_id)
        order = (col(SongRequest.decided_at).desc(), col(SongRequest.id).desc())
        return list(self.session.exec(query.order_by(*order).limit(limit)).all())

    def last_played(self) -> SongRequest | None:
        query = select(SongRequest).where(SongRequest.status == RequestStatus.PLAYED.value)
        order = (col(SongRequest.decided_at).desc(), col(SongRequest.id).desc())
        return self.session.exec(query.order_by(*order).limit(1)).first()

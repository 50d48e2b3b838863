"""The DJ booth: song requests that came with tips, and the DJ's decisions on them.

A tip that names a song becomes a request in the tip's own transaction
(`on_tip_recorded`, a handler of `services/handlers.py`); the DJ is told at once
by `notices.on_tip_recorded` (a notice, and a Discord DM when the bot is
configured). The DJ it is for, or a league admin, marks it played or skipped
(`decide_request`, `play_next`); hosts do not (the booth is the DJ's). Each
decision is audited in its own transaction (`audit.record_admin_action`) and
emits `SongRequestDecided`, after whose commit every open booth, tip page,
Watch page and requests overlay reads the queue again (`services/live.py`).
A refund or dispute of the tip marks its request refunded (`on_tip_reversed`).

What fans see (`up_next`) is public-safe: the song and the fan's public name
("A fan" when they chose none), never the message or the amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain import song_requests as rules
from cozykart.domain.audit import ActionKind
from cozykart.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from cozykart.domain.ledger import TipRecorded
from cozykart.domain.song_requests import RequestStatus, SongRequestDecided, TipReversed
from cozykart.services import audit
from cozykart.services.actors import Actor, load_actor

ANONYMOUS_FAN = "A fan"
_AUDIT_KINDS = {RequestStatus.PLAYED: ActionKind.SONG_PLAYED, RequestStatus.SKIPPED: ActionKind.SONG_SKIPPED}


@dataclass(frozen=True)
class RequestLine:
    """One request as its DJ sees it (a refunded one without the fan's name and message)."""

    request_id: int
    dj_racer_id: int
    fan_name: str
    song: str
    message: str
    tip_cents: int
    status: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class Booth:
    """The DJ's booth: the waiting requests oldest first, then the latest decided ones."""

    waiting: tuple[RequestLine, ...]
    decided: tuple[RequestLine, ...]
    currency: str
    all_djs: bool  # an admin who is not a DJ sees every DJ's queue


@dataclass(frozen=True)
class PublicRequest:
    song: str
    fan_name: str


@dataclass(frozen=True)
class UpNext:
    now_playing: PublicRequest | None
    up_next: tuple[PublicRequest, ...]


def _line(row) -> RequestLine:
    refunded = row.status == RequestStatus.REFUNDED
    return RequestLine(
        request_id=row.id,
        dj_racer_id=row.dj_racer_id,
        fan_name=(None if refunded else row.fan_name) or ANONYMOUS_FAN,
        song=row.song,
        message="" if refunded else row.message or "",
        tip_cents=row.tip_cents,
        status=row.status,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


def _public(row) -> PublicRequest:
    return PublicRequest(song=row.song, fan_name=row.fan_name or ANONYMOUS_FAN)


# --- in-transaction handlers --------------------------------------------------------


def on_tip_recorded(event: TipRecorded, uow: UnitOfWork) -> None:
    """A tip that names a song joins its DJ's queue, waiting (once per tip)."""
    if not rules.names_a_song(event.song):
        return
    uow.song_requests.add(
        payment_id=event.payment_id,
        dj_racer_id=event.dj_racer_id,
        fan_name=event.fan_name,
        song=event.song,
        message=event.message,
        tip_cents=event.tip_cents,
        now=event.occurred_at,
    )


def on_tip_reversed(event: TipReversed, uow: UnitOfWork) -> None:
    """A refunded or disputed tip's request is marked refunded, whatever it was."""
    row = uow.song_requests.by_payment(event.payment_id)
    if row is None or row.status == RequestStatus.REFUNDED:
        return
    uow.song_requests.set_status(row, rules.reversed_status(row.status), decided_by=None, now=event.at)


# --- the DJ's decisions -------------------------------------------------------------


def _require_booth(actor: Actor) -> None:
    if not (actor.is_dj or actor.is_admin):
        raise PermissionDenied("Only the DJ can open the booth and mark requests.")


def _require_decider(actor: Actor, dj_racer_id: int) -> None:
    _require_booth(actor)
    if not actor.is_admin and actor.racer_id != dj_racer_id:
        raise PermissionDenied("That request is for another DJ: only they (or an admin) can mark it.")


def _request_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput("That is not a song request.")
    text = str(value).strip()
    if not text.isdigit() or len(text) > 12:
        raise InvalidInput("That is not a song request.")
    return int(text)


def _decide(uow: UnitOfWork, actor: Actor, row, decision: RequestStatus, now: datetime) -> RequestLine:
    _require_decider(actor, row.dj_racer_id)
    old = row.status
    status = rules.decided(old, decision)
    uow.song_requests.set_status(row, status, decided_by=actor.racer_id, now=now)
    audit.record_admin_action(
        uow,
        _AUDIT_KINDS[status],
        actor_id=actor.racer_id,
        subject=f"Song request #{row.id}: {row.song}",
        at=now,
        racer_id=row.dj_racer_id,
        old_value=old,
        new_value=status.value,
    )
    uow.emit(
        SongRequestDecided(
            request_id=row.id,
            dj_racer_id=row.dj_racer_id,
            status=status.value,
            decided_by_racer_id=actor.racer_id,
            decided_at=now,
        )
    )
    return _line(row)


def decide_request(
    actor_id: int, request_id: object, decision: str, *, uow: UnitOfWork, now: datetime | None = None
) -> RequestLine:
    """The DJ (or an admin) marks one waiting request played or skipped; audited, once."""
    now = now or utc_now()
    wanted = rules.parse_decision(decision)
    parsed_id = _request_id(request_id)
    with uow:
        actor = load_actor(uow, actor_id)
        _require_booth(actor)
        row = uow.song_requests.for_update(parsed_id)
        if row is None:
            raise NotFound("That song request does not exist.")
        line = _decide(uow, actor, row, wanted, now)
        uow.commit()
        return line


def play_next(actor_id: int, *, uow: UnitOfWork, now: datetime | None = None) -> RequestLine:
    """`/played`: the DJ's oldest waiting request is marked played (an admin's: any DJ's oldest)."""
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        _require_booth(actor)
        row = uow.song_requests.oldest_waiting(None if _sees_all(actor) else actor.racer_id)
        if row is None:
            raise Conflict("No song request is waiting.")
        line = _decide(uow, actor, row, RequestStatus.PLAYED, now)
        uow.commit()
        return line


def _sees_all(actor: Actor) -> bool:
    return actor.is_admin and not actor.is_dj


# --- reads ------------------------------------------------------------------------


def dj_booth(actor_id: int, *, uow: UnitOfWork) -> Booth:
    """The acting DJ's queue (an admin who is not a DJ: every DJ's); anyone else is refused."""
    with uow:
        actor = load_actor(uow, actor_id)
        _require_booth(actor)
        dj = None if _sees_all(actor) else actor.racer_id
        waiting = uow.song_requests.waiting(dj, limit=rules.QUEUE_SHOWN_MAX)
        decided = uow.song_requests.latest_decided(dj, limit=rules.UP_NEXT_SHOWN_MAX * 2)
        return Booth(
            waiting=tuple(_line(row) for row in waiting),
            decided=tuple(_line(row) for row in decided),
            currency=uow.base_settings.currency,
            all_djs=dj is None,
        )


def up_next(*, uow: UnitOfWork, limit: int = rules.UP_NEXT_SHOWN_MAX) -> UpNext:
    """What fans and the stream see: the last song played and the next few waiting (every DJ's)."""
    with uow:
        played = uow.song_requests.last_played()
        waiting = uow.song_requests.waiting(None, limit=limit)
        return UpNext(
            now_playing=_public(played) if played is not None else None,
            up_next=tuple(_public(row) for row in waiting),
        )

"""The DJ booth's rules: a song request's statuses and the one way each may change.

A tip that names a song becomes a request, `waiting` in the DJ's queue (oldest
first). The DJ it is for (or a league admin) decides it once: `played` or
`skipped`. A refund or a dispute of the tip marks it `refunded` from any status
(shown struck out; the fan's name and message are then never shown). Nothing
else moves: a decided request is not decided again (no undo: a DJ who clicked
the wrong button plays the song or tells the fan), and `refunded` is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cozykart.domain.errors import Conflict, InvalidInput

UP_NEXT_SHOWN_MAX = 5  # waiting requests an overlay or a public page names
QUEUE_SHOWN_MAX = 100  # requests the DJ's booth lists (waiting first, then the latest decided)
REQUESTS_LISTED_MAX = 10  # requests a Discord reply lists


class RequestStatus(StrEnum):
    WAITING = "waiting"
    PLAYED = "played"
    SKIPPED = "skipped"
    REFUNDED = "refunded"


DECISIONS = (RequestStatus.PLAYED, RequestStatus.SKIPPED)


def parse_decision(value: str) -> RequestStatus:
    """What the DJ chose for a request: played or skipped; anything else is refused."""
    try:
        status = RequestStatus(str(value).strip().lower())
    except ValueError:
        status = None
    if status not in DECISIONS:
        raise InvalidInput("A request is marked played or skipped.")
    assert status is not None
    return status


def decided(current: str, wanted: RequestStatus) -> RequestStatus:
    """The status after the DJ's decision; refused unless the request is still waiting."""
    assert wanted in DECISIONS, wanted
    if current == RequestStatus.WAITING:
        return wanted
    if current == RequestStatus.REFUNDED:
        raise Conflict("That request's tip was refunded: there is nothing to play.")
    raise Conflict(f"That request was already marked {current}.")


def reversed_status(current: str) -> RequestStatus:
    """A refund or dispute of the tip marks its request refunded, whatever it was."""
    assert current in tuple(RequestStatus), current
    return RequestStatus.REFUNDED


@dataclass(frozen=True)
class SongRequestDecided:
    """The DJ (or an admin) marked a request played or skipped."""

    request_id: int
    dj_racer_id: int
    status: str
    decided_by_racer_id: int
    decided_at: datetime


@dataclass(frozen=True)
class TipReversed:
    """A tip was refunded or disputed (`cause`: the clawback's transaction kind)."""

    payment_id: int
    cause: str
    at: datetime


# What a tip without a song records as its song (the ledger's and the providers' words): no request.
NO_SONG_NAMED = "a song of the DJ's choice"


def names_a_song(song: str | None) -> bool:
    """Whether a tip asked for a song (a tip for "a song of the DJ's choice" did not)."""
    words = (song or "").strip()
    return bool(words) and words.lower() != NO_SONG_NAMED.lower()

"""The DJ booth's rules (cozykart/domain/song_requests.py): waiting -> played | skipped, once;
refunded from any status, for good; only a named song makes a request."""

from __future__ import annotations

import pytest

from cozykart.domain.errors import Conflict, InvalidInput
from cozykart.domain.song_requests import (
    NO_SONG_NAMED,
    RequestStatus,
    decided,
    names_a_song,
    parse_decision,
    reversed_status,
)


def test_the_statuses_are_stored_as_their_words():
    assert [status.value for status in RequestStatus] == ["waiting", "played", "skipped", "refunded"]


@pytest.mark.parametrize("wanted", [RequestStatus.PLAYED, RequestStatus.SKIPPED])
def test_a_waiting_request_is_decided_once(wanted):
    assert decided("waiting", wanted) is wanted
    for after in ("played", "skipped"):
        with pytest.raises(Conflict, match=f"already marked {after}"):
            decided(after, wanted)


def test_a_refunded_request_is_never_played():
    with pytest.raises(Conflict, match="refunded"):
        decided("refunded", RequestStatus.PLAYED)


@pytest.mark.parametrize("current", [status.value for status in RequestStatus])
def test_a_refund_marks_any_request_refunded(current):
    assert reversed_status(current) is RequestStatus.REFUNDED


@pytest.mark.parametrize("text", ["played", " Played ", "SKIPPED"])
def test_the_decisions_the_dj_can_send(text):
    assert parse_decision(text) in (RequestStatus.PLAYED, RequestStatus.SKIPPED)


@pytest.mark.parametrize("text", ["waiting", "refunded", "", "played!", "0"])
def test_any_other_decision_is_refused(text):
    with pytest.raises(InvalidInput, match="played or skipped"):
        parse_decision(text)


@pytest.mark.parametrize(
    ("song", "named"),
    [
        ("Coconut Mall", True),
        (None, False),
        ("", False),
        ("   ", False),
        (NO_SONG_NAMED, False),
        ("A song of the DJ's choice ", False),
    ],
)
def test_only_a_named_song_makes_a_request(song, named):
    assert names_a_song(song) is named

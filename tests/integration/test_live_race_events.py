"""Every change of a race, a lobby or a season emits its event, and after its commit
tells the app's publisher (`services/live.py`) which views to read again: once per
committed change, never after a refusal or a rollback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from cozykart.domain.events import (
    LobbyCancelled,
    LobbyChanged,
    RaceEnded,
    RaceFinalized,
    RaceStarted,
    ResultReported,
    ResultsCorrected,
    SeasonActivated,
    SeasonCompleted,
)
from cozykart.domain.league import LobbyNotOpen
from cozykart.services import league, live, seasons
from tests.integration.league_support import make_league, recording

LEAGUE_EVENTS = (
    LobbyChanged,
    LobbyCancelled,
    RaceStarted,
    RaceEnded,
    ResultReported,
    RaceFinalized,
    ResultsCorrected,
    SeasonActivated,
    SeasonCompleted,
)
RACE = frozenset({live.RACE})
RACE_AND_STANDINGS = frozenset({live.RACE, live.STANDINGS})


@pytest.fixture
def published() -> Iterator[list[frozenset[str]]]:
    """What the services published after commit, as the app's publisher hears it."""
    heard: list[frozenset[str]] = []
    live.set_publisher(heard.append)
    try:
        yield heard
    finally:
        live.remove_publisher(heard.append)


def _kinds(events) -> list[tuple]:
    return [(type(event).__name__, getattr(event, "change", None)) for event in events]


def test_a_lobby_opened_joined_left_and_cancelled_is_pushed_each_time(database, published):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    with recording(lg, *LEAGUE_EVENTS) as events:
        lobby = league.open_lobby("Moo Moo Meadows", **lg.kw(lg.host_id))
        league.join_lobby(lobby.race_id, **lg.kw(a))
        league.join_lobby(lobby.race_id, **lg.kw(b))
        league.leave_lobby(lobby.race_id, **lg.kw_no_now(b))
        league.cancel_lobby(lobby.race_id, **lg.kw_no_now(lg.host_id))
    assert _kinds(events) == [
        ("LobbyChanged", "opened"),
        ("LobbyChanged", "joined"),
        ("LobbyChanged", "joined"),
        ("LobbyChanged", "left"),
        ("LobbyCancelled", None),
    ]
    assert [(e.racer_id, e.race_id) for e in events[:4]] == [
        (lg.host_id, lobby.race_id),
        (a, lobby.race_id),
        (b, lobby.race_id),
        (b, lobby.race_id),
    ]
    assert events[-1].race_id == lobby.race_id and events[-1].name == "Moo Moo Meadows"
    assert published == [RACE] * 5


def test_a_refused_change_pushes_nothing(database, published):
    lg = make_league(database, 2)
    lobby_id = lg.lobby(lg.racer_ids)
    league.cancel_lobby(lobby_id, **lg.kw_no_now(lg.host_id))
    published.clear()
    with recording(lg, *LEAGUE_EVENTS) as events, pytest.raises(LobbyNotOpen):
        league.cancel_lobby(lobby_id, **lg.kw_no_now(lg.host_id))
    assert events == [] and published == []


def test_a_race_started_ended_reported_and_final_is_pushed_and_final_changes_the_standings(
    database, published
):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    lobby_id = lg.lobby(lg.racer_ids)
    published.clear()
    with recording(lg, *LEAGUE_EVENTS) as events:
        league.start_race(lobby_id, **lg.kw(lg.host_id))
        league.end_race(lobby_id, **lg.kw(lg.host_id))
        league.report_result(lobby_id, 1, **lg.kw(a))
        league.report_result(lobby_id, 2, **lg.kw(b))  # the reports agree: final at once
    assert _kinds(events) == [
        ("RaceStarted", None),
        ("RaceEnded", None),
        ("ResultReported", None),
        ("ResultReported", None),
        ("RaceFinalized", None),
    ]
    assert [e.racer_id for e in events if isinstance(e, ResultReported)] == [a, b]
    assert events[1].race_id == lobby_id and events[1].ended_at is not None
    # The last report and the final race are one commit: both pushes follow it.
    assert published == [RACE, RACE, RACE, RACE, RACE_AND_STANDINGS]


def test_an_admin_fix_and_a_season_activated_and_closed_change_the_standings(database, published):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    season = seasons.create_season(
        "Autumn", starts_on=date(2026, 9, 1), ends_on=date(2026, 11, 30), **lg.kw(lg.admin_id)
    )
    with recording(lg, *LEAGUE_EVENTS) as events:
        seasons.activate_season(season.season_id, **lg.kw(lg.admin_id))
        race = lg.final_race([a, b])
        published.clear()
        league.fix_results(race.race_id, {a: 2, b: 1}, reason="photo finish", **lg.kw(lg.admin_id))
        seasons.close_season(season.season_id, **lg.kw(lg.admin_id))
    activated = events[0]
    assert isinstance(activated, SeasonActivated)
    assert (activated.season_id, activated.name) == (season.season_id, "Autumn")
    assert [type(e).__name__ for e in events[-2:]] == ["ResultsCorrected", "SeasonCompleted"]
    assert published == [RACE_AND_STANDINGS, RACE_AND_STANDINGS]

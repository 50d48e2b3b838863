"""Lobbies and the live window: who may do what, and when a race is live."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from cozykart.db import league_repo
from cozykart.db.tables import Race, Season
from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.domain.league import (
    OPEN_LOBBY_COUNT_MAX,
    AlreadyInLobby,
    InvalidLobbyName,
    LobbyFull,
    LobbyNotOpen,
    LobbyTooSmall,
    NotAMember,
    NotTheHost,
    RaceAlreadyLive,
    RaceCancelled,
    RaceNotFound,
    RaceNotLive,
    TooManyOpenLobbies,
)
from cozykart.services import identity, league
from cozykart.services.reads.league_views import RaceView
from tests.integration.league_support import make_league, make_racer


def test_racer_is_created_once_and_refreshed_from_discord(database):
    first = league.get_or_create_racer("123", "koopa", "Koopa", None, uow=database.uow())
    again = league.get_or_create_racer("123", "koopa2", "Koopa Kid", "/a.png", uow=database.uow())
    assert again.racer_id == first.racer_id
    assert (again.username, again.display_name, again.avatar_url) == ("koopa2", "Koopa Kid", "/a.png")
    named = identity.update_profile(first.racer_id, mkt_name="  Koopa  Kid77 ", uow=database.uow())
    assert named.mkt_name == "Koopa Kid77"
    after_login = league.get_or_create_racer("123", "koopa2", "Koopa Kid", "/a.png", uow=database.uow())
    assert after_login.mkt_name == "Koopa Kid77"
    with pytest.raises(InvalidInput):
        league.get_or_create_racer("", "x", "x", None, uow=database.uow())
    with pytest.raises(InvalidInput):
        identity.update_profile(first.racer_id, mkt_name="x" * 40, uow=database.uow())


def test_host_opens_racers_join_and_leave(database):
    lg = make_league(database, 3)
    lobby = league.open_lobby("  Rainbow   Road ", **lg.kw(lg.host_id))
    assert (lobby.name, lobby.status, lobby.racer_count) == ("Rainbow Road", "open", 0)
    for racer_id in lg.racer_ids:
        league.join_lobby(lobby.race_id, **lg.kw(racer_id))
    view = league.leave_lobby(lobby.race_id, **lg.kw_no_now(lg.racer_ids[0]))
    assert [card.racer_id for card in view.racers] == lg.racer_ids[1:]
    lobbies = league.list_open_lobbies(uow=database.uow())
    assert [(lobby.race_id, lobby.racer_count) for lobby in lobbies] == [(lobby.race_id, 2)]
    assert lobbies[0].racers[0].display_name == "Racer1"
    assert lobbies[0].racers[0].avatar_url == "/avatars/racer1.svg"
    assert league.racer_lobby(lg.racer_ids[1], uow=database.uow()).race_id == lobby.race_id
    assert league.racer_lobby(lg.racer_ids[0], uow=database.uow()) is None


def test_lobby_refusals(database):
    lg = make_league(database, 9)
    with pytest.raises(PermissionDenied):
        league.open_lobby("Mine", **lg.kw(lg.racer_ids[0]))
    with pytest.raises(InvalidLobbyName):
        league.open_lobby("   ", **lg.kw(lg.host_id))
    with pytest.raises(InvalidLobbyName):
        league.open_lobby("x" * 61, **lg.kw(lg.host_id))
    with pytest.raises(RaceNotFound):
        league.join_lobby(999, **lg.kw(lg.racer_ids[0]))
    lobbies = [
        league.open_lobby(f"Spare {i}", **lg.kw(lg.host_id)).race_id for i in range(OPEN_LOBBY_COUNT_MAX)
    ]
    with pytest.raises(TooManyOpenLobbies):
        league.open_lobby("One too many", **lg.kw(lg.host_id))
    for race_id in lobbies:
        league.cancel_lobby(race_id, **lg.kw_no_now(lg.host_id))

    race_id = lg.lobby(lg.racer_ids[:8])
    with pytest.raises(LobbyFull, match="full"):
        league.join_lobby(race_id, **lg.kw(lg.racer_ids[8]))
    with pytest.raises(AlreadyInLobby):
        league.join_lobby(race_id, **lg.kw(lg.racer_ids[0]))
    other = league.open_lobby("Other", **lg.kw(lg.admin_id))
    with pytest.raises(AlreadyInLobby, match="Mario Circuit"):
        league.join_lobby(other.race_id, **lg.kw(lg.racer_ids[0]))
    with pytest.raises(NotAMember):
        league.leave_lobby(other.race_id, **lg.kw_no_now(lg.racer_ids[0]))
    # Only the lobby's own host (or an admin) runs it.
    second_host = make_racer(database, "host2", host=True)
    with pytest.raises(NotTheHost):
        league.start_race(race_id, **lg.kw(second_host))
    with pytest.raises(NotTheHost):
        league.start_race(race_id, **lg.kw(lg.racer_ids[0]))
    with pytest.raises(NotTheHost):
        league.cancel_lobby(race_id, **lg.kw_no_now(second_host))
    with pytest.raises(LobbyTooSmall):
        league.start_race(other.race_id, **lg.kw(lg.admin_id))

    league.start_race(race_id, **lg.kw(lg.host_id))
    with pytest.raises(LobbyNotOpen):
        league.join_lobby(race_id, **lg.kw(lg.racer_ids[8]))
    with pytest.raises(LobbyNotOpen):
        league.leave_lobby(race_id, **lg.kw_no_now(lg.racer_ids[0]))
    with pytest.raises(RaceAlreadyLive):
        league.start_race(race_id, **lg.kw(lg.host_id))
    with pytest.raises(LobbyNotOpen):
        league.cancel_lobby(race_id, **lg.kw_no_now(lg.host_id))

    # A racer of a live race may wait in the next lobby.
    league.join_lobby(other.race_id, **lg.kw(lg.racer_ids[0]))
    league.cancel_lobby(other.race_id, **lg.kw_no_now(lg.admin_id))
    with pytest.raises(RaceCancelled):
        league.join_lobby(other.race_id, **lg.kw(lg.racer_ids[1]))
    with pytest.raises(RaceCancelled):
        league.start_race(other.race_id, **lg.kw(lg.admin_id))

    league.end_race(race_id, **lg.kw(lg.host_id))
    with pytest.raises(RaceNotLive):
        league.end_race(race_id, **lg.kw(lg.host_id))
    with pytest.raises(LobbyNotOpen):
        league.start_race(race_id, **lg.kw(lg.host_id))


def test_second_live_race_is_refused_with_its_name(database):
    lg = make_league(database, 4)
    first = lg.live_race(lg.racer_ids[:2], "First Cup")
    second = lg.lobby(lg.racer_ids[2:], "Second Cup")
    with pytest.raises(RaceAlreadyLive, match="First Cup"):
        league.start_race(second, **lg.kw(lg.admin_id))
    league.end_race(first, **lg.kw(lg.host_id))
    assert league.start_race(second, **lg.kw(lg.admin_id)).is_live


def test_first_start_opens_a_default_season(database):
    lg = make_league(database, 2)
    race_id = lg.live_race(lg.racer_ids)
    race = league.current_race(uow=database.uow())
    assert race.race_id == race_id and race.season_id is not None
    assert [card.racer_id for card in race.racers] == lg.racer_ids
    with database.uow() as uow:
        seasons = uow.session.exec(select(Season)).all()
        assert len(seasons) == 1
        season = seasons[0]
        assert season.status == "active" and season.split_policy == "even"
        assert league_repo.points_table(season) == {"default": [15, 12, 10, 8, 6, 4, 2, 1]}


def test_window_is_stored_precisely_and_found_by_instant(database):
    lg = make_league(database, 2)
    lg.clock.step = timedelta(microseconds=1500)
    race_id = lg.lobby(lg.racer_ids)
    started = league.start_race(race_id, **lg.kw(lg.host_id))
    with database.uow() as uow:
        window = league_repo.race_live_at(uow.session, started.started_at + timedelta(hours=5))
        assert window.race_id == race_id and window.ended_at is None
        assert league_repo.race_live_at(uow.session, started.started_at - timedelta(microseconds=1)) is None
    ended = league.end_race(race_id, **lg.kw(lg.host_id))
    assert ended.started_at.microsecond == started.started_at.microsecond != 0
    assert ended.ended_at - ended.started_at == timedelta(microseconds=1500)
    with database.uow() as uow:
        assert league_repo.race_live_at(uow.session, ended.started_at).race_id == race_id
        last = ended.ended_at - timedelta(microseconds=1)
        assert league_repo.race_live_at(uow.session, last).race_id == race_id
        assert league_repo.race_live_at(uow.session, ended.ended_at) is None


def test_a_race_never_starts_before_the_last_one_ended(database):
    lg = make_league(database, 2)
    first = lg.ended_race(lg.racer_ids)
    ended_at = league.get_race(first, uow=database.uow()).ended_at
    second = lg.lobby(lg.racer_ids, "Late clock")
    early = ended_at - timedelta(minutes=5)
    view = league.start_race(second, actor_id=lg.host_id, uow=database.uow(lg.settings), now=early)
    assert view.started_at == ended_at


def test_concurrent_starts_make_exactly_one_race_live(database):
    lg = make_league(database, 8)
    race_ids = [lg.lobby(lg.racer_ids[i : i + 2], f"Cup {i}") for i in range(0, 8, 2)]
    barrier = threading.Barrier(len(race_ids))
    outcomes: list[object] = [None] * len(race_ids)

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = league.start_race(race_ids[index], **lg.kw_no_now(lg.admin_id))
        except RaceAlreadyLive as error:
            outcomes[index] = error

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(race_ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [o for o in outcomes if not isinstance(o, RaceAlreadyLive)]
    assert len(started) == 1, outcomes
    with database.uow() as uow:
        assert len(uow.session.exec(select(Race).where(Race.status == "live")).all()) == 1
        assert len(uow.session.exec(select(Season)).all()) == 1


def _at_once(actions) -> list[object]:
    """Run the actions in threads released together; each one's result or error."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = actions[index]()
        except Exception as error:  # noqa: BLE001 - returned to the test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_joins_never_overfill_a_lobby(database):
    lg = make_league(database, 10)
    race_id = lg.lobby(lg.racer_ids[:6])
    late = lg.racer_ids[6:]
    outcomes = _at_once([lambda r=r: league.join_lobby(race_id, **lg.kw_no_now(r)) for r in late])
    assert sum(isinstance(o, LobbyFull) for o in outcomes) == 2
    assert all(isinstance(o, (LobbyFull, RaceView)) for o in outcomes), outcomes
    assert league.get_race(race_id, uow=database.uow()).racer_count == 8


def test_one_racer_joining_two_lobbies_at_once_gets_one(database):
    lg = make_league(database, 1)
    (racer,) = lg.racer_ids
    lobbies = [league.open_lobby(f"Lobby {i}", **lg.kw(lg.host_id)).race_id for i in range(4)]
    outcomes = _at_once([lambda r=r: league.join_lobby(r, **lg.kw_no_now(racer)) for r in lobbies])
    assert sum(isinstance(o, AlreadyInLobby) for o in outcomes) == 3, outcomes


def test_first_login_at_the_same_instant_makes_one_racer(database):
    outcomes = _at_once(
        [
            lambda: league.get_or_create_racer("555", "toad", "Toad", None, uow=database.uow())
            for _ in range(4)
        ]
    )
    assert len({o.racer_id for o in outcomes}) == 1, outcomes

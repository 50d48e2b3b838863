"""The league's state machine through the real services, on an in-memory unit of work.

Lobby -> joined -> live -> reported -> final, and the refusals on the way
(cancelled, left, already live, not the host, lobby full), asserted as the
integration tests assert them (`tests/integration/test_league_*.py`), without a
database: each test runs in milliseconds. The integration tests stay: they
check the same rules against SQLite and PostgreSQL, locks and indexes included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from cozykart.db.repositories.league import LeagueRepository
from cozykart.db.repositories.seasons import SeasonsRepository
from cozykart.domain.errors import PermissionDenied
from cozykart.domain.events import RaceFinalized, RaceStarted, ResultsCorrected
from cozykart.domain.league import (
    OPEN_LOBBY_COUNT_MAX,
    AlreadyInLobby,
    InvalidResults,
    LobbyFull,
    LobbyNotOpen,
    LobbyTooSmall,
    NoLiveRace,
    NotAMember,
    NotInLobby,
    NotTheHost,
    RaceAlreadyFinal,
    RaceAlreadyLive,
    RaceCancelled,
    RaceNotFound,
    RaceNotLive,
    RaceNotStarted,
    RaceStatus,
    RaceStillLive,
    ReportsMissing,
    SeasonStatus,
    TooManyOpenLobbies,
)
from cozykart.services import league
from cozykart.settings import Settings
from tests.unit.fake_uow import FakeDatabase, FakeLeagueRepository, FakeSeasonsRepository, FakeUnitOfWork

ADMIN_DISCORD_ID = "900000000000000001"
T0 = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)


@dataclass
class FakeLeague:
    """An admin, a host and racers on a fake database, with a clock every call moves on."""

    database: FakeDatabase = field(default_factory=FakeDatabase)
    settings: Settings = field(
        default_factory=lambda: Settings(db_url="memory://", admin_discord_ids=frozenset({ADMIN_DISCORD_ID}))
    )
    now: datetime = T0
    admin_id: int = 0
    host_id: int = 0
    racer_ids: list[int] = field(default_factory=list)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.database, settings=self.settings)

    def clock(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def kw(self, actor_id: int) -> dict:
        return {"actor_id": actor_id, "uow": self.uow(), "now": self.clock()}

    def kw_no_now(self, actor_id: int) -> dict:
        return {"actor_id": actor_id, "uow": self.uow()}

    def racer(self, name: str, *, host: bool = False, discord_id: str | None = None) -> int:
        view = league.get_or_create_racer(discord_id or f"d-{name}", name, name.title(), None, uow=self.uow())
        self.database.tables.racers[view.racer_id].is_host = host
        return view.racer_id

    def lobby(self, racer_ids, name: str = "Mario Circuit") -> int:
        race = league.open_lobby(name, **self.kw(self.host_id))
        for racer_id in racer_ids:
            league.join_lobby(race.race_id, **self.kw(racer_id))
        return race.race_id

    def live_race(self, racer_ids, name: str = "Mario Circuit") -> int:
        race_id = self.lobby(racer_ids, name)
        league.start_race(race_id, **self.kw(self.host_id))
        return race_id

    def ended_race(self, racer_ids, name: str = "Mario Circuit") -> int:
        race_id = self.live_race(racer_ids, name)
        league.end_race(race_id, **self.kw(self.host_id))
        return race_id

    def events(self, kind: type) -> list:
        return [event for event in self.database.committed_events if isinstance(event, kind)]


def make_league(racer_count: int = 8) -> FakeLeague:
    lg = FakeLeague()
    lg.admin_id = lg.racer("admin", discord_id=ADMIN_DISCORD_ID)
    lg.host_id = lg.racer("host", host=True)
    lg.racer_ids = [lg.racer(f"racer{index}") for index in range(racer_count)]
    return lg


def _placings(view):
    return {entry.racer.racer_id: (entry.position, entry.dnf, entry.points) for entry in view.entries}


def test_a_racer_is_created_once_and_refreshed_from_discord():
    lg = FakeLeague()
    first = league.get_or_create_racer("123", "koopa", "Koopa", None, uow=lg.uow())
    again = league.get_or_create_racer("123", "koopa2", "Koopa Kid", "/a.png", uow=lg.uow())
    assert again.racer_id == first.racer_id
    assert (again.username, again.display_name, again.avatar_url) == ("koopa2", "Koopa Kid", "/a.png")


def test_open_join_start_report_final():
    lg = make_league(3)
    a, b, c = lg.racer_ids
    lobby = league.open_lobby("  Rainbow   Road ", **lg.kw(lg.host_id))
    assert (lobby.name, lobby.status, lobby.racer_count) == ("Rainbow Road", "open", 0)
    for racer_id in (a, b, c):
        view = league.join_lobby(lobby.race_id, **lg.kw(racer_id))
    assert [card.racer_id for card in view.racers] == [a, b, c]
    assert league.racer_lobby(b, uow=lg.uow()).race_id == lobby.race_id

    live = league.start_race(lobby.race_id, **lg.kw(lg.host_id))
    assert live.is_live and live.season_id is not None and live.started_at is not None
    assert league.current_race(uow=lg.uow()).race_id == lobby.race_id
    assert league.racer_lobby(b, uow=lg.uow()) is None
    (started,) = lg.events(RaceStarted)
    assert (started.race_id, started.racer_ids, started.started_at) == (
        lobby.race_id,
        (a, b, c),
        live.started_at,
    )
    # The first start opened a default season, even split.
    season = lg.database.tables.seasons[live.season_id]
    assert season.status == SeasonStatus.ACTIVE and season.split_policy == "even"

    league.report_result(lobby.race_id, 2, **lg.kw(b))
    league.report_result(lobby.race_id, "1st", **lg.kw(a))
    view = league.report_result(lobby.race_id, " 3 ", **lg.kw(c))
    assert view.status == "live" and not view.disputed  # still live: final only once ended
    view = league.end_race(lobby.race_id, **lg.kw(lg.host_id))
    assert view.status == "final" and view.finalized_at is not None
    assert _placings(view) == {a: (1, False, 15), b: (2, False, 12), c: (3, False, 10)}
    with pytest.raises(RaceAlreadyFinal):
        league.report_result(lobby.race_id, 3, **lg.kw(c))
    with pytest.raises(RaceAlreadyFinal):
        league.set_results(lobby.race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
    with pytest.raises(RaceAlreadyFinal):
        league.confirm_results(lobby.race_id, **lg.kw(lg.host_id))
    (finalized,) = lg.events(RaceFinalized)
    outcome = finalized.outcome
    assert outcome.race_id == lobby.race_id and outcome.is_final and outcome.racer_ids == (a, b, c)
    assert {(r.racer_id, r.position, r.points) for r in outcome.results} == {
        (a, 1, 15),
        (b, 2, 12),
        (c, 3, 10),
    }
    assert outcome.split.policy == "even" and finalized.finalized_at == view.finalized_at
    assert league.current_race(uow=lg.uow()) is None


def test_conflicting_reports_are_disputed_until_the_host_rules():
    lg = make_league(4)
    a, b, c, d = lg.racer_ids
    race_id = lg.ended_race([a, b, c, d])
    for racer_id, position in ((a, 1), (b, 1), (c, 3), (d, 4)):
        view = league.report_result(race_id, position, **lg.kw(racer_id))
    assert view.disputed and view.status == "ended" and view.dispute == "two racers claim #1"
    with pytest.raises(InvalidResults, match="conflict"):
        league.confirm_results(race_id, **lg.kw(lg.host_id))
    with pytest.raises(NotTheHost):
        league.set_results(race_id, {a: 2, b: 1, c: 3, d: 4}, **lg.kw(a))
    with pytest.raises(InvalidResults, match="missing"):
        league.set_results(race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
    assert lg.events(RaceFinalized) == []
    view = league.set_results(race_id, {a: 2, b: 1, c: 3, d: "DNF"}, **lg.kw(lg.host_id))
    assert not view.disputed and view.status == "final" and len(lg.events(RaceFinalized)) == 1
    assert _placings(view) == {a: (2, False, 12), b: (1, False, 15), c: (3, False, 10), d: (None, True, 0)}


def test_the_host_confirms_reports_as_they_stand_and_silent_racers_are_dnf_once_acknowledged():
    lg = make_league(3)
    a, b, c = lg.racer_ids
    race_id = lg.ended_race([a, b, c])
    league.report_result(race_id, 2, **lg.kw(a))
    league.report_result(race_id, 1, **lg.kw(b))
    with pytest.raises(ReportsMissing):
        league.confirm_results(race_id, **lg.kw(lg.admin_id))
    assert lg.events(RaceFinalized) == []
    view = league.confirm_results(race_id, missing_acknowledged=True, **lg.kw(lg.admin_id))
    assert _placings(view) == {a: (2, False, 12), b: (1, False, 15), c: (None, True, 0)}


def test_reports_before_the_start_or_in_a_live_race_the_host_cannot_rule_yet():
    lg = make_league(4)
    a, b, c, outsider = lg.racer_ids
    race_id = lg.lobby([a, b, c])
    with pytest.raises(RaceNotStarted):
        league.report_result(race_id, 1, **lg.kw(a))
    league.start_race(race_id, **lg.kw(lg.host_id))
    with pytest.raises(NotAMember):
        league.report_result(race_id, 1, **lg.kw(outsider))
    with pytest.raises(RaceStillLive):
        league.set_results(race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
    with pytest.raises(RaceStillLive):
        league.confirm_results(race_id, **lg.kw(lg.host_id))


def test_an_admin_fix_records_who_changed_what_and_the_ledger_hears_it():
    lg = make_league(3)
    a, b, c = lg.racer_ids
    race_id = lg.ended_race([a, b, c])
    league.set_results(race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
    view = league.admin_fix_result(race_id, c, 1, reason="photo finish", **lg.kw(lg.admin_id))
    assert _placings(view) == {c: (1, False, 15), a: (2, False, 12), b: (3, False, 10)}
    assert {(fix.racer.racer_id, fix.old_position, fix.new_position) for fix in view.fixes} == {
        (c, 3, 1),
        (a, 1, 2),
        (b, 2, 3),
    }
    (corrected,) = lg.events(ResultsCorrected)
    assert corrected.reason == "photo finish" and set(corrected.fix_ids) == {fix.fix_id for fix in view.fixes}


def test_cancel_closes_a_lobby_for_good():
    lg = make_league(2)
    a, b = lg.racer_ids
    race_id = lg.lobby([a])
    with pytest.raises(NotTheHost):
        league.cancel_lobby(race_id, **lg.kw_no_now(a))
    view = league.cancel_lobby(race_id, **lg.kw_no_now(lg.host_id))
    assert view.status == RaceStatus.CANCELLED
    assert league.list_open_lobbies(uow=lg.uow()) == ()
    with pytest.raises(RaceCancelled):
        league.join_lobby(race_id, **lg.kw(b))
    with pytest.raises(RaceCancelled):
        league.start_race(race_id, **lg.kw(lg.admin_id))
    with pytest.raises(RaceCancelled):
        league.report_result(race_id, 1, **lg.kw(a))
    with pytest.raises(LobbyNotOpen):
        league.cancel_lobby(race_id, **lg.kw_no_now(lg.host_id))


def test_racers_leave_a_lobby_before_it_starts():
    lg = make_league(3)
    a, b, c = lg.racer_ids
    race_id = lg.lobby([a, b, c])
    view = league.leave_lobby(race_id, **lg.kw_no_now(a))
    assert [card.racer_id for card in view.racers] == [b, c]
    with pytest.raises(NotAMember):
        league.leave_lobby(race_id, **lg.kw_no_now(a))
    view = league.leave_current_lobby(**lg.kw_no_now(b))
    assert [card.racer_id for card in view.racers] == [c]
    with pytest.raises(NotInLobby):
        league.leave_current_lobby(**lg.kw_no_now(b))
    assert league.racer_lobby(a, uow=lg.uow()) is None
    lobbies = league.list_open_lobbies(uow=lg.uow())
    assert [(lobby.race_id, lobby.racer_count) for lobby in lobbies] == [(race_id, 1)]


def test_one_race_is_live_at_a_time():
    lg = make_league(4)
    first = lg.live_race(lg.racer_ids[:2], "First Cup")
    second = lg.lobby(lg.racer_ids[2:], "Second Cup")
    with pytest.raises(RaceAlreadyLive, match="First Cup"):
        league.start_race(second, **lg.kw(lg.admin_id))
    with pytest.raises(RaceAlreadyLive):
        league.start_race(first, **lg.kw(lg.host_id))
    with pytest.raises(LobbyNotOpen):
        league.join_lobby(first, **lg.kw(lg.racer_ids[2]))
    assert league.get_race(second, uow=lg.uow()).status == RaceStatus.OPEN  # the refusal changed nothing
    league.end_race(first, **lg.kw(lg.host_id))
    with pytest.raises(RaceNotLive):
        league.end_race(first, **lg.kw(lg.host_id))
    with pytest.raises(NoLiveRace):
        league.end_live_race(**lg.kw(lg.host_id))
    started = league.start_race(second, **lg.kw(lg.admin_id))
    assert started.is_live
    assert started.started_at >= league.get_race(first, uow=lg.uow()).ended_at  # windows never overlap
    assert league.end_live_race(**lg.kw(lg.host_id)).status == RaceStatus.ENDED


def test_only_the_lobbys_host_or_an_admin_runs_it():
    lg = make_league(3)
    a, b, _ = lg.racer_ids
    with pytest.raises(PermissionDenied):
        league.open_lobby("Mine", **lg.kw(a))
    race_id = lg.lobby([a, b])
    second_host = lg.racer("host2", host=True)
    with pytest.raises(NotTheHost):
        league.start_race(race_id, **lg.kw(second_host))
    with pytest.raises(NotTheHost):
        league.start_race(race_id, **lg.kw(a))
    with pytest.raises(NotTheHost):
        league.cancel_lobby(race_id, **lg.kw_no_now(second_host))
    assert league.start_race(race_id, **lg.kw(lg.admin_id)).is_live
    with pytest.raises(NotTheHost):
        league.end_race(race_id, **lg.kw(second_host))


def test_lobby_limits():
    lg = make_league(9)
    with pytest.raises(RaceNotFound):
        league.join_lobby(999, **lg.kw(lg.racer_ids[0]))
    spares = [
        league.open_lobby(f"Spare {i}", **lg.kw(lg.host_id)).race_id for i in range(OPEN_LOBBY_COUNT_MAX)
    ]
    with pytest.raises(TooManyOpenLobbies):
        league.open_lobby("One too many", **lg.kw(lg.host_id))
    for race_id in spares:
        league.cancel_lobby(race_id, **lg.kw_no_now(lg.host_id))

    race_id = lg.lobby(lg.racer_ids[:8])
    with pytest.raises(LobbyFull, match="full"):
        league.join_lobby(race_id, **lg.kw(lg.racer_ids[8]))
    with pytest.raises(AlreadyInLobby):
        league.join_lobby(race_id, **lg.kw(lg.racer_ids[0]))
    other = league.open_lobby("Other", **lg.kw(lg.admin_id))
    with pytest.raises(AlreadyInLobby, match="Mario Circuit"):
        league.join_lobby(other.race_id, **lg.kw(lg.racer_ids[0]))
    with pytest.raises(LobbyTooSmall):
        league.start_race(other.race_id, **lg.kw(lg.admin_id))
    assert league.get_race(race_id, uow=lg.uow()).racer_count == 8


def test_a_refused_use_case_leaves_nothing_behind():
    lg = make_league(2)
    a, b = lg.racer_ids
    race_id = lg.lobby([a, b])
    before = league.get_race(race_id, uow=lg.uow())
    with pytest.raises(NotTheHost):
        league.start_race(race_id, **lg.kw(a))
    assert league.get_race(race_id, uow=lg.uow()) == before
    assert lg.events(RaceStarted) == [] and lg.database.tables.seasons == {}


def test_a_start_that_fails_after_the_race_went_live_leaves_the_lobby_open(monkeypatch):
    lg = make_league(2)
    race_id = lg.lobby(lg.racer_ids)

    def no_season(*args, **kwargs):
        raise RuntimeError("the season could not be opened")

    monkeypatch.setattr(league, "_active_season_or_default", no_season)
    with pytest.raises(RuntimeError):
        league.start_hosted_race(None, **lg.kw(lg.host_id))
    view = league.get_race(race_id, uow=lg.uow())
    assert view.status == RaceStatus.OPEN and view.started_at is None
    assert league.current_race(uow=lg.uow()) is None and lg.events(RaceStarted) == []


@pytest.mark.parametrize(
    ("fake_class", "real_class"),
    [(FakeLeagueRepository, LeagueRepository), (FakeSeasonsRepository, SeasonsRepository)],
    ids=["league", "seasons"],
)
def test_the_fake_repositories_have_only_the_real_ones_methods(fake_class, real_class):
    fake = {name for name in vars(fake_class) if not name.startswith("_")} - {"t"}
    assert fake and all(callable(getattr(real_class, name, None)) for name in fake), sorted(
        name for name in fake if not hasattr(real_class, name)
    )

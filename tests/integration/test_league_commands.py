"""The slash commands' league services: each chooses its race and acts on it in one transaction.

`/join`, `/leave`, `/start`, `/end`, `/result` and `/admin-fix` name no race
(or only optionally); the league chooses it inside the same unit of work that
acts, commits once, and a failure after the choice leaves nothing half done.
The results desk's `apply_admin_fix` is one transaction too.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from cozykart.db.ledger_tables import LedgerTransaction
from cozykart.db.tables import ResultFix
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import (
    NoLiveRace,
    NoLobbyToStart,
    NoOpenLobby,
    NoRaceToReport,
    NotARacerYet,
    NotInLobby,
    RaceStatus,
    WhichLobby,
)
from cozykart.domain.ledger import TransactionKind
from cozykart.services import league, ledger, results_admin, seasons
from tests.integration.league_support import make_league, make_racer


@pytest.fixture
def commits(monkeypatch) -> list[UnitOfWork]:
    """Every transaction committed (an outermost `uow.commit()`), in order."""
    committed: list[UnitOfWork] = []
    real_commit = UnitOfWork.commit

    def counting_commit(self: UnitOfWork) -> None:
        if not self.is_joined:
            committed.append(self)
        real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", counting_commit)
    return committed


def _status(database, race_id: int) -> str:
    return league.get_race(race_id, uow=database.uow()).status


def test_join_takes_the_only_open_lobby_or_the_one_named(database, commits):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    with pytest.raises(NoOpenLobby):
        league.join_chosen_lobby(None, **lg.kw(a))
    first = league.open_lobby("Mario Circuit", **lg.kw(lg.host_id)).race_id
    commits.clear()
    joined = league.join_chosen_lobby(None, **lg.kw(a))
    assert joined.race_id == first and joined.entry_of(a) is not None
    assert len(commits) == 1
    second = league.open_lobby("Rainbow Road", **lg.kw(lg.host_id)).race_id
    with pytest.raises(WhichLobby, match=rf"#{first} Mario Circuit, #{second} Rainbow Road"):
        league.join_chosen_lobby(None, **lg.kw(b))
    assert league.join_chosen_lobby(second, **lg.kw(b)).entry_of(b) is not None
    assert league.racer_lobby(c, uow=database.uow()) is None


def test_leave_leaves_the_racers_own_lobby(database, commits):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    with pytest.raises(NotInLobby):
        league.leave_current_lobby(**lg.kw_no_now(a))
    race_id = lg.lobby([a, b])
    commits.clear()
    left = league.leave_current_lobby(**lg.kw_no_now(a))
    assert left.race_id == race_id and left.entry_of(a) is None and left.entry_of(b) is not None
    assert len(commits) == 1


def test_start_starts_the_one_lobby_the_host_hosts(database, commits):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    other_host = make_racer(database, "otherhost", host=True)
    with pytest.raises(NoLobbyToStart):
        league.start_hosted_race(None, **lg.kw(lg.host_id))
    theirs = league.open_lobby("Their lobby", **lg.kw(other_host)).race_id
    league.join_chosen_lobby(theirs, **lg.kw(c))
    league.join_chosen_lobby(theirs, **lg.kw(d))
    with pytest.raises(NoLobbyToStart):
        league.start_hosted_race(None, **lg.kw(lg.host_id))  # another host's lobby is not ours to start
    ours = lg.lobby([a, b])
    commits.clear()
    started = league.start_hosted_race(None, **lg.kw(lg.host_id))
    assert started.race_id == ours and started.status == RaceStatus.LIVE
    assert len(commits) == 1
    assert _status(database, theirs) == RaceStatus.OPEN


def test_start_asks_which_when_the_host_hosts_several_lobbies(database):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    first = lg.lobby([a, b], "Mario Circuit")
    second = lg.lobby([c, d], "Rainbow Road")
    with pytest.raises(WhichLobby, match=rf"#{first} Mario Circuit, #{second} Rainbow Road"):
        league.start_hosted_race(None, **lg.kw(lg.host_id))
    assert league.start_hosted_race(second, **lg.kw(lg.host_id)).race_id == second
    assert _status(database, first) == RaceStatus.OPEN


def test_a_start_that_fails_after_the_lobby_was_chosen_leaves_it_open(database, monkeypatch):
    lg = make_league(database, 2)
    race_id = lg.lobby(lg.racer_ids)

    def no_season(*args, **kwargs):
        raise RuntimeError("the season could not be opened")

    monkeypatch.setattr(league, "_active_season_or_default", no_season)
    with pytest.raises(RuntimeError):
        league.start_hosted_race(None, **lg.kw(lg.host_id))
    view = league.get_race(race_id, uow=database.uow())
    assert view.status == RaceStatus.OPEN and view.started_at is None
    assert league.current_race(uow=database.uow()) is None


def test_end_ends_the_live_race(database, commits):
    lg = make_league(database, 2)
    with pytest.raises(NoLiveRace):
        league.end_live_race(**lg.kw(lg.host_id))
    race_id = lg.live_race(lg.racer_ids)
    commits.clear()
    ended = league.end_live_race(**lg.kw(lg.host_id))
    assert ended.race_id == race_id and ended.status == RaceStatus.ENDED
    assert len(commits) == 1


def test_result_goes_to_the_racers_newest_unfinished_race(database, commits):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    with pytest.raises(NoRaceToReport):
        league.report_for_unfinished_race("1", **lg.kw(a))
    lg.lobby([a, b])
    with pytest.raises(NoRaceToReport):
        league.report_for_unfinished_race("1", **lg.kw(a))  # a lobby takes no reports
    league.start_hosted_race(None, **lg.kw(lg.host_id))
    first = league.end_live_race(**lg.kw(lg.host_id)).race_id
    second = lg.live_race([a, c])
    commits.clear()
    reported = league.report_for_unfinished_race("2", **lg.kw(a))
    assert reported.race_id == second and reported.entry_of(a).reported_position == 2
    assert len(commits) == 1
    assert league.report_for_unfinished_race("DNF", **lg.kw(b)).race_id == first
    with pytest.raises(NoRaceToReport):
        league.report_for_unfinished_race("1", **lg.kw(d))


def test_admin_fix_by_discord_user_finds_the_racer_and_fixes_in_one_transaction(database, commits):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    race = lg.final_race([a, b])
    with pytest.raises(NotARacerYet):
        league.admin_fix_discord_result(race.race_id, "123456789", "1", reason="appeal", **lg.kw(lg.admin_id))
    commits.clear()
    fixed, racer_id = league.admin_fix_discord_result(
        race.race_id, "d-racer1", "1", reason="appeal", **lg.kw(lg.admin_id)
    )
    assert racer_id == b and fixed.entry_of(b).position == 1 and fixed.entry_of(a).position == 2
    assert len(commits) == 1


def _race_with_a_pot(lg, order) -> int:
    """A final race of `order` (best first) in a winner-bonus season, during which a $30.00 hoodie sold."""
    cup = seasons.create_season(
        "Bonus Cup",
        starts_on=lg.clock().date(),
        ends_on=lg.clock().date(),
        split_policy="winner_bonus",
        winner_bonus_bps=5000,
        **lg.kw(lg.admin_id),
    )
    seasons.activate_season(cup.season_id, **lg.kw(lg.admin_id))
    race_id = lg.live_race(order)
    ledger.record_sale(
        key=f"pi_{race_id}",
        gross_cents=3000,
        sold_at=lg.clock(),
        item="Cozy hoodie",
        uow=lg.database.uow(lg.settings),
    )
    league.end_live_race(**lg.kw(lg.host_id))
    league.set_results(race_id, {r: n for n, r in enumerate(order, start=1)}, **lg.kw(lg.host_id))
    return race_id


def _corrections(database, race_id: int) -> list:
    with database.uow() as uow:
        return list(
            uow.session.exec(
                select(LedgerTransaction).where(
                    LedgerTransaction.race_id == race_id,
                    LedgerTransaction.kind == str(TransactionKind.RESULT_CORRECTION),
                )
            )
        )


def test_apply_admin_fix_commits_the_fix_and_its_money_once(database, commits):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    race_id = _race_with_a_pot(lg, [a, b, c, d])
    commits.clear()
    outcome = results_admin.apply_admin_fix(race_id, str(d), "1", reason="disconnect", **lg.kw(lg.admin_id))
    assert len(commits) == 1
    assert outcome.race.entry_of(d).position == 1
    assert outcome.moved_cents and sum(outcome.moved_cents.values()) == 0
    assert len(_corrections(database, race_id)) == 1


def test_apply_admin_fix_failing_after_the_fix_leaves_nothing_half_done(database, monkeypatch):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    race_id = _race_with_a_pot(lg, [a, b, c, d])

    def broken_read(*args, **kwargs):
        raise RuntimeError("the pot could not be read")

    monkeypatch.setattr(results_admin, "_pot_held_cents", broken_read)
    with pytest.raises(RuntimeError):
        results_admin.apply_admin_fix(race_id, str(d), "1", reason="disconnect", **lg.kw(lg.admin_id))
    view = league.get_race(race_id, uow=database.uow())
    assert [view.entry_of(racer).position for racer in (a, b, c, d)] == [1, 2, 3, 4]
    with database.uow() as uow:
        assert uow.session.exec(select(ResultFix)).all() == []
    assert _corrections(database, race_id) == []
    monkeypatch.undo()
    outcome = results_admin.apply_admin_fix(race_id, str(d), "1", reason="disconnect", **lg.kw(lg.admin_id))
    assert outcome.moved_cents and len(_corrections(database, race_id)) == 1  # the same fix, whole, once

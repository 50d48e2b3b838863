"""Results: racers report, conflicts are disputed, hosts rule, admins fix; the ledger hears once."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from cozykart.db.tables import ResultFix
from cozykart.domain.errors import PermissionDenied
from cozykart.domain.events import RaceFinalized, ResultsCorrected
from cozykart.domain.league import (
    InvalidPosition,
    InvalidResults,
    NotAMember,
    NothingToFix,
    NotTheHost,
    RaceAlreadyFinal,
    RaceCancelled,
    RaceNotFinal,
    RaceNotStarted,
    RaceStillLive,
    ReasonRequired,
    ReportsMissing,
)
from cozykart.services import league, seasons
from cozykart.services.reads import standings
from tests.integration.league_support import make_league, make_racer, recording


def _placings(view):
    return {entry.racer.racer_id: (entry.position, entry.dnf, entry.points) for entry in view.entries}


def test_complete_reports_make_the_race_final_once(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    race_id = lg.live_race([a, b, c])
    with recording(lg, RaceFinalized) as events:
        league.report_result(race_id, 2, **lg.kw(b))
        league.report_result(race_id, "1st", **lg.kw(a))
        view = league.report_result(race_id, " 3 ", **lg.kw(c))
        assert view.status == "live" and not view.disputed  # still live: final only once ended
        view = league.end_race(race_id, **lg.kw(lg.host_id))
        assert events and view.status == "final"
        with pytest.raises(RaceAlreadyFinal):
            league.report_result(race_id, 3, **lg.kw(c))
        with pytest.raises(RaceAlreadyFinal):
            league.set_results(race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
        with pytest.raises(RaceAlreadyFinal):
            league.confirm_results(race_id, **lg.kw(lg.host_id))
    assert _placings(view) == {a: (1, False, 15), b: (2, False, 12), c: (3, False, 10)}
    assert len(events) == 1
    outcome = events[0].outcome
    assert outcome.race_id == race_id and outcome.is_final and outcome.racer_ids == tuple(sorted([a, b, c]))
    assert {(r.racer_id, r.position, r.points) for r in outcome.results} == {
        (a, 1, 15),
        (b, 2, 12),
        (c, 3, 10),
    }
    assert outcome.split.policy == "even"
    assert events[0].finalized_at == view.finalized_at


def test_reports_after_the_end_confirm_and_racers_may_correct_until_final(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    race_id = lg.ended_race([a, b, c])
    league.report_result(race_id, 1, **lg.kw(a))
    league.report_result(race_id, 1, **lg.kw(b))  # b typed the wrong place...
    view = league.get_race(race_id, uow=database.uow())
    assert view.disputed and view.dispute == "two racers claim #1"
    view = league.report_result(race_id, 2, **lg.kw(b))  # ... and corrects it
    assert not view.disputed and view.status == "ended"
    assert view.entry_of(b).reported_position == 2
    view = league.report_result(race_id, "dnf", **lg.kw(c))
    assert view.status == "final"
    assert _placings(view) == {a: (1, False, 15), b: (2, False, 12), c: (None, True, 0)}


def test_conflicting_claims_are_disputed_until_the_host_rules(database):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    race_id = lg.ended_race([a, b, c, d])
    with recording(lg, RaceFinalized) as events:
        for racer_id, position in ((a, 1), (b, 1), (c, 3), (d, 4)):
            view = league.report_result(race_id, position, **lg.kw(racer_id))
        assert view.disputed and view.status == "ended"
        with pytest.raises(InvalidResults, match="conflict"):
            league.confirm_results(race_id, **lg.kw(lg.host_id))
        with pytest.raises(NotTheHost):
            league.set_results(race_id, {a: 2, b: 1, c: 3, d: 4}, **lg.kw(a))
        with pytest.raises(InvalidResults, match="two racers claim #1"):
            league.set_results(race_id, {a: 1, b: 1, c: 3, d: 4}, **lg.kw(lg.host_id))
        with pytest.raises(InvalidResults, match="nobody finished #3"):
            league.set_results(race_id, {a: 1, b: 2, c: 4, d: "dnf"}, **lg.kw(lg.host_id))
        with pytest.raises(InvalidResults, match="missing"):
            league.set_results(race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
        stranger = make_racer(database, "stranger")
        with pytest.raises(InvalidResults, match="did not race"):
            league.set_results(race_id, {a: 1, b: 2, c: 3, d: 4, stranger: 5}, **lg.kw(lg.host_id))
        with pytest.raises(InvalidPosition):
            league.set_results(race_id, {a: 1, b: 2, c: 3, d: 5}, **lg.kw(lg.host_id))
        assert events == []
        view = league.set_results(race_id, {a: 2, b: 1, c: 3, d: "DNF"}, **lg.kw(lg.host_id))
    assert not view.disputed and view.status == "final" and len(events) == 1
    assert _placings(view) == {a: (2, False, 12), b: (1, False, 15), c: (3, False, 10), d: (None, True, 0)}


def test_host_confirms_reports_as_they_stand_and_silent_racers_are_dnf_only_when_acknowledged(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    race_id = lg.ended_race([a, b, c])
    league.report_result(race_id, 2, **lg.kw(a))
    league.report_result(race_id, 1, **lg.kw(b))
    with pytest.raises(ReportsMissing, match=r"1 racer.*have not reported") as refused:
        league.confirm_results(race_id, **lg.kw(lg.admin_id))
    silent = league.get_race(race_id, uow=database.uow()).entry_of(c)
    assert silent is not None and silent.racer.name in refused.value.message
    assert league.get_race(race_id, uow=database.uow()).status == "ended"
    view = league.confirm_results(race_id, missing_acknowledged=True, **lg.kw(lg.admin_id))
    assert _placings(view) == {a: (2, False, 12), b: (1, False, 15), c: (None, True, 0)}


def test_report_refusals(database):
    lg = make_league(database, 4)
    a, b, c, outsider = lg.racer_ids
    race_id = lg.lobby([a, b, c])
    with pytest.raises(RaceNotStarted):
        league.report_result(race_id, 1, **lg.kw(a))
    league.start_race(race_id, **lg.kw(lg.host_id))
    with pytest.raises(NotAMember):
        league.report_result(race_id, 1, **lg.kw(outsider))
    for bad in (0, 4, -1, "abc", "1.5", "", "²", True, 2.0, None, "first"):
        with pytest.raises(InvalidPosition):
            league.report_result(race_id, bad, **lg.kw(a))
    with pytest.raises(RaceStillLive):
        league.set_results(race_id, {a: 1, b: 2, c: 3}, **lg.kw(lg.host_id))
    with pytest.raises(RaceStillLive):
        league.confirm_results(race_id, **lg.kw(lg.host_id))
    with pytest.raises(RaceNotFinal):
        league.fix_results(race_id, {a: 1}, reason="typo", **lg.kw(lg.admin_id))
    cancelled = lg.lobby([outsider], "Never")
    league.cancel_lobby(cancelled, **lg.kw_no_now(lg.host_id))
    with pytest.raises(RaceCancelled):
        league.report_result(cancelled, 1, **lg.kw(outsider))


def test_finalisation_is_exactly_once_under_concurrent_reports(database):
    lg = make_league(database, 8)
    race_id = lg.ended_race(lg.racer_ids)
    barrier = threading.Barrier(len(lg.racer_ids))
    errors: list[BaseException] = []

    def report(position: int, racer_id: int) -> None:
        barrier.wait()
        try:
            league.report_result(race_id, position, **lg.kw_no_now(racer_id))
        except BaseException as error:  # noqa: BLE001 - surfaced below
            errors.append(error)

    with recording(lg, RaceFinalized) as events:
        threads = [
            threading.Thread(target=report, args=(position, racer_id))
            for position, racer_id in enumerate(lg.racer_ids, start=1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert [event.outcome.race_id for event in events] == [race_id]
    view = league.get_race(race_id, uow=database.uow())
    assert view.status == "final"
    assert [entry.points for entry in view.entries] == [15, 12, 10, 8, 6, 4, 2, 1]


def test_admin_fix_keeps_an_audit_trail_and_standings_follow(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    view = lg.final_race([a, b, c])
    race_id = view.race_id
    with pytest.raises(PermissionDenied):
        league.fix_results(race_id, {a: 2, b: 1}, reason="video", **lg.kw(lg.host_id))
    with pytest.raises(ReasonRequired):
        league.fix_results(race_id, {a: 2, b: 1}, reason="   ", **lg.kw(lg.admin_id))
    with pytest.raises(InvalidResults):
        league.fix_results(race_id, {a: 2}, reason="video", **lg.kw(lg.admin_id))
    with pytest.raises(NothingToFix):
        league.fix_results(race_id, {a: 1}, reason="video", **lg.kw(lg.admin_id))

    with recording(lg, ResultsCorrected, RaceFinalized) as events:
        fixed = league.fix_results(race_id, {a: 2, b: 1}, reason="Replay shows b first", **lg.kw(lg.admin_id))
    assert len(events) == 1 and isinstance(events[0], ResultsCorrected)
    corrected = events[0]
    assert corrected.reason == "Replay shows b first" and len(corrected.fix_ids) == 2
    assert {(r.racer_id, r.position, r.points) for r in corrected.outcome.results} == {
        (a, 2, 12),
        (b, 1, 15),
        (c, 3, 10),
    }
    assert [(f.racer.racer_id, f.old_position, f.new_position, f.actor.racer_id) for f in fixed.fixes] == [
        (a, 1, 2, lg.admin_id),
        (b, 2, 1, lg.admin_id),
    ]
    assert all(
        f.reason == "Replay shows b first" and f.created_at == corrected.corrected_at for f in fixed.fixes
    )
    rows = standings.season_standings(uow=database.uow()).rows
    assert [(row.racer.racer_id, row.points, row.wins) for row in rows] == [
        (b, 15, 1),
        (a, 12, 0),
        (c, 10, 0),
    ]


def test_single_admin_fix_moves_a_racer_and_shifts_the_others(database):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    race_id = lg.ended_race([a, b, c, d])
    league.set_results(race_id, {a: 1, b: 2, c: 3, d: "dnf"}, **lg.kw(lg.host_id))
    view = league.admin_fix_result(race_id, d, 1, reason="DNF was a disconnect", **lg.kw(lg.admin_id))
    assert _placings(view) == {d: (1, False, 15), a: (2, False, 12), b: (3, False, 10), c: (4, False, 8)}
    assert len(view.fixes) == 4
    view = league.admin_fix_result(race_id, a, "DNF", reason="Shortcut abuse", **lg.kw(lg.admin_id))
    assert _placings(view) == {d: (1, False, 15), b: (2, False, 12), c: (3, False, 10), a: (None, True, 0)}
    view = league.admin_fix_result(race_id, c, "dnf", reason="Left early", **lg.kw(lg.admin_id))
    assert len(view.fixes) == 8
    with pytest.raises(InvalidResults, match="pick a position from 1 to 3"):
        league.admin_fix_result(race_id, a, 4, reason="x", **lg.kw(lg.admin_id))
    with pytest.raises(NothingToFix):
        league.admin_fix_result(race_id, d, 1, reason="x", **lg.kw(lg.admin_id))
    with database.uow() as uow:
        assert len(uow.session.exec(select(ResultFix)).all()) == 8


def test_fixes_of_a_closed_season_are_refused(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    view = lg.final_race([a, b])
    seasons.close_season(view.season_id, **lg.kw(lg.admin_id))
    from cozykart.domain.league import SeasonClosed

    with pytest.raises(SeasonClosed):
        league.admin_fix_result(view.race_id, b, 1, reason="late appeal", **lg.kw(lg.admin_id))


def test_slash_commands_find_the_race_a_racer_or_host_means(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    assert league.racer_unfinished_race(a, uow=database.uow()) is None
    assert league.hosted_race(lg.host_id, uow=database.uow()) is None
    race_id = lg.lobby([a, b])
    assert league.hosted_race(lg.host_id, uow=database.uow()).race_id == race_id
    assert league.racer_unfinished_race(a, uow=database.uow()) is None  # still a lobby
    league.start_race(race_id, **lg.kw(lg.host_id))
    assert league.racer_unfinished_race(a, uow=database.uow()).race_id == race_id
    league.end_race(race_id, **lg.kw(lg.host_id))
    assert league.racer_unfinished_race(b, uow=database.uow()).status == "ended"
    league.set_results(race_id, {a: 1, b: 2}, **lg.kw(lg.host_id))
    assert league.racer_unfinished_race(a, uow=database.uow()) is None
    assert league.hosted_race(lg.host_id, uow=database.uow()) is None

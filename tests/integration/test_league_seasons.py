"""Seasons: create, activate, close with a champion; standings, chart and profiles."""

from __future__ import annotations

from datetime import date

import pytest

from cozykart.domain.errors import PermissionDenied
from cozykart.domain.league import (
    InvalidPointsTable,
    InvalidSeason,
    InvalidSplitPolicy,
    SeasonAlreadyActive,
    SeasonClosed,
    SeasonHasUnfinishedRaces,
    SeasonNameTaken,
    SeasonNotActive,
    SeasonNotFound,
)
from cozykart.services import identity, league, seasons
from cozykart.services.reads import standings
from tests.integration.league_support import make_league

SPRING = {"starts_on": date(2026, 3, 1), "ends_on": date(2026, 5, 31)}


def test_create_season_validates_and_only_admins_may(database):
    lg = make_league(database, 0)
    with pytest.raises(PermissionDenied):
        seasons.create_season("Spring", **SPRING, **lg.kw(lg.host_id))
    bad = [
        ({"points_table": [1, 2, 3]}, InvalidPointsTable),
        ({"points_table": [15, -1]}, InvalidPointsTable),
        ({"points_table": list(range(9, 0, -1))}, InvalidPointsTable),
        ({"points_table": {"9": [1]}}, InvalidPointsTable),
        ({"points_table": {"two": [1]}}, InvalidPointsTable),
        ({"points_table": {"2": [3, 2, 1]}}, InvalidPointsTable),
        ({"split_policy": "random"}, InvalidSplitPolicy),
        ({"split_policy": "winner_bonus", "winner_bonus_bps": 10_001}, InvalidSplitPolicy),
        ({"sponsor_url": "javascript:alert(1)"}, InvalidSeason),
    ]
    for extra, error in bad:
        with pytest.raises(error):
            seasons.create_season("Spring", **SPRING, **extra, **lg.kw(lg.admin_id))
    with pytest.raises(InvalidSeason):
        seasons.create_season(
            "Backwards", starts_on=date(2026, 5, 1), ends_on=date(2026, 4, 1), **lg.kw(lg.admin_id)
        )
    with pytest.raises(InvalidSeason):
        seasons.create_season("  ", **SPRING, **lg.kw(lg.admin_id))

    season = seasons.create_season(
        "Spring",
        **SPRING,
        sponsor_name="Koopa Kola",
        sponsor_logo_url="/sponsor/koopa.svg",
        sponsor_url="https://example.org/koopa",
        points_table={"default": [25, 18, 15, 12, 10, 8, 6, 4], "2": [10, 5]},
        split_policy="winner_bonus",
        winner_bonus_bps=6000,
        **lg.kw(lg.admin_id),
    )
    assert season.status == "upcoming" and season.sponsor_name == "Koopa Kola"
    assert season.points_table.row_for(2) == (10, 5) and season.points_table.row_for(8)[0] == 25
    with pytest.raises(SeasonNameTaken):
        seasons.create_season("Spring", **SPRING, **lg.kw(lg.admin_id))
    assert seasons.get_season(season.season_id, uow=database.uow()) == season
    with pytest.raises(SeasonNotFound):
        seasons.get_season(999, uow=database.uow())


def test_activate_one_at_a_time_and_races_use_its_table_and_split(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    spring = seasons.create_season(
        "Spring", **SPRING, points_table={"2": [10, 5]}, split_policy="by_points", **lg.kw(lg.admin_id)
    )
    summer = seasons.create_season("Summer", **SPRING, **lg.kw(lg.admin_id))
    with pytest.raises(PermissionDenied):
        seasons.activate_season(spring.season_id, **lg.kw(lg.host_id))
    seasons.activate_season(spring.season_id, **lg.kw(lg.admin_id))
    with pytest.raises(SeasonAlreadyActive, match="Spring"):
        seasons.activate_season(summer.season_id, **lg.kw(lg.admin_id))
    with pytest.raises(SeasonAlreadyActive):
        seasons.activate_season(spring.season_id, **lg.kw(lg.admin_id))
    assert seasons.active_season(uow=database.uow()).name == "Spring"

    from cozykart.domain.events import RaceFinalized
    from tests.integration.league_support import recording

    with recording(lg, RaceFinalized) as events:
        view = lg.final_race([b, a])
    assert view.season_id == spring.season_id
    assert [(e.racer.racer_id, e.points) for e in view.entries] == [(b, 10), (a, 5)]
    assert events[0].outcome.split.policy == "by_points"
    assert events[0].outcome.season_id == spring.season_id


def test_close_crowns_the_champion_and_freezes_the_standings(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    lg.final_race([a, b, c], "One")
    lg.final_race([b, a, c], "Two")
    lg.final_race([a, c, b], "Three")
    season_id = seasons.active_season(uow=database.uow()).season_id
    with pytest.raises(SeasonNotActive):
        upcoming = seasons.create_season("Later", **SPRING, **lg.kw(lg.admin_id))
        seasons.close_season(upcoming.season_id, **lg.kw(lg.admin_id))
    unfinished = lg.ended_race([a, b], "Unfinished")
    with pytest.raises(SeasonHasUnfinishedRaces, match="Unfinished"):
        seasons.close_season(season_id, **lg.kw(lg.admin_id))
    with pytest.raises(PermissionDenied):
        seasons.close_season(season_id, **lg.kw(lg.host_id))
    league.set_results(unfinished, {a: 2, b: 1}, **lg.kw(lg.host_id))

    closed = seasons.close_season(season_id, **lg.kw(lg.admin_id))
    assert closed.status == "closed" and closed.champion.racer_id == a
    with pytest.raises(SeasonClosed):
        seasons.close_season(season_id, **lg.kw(lg.admin_id))
    with pytest.raises(SeasonClosed):
        seasons.activate_season(season_id, **lg.kw(lg.admin_id))
    with pytest.raises(SeasonClosed):
        seasons.rebuild_standings(season_id, uow=database.uow())

    # The next race opens a new default season; the closed one stays in the archive.
    next_race = lg.final_race([c, b, a], "Next")
    assert next_race.season_id != season_id
    listed = seasons.list_seasons(uow=database.uow())
    assert [s.status for s in listed] == ["active", "upcoming", "closed"]
    frozen = standings.season_standings(season_id, uow=database.uow())
    assert frozen.is_frozen and frozen.season.champion.racer_id == a
    assert [(row.rank, row.racer.racer_id, row.points) for row in frozen.rows] == [
        (1, a, 15 + 12 + 15 + 12),
        (2, b, 12 + 15 + 10 + 15),
        (3, c, 10 + 10 + 12),
    ]
    assert standings.season_standings(uow=database.uow()).season.season_id == next_race.season_id


def test_standings_rows_chart_and_profile(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    first = lg.final_race([a, b, c], "One")
    lg.ended_race([a, b, c], "Two")
    race_two = league.list_races(uow=database.uow(), statuses=["ended"])[0].race_id
    league.set_results(race_two, {b: 1, a: "dnf", c: 2}, **lg.kw(lg.host_id))
    view = standings.season_standings(uow=database.uow())
    assert view.racer_count == 3
    rows = [
        (r.rank, r.racer.racer_id, r.points, r.wins, r.races, r.podiums, r.average_finish) for r in view.rows
    ]
    assert rows == [(1, b, 27, 1, 2, 2, 1.5), (2, c, 22, 0, 2, 2, 2.5), (3, a, 15, 1, 2, 1, 1.0)]
    top = standings.season_standings(uow=database.uow(), limit=1)
    assert len(top.rows) == 1 and top.racer_count == 3

    chart = standings.points_chart(uow=database.uow(), top=2)
    assert [series.racer.racer_id for series in chart] == [b, c]
    assert [(p.race_name, p.points_total) for p in chart[0].points] == [("One", 12), ("Two", 27)]

    profile = standings.racer_profile(a, uow=database.uow())
    assert profile.career.races == 2 and profile.career.wins == 1 and profile.career.average_finish == 1.0
    assert [(h.race_name, h.position, h.dnf, h.points, h.racer_count) for h in profile.history] == [
        ("Two", None, True, 0, 3),
        ("One", 1, False, 15, 3),
    ]
    assert profile.seasons[0].rank == 3 and profile.trophies == ()
    seasons.close_season(first.season_id, **lg.kw(lg.admin_id))
    trophies = standings.racer_profile(b, uow=database.uow()).trophies
    assert [(t.rank, t.is_champion) for t in trophies] == [(1, True)]
    assert standings.racer_profile(a, uow=database.uow()).trophies[0].rank == 3


def test_no_season_means_no_standings(database):
    assert standings.season_standings(uow=database.uow()) is None
    assert standings.points_chart(uow=database.uow()) == ()
    assert seasons.active_season(uow=database.uow()) is None
    assert league.current_race(uow=database.uow()) is None
    with pytest.raises(SeasonNotFound):
        standings.season_standings(42, uow=database.uow())


def test_cached_standings_follow_every_change(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    lg.final_race([a, b, c], "One")
    first = standings.season_standings(uow=database.uow())
    assert standings.season_standings(uow=database.uow()) is first  # nothing changed: the same view
    identity.update_profile(b, mkt_name="KoopaKid77", uow=database.uow())
    renamed = standings.season_standings(uow=database.uow())
    assert renamed.rows[1].name == "KoopaKid77"
    league.get_or_create_racer("d-racer2", "racer2", "Racer Two", "/new.svg", uow=database.uow())
    assert standings.season_standings(uow=database.uow()).rows[2].racer.avatar_url == "/new.svg"
    lg.final_race([c, b, a], "Two")
    after_race = standings.season_standings(uow=database.uow())
    assert {row.racer_id: row.points for row in after_race.rows} == {a: 25, b: 24, c: 25}
    race_id = league.list_races(uow=database.uow(), statuses=["final"])[0].race_id
    league.admin_fix_result(race_id, a, 1, reason="replay", **lg.kw(lg.admin_id))
    fixed = standings.season_standings(uow=database.uow())
    assert {row.racer_id: row.points for row in fixed.rows} == {a: 30, b: 22, c: 22}


def test_standings_of_results_written_outside_the_services_are_built_on_first_read(database):
    from cozykart.services.demo import seed_demo

    seed_demo(uow=database.uow())
    view = standings.season_standings(uow=database.uow())
    assert view.rows and view.rows[0].points > 0
    assert standings.stored_standings(
        view.season.season_id, uow=database.uow()
    ) == standings.recompute_standings(view.season.season_id, uow=database.uow())
    assert standings.points_chart(uow=database.uow())


def test_first_readers_at_once_build_seeded_standings_once(database):
    import threading

    from cozykart.services.demo import seed_demo

    seed_demo(uow=database.uow())
    barrier = threading.Barrier(3)
    outcomes: list[object] = []

    def read() -> None:
        barrier.wait()
        try:
            outcomes.append(standings.season_standings(uow=database.uow()).racer_count)
        except Exception as error:  # noqa: BLE001 - checked below
            outcomes.append(error)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(outcomes)) == 1 and isinstance(outcomes[0], int) and outcomes[0] > 0, outcomes

"""`GET /api/standings` and the league pages' read models, on a real database."""

from __future__ import annotations

from datetime import date

from starlette.testclient import TestClient

from cozykart.api import build_api
from cozykart.services import league, seasons
from cozykart.services.reads import standings
from cozykart.services.reads.league_pages import lobby_board, standings_page
from tests.integration.league_support import make_league

SPRING = {"starts_on": date(2026, 3, 1), "ends_on": date(2026, 5, 31)}
SUMMER = {"starts_on": date(2026, 6, 1), "ends_on": date(2026, 8, 31)}


def _client(lg) -> TestClient:
    return TestClient(build_api(lg.settings), base_url="http://127.0.0.1")


def _spring_with_two_races(lg):
    """An active sponsored season: racer0 wins twice, so leads; racer3 is a DNF once."""
    season = seasons.create_season(
        "Spring",
        **SPRING,
        sponsor_name="Koopa Kola",
        sponsor_logo_url="/sponsor/koopa.svg",
        sponsor_url="https://example.org/koopa",
        **lg.kw(lg.admin_id),
    )
    seasons.activate_season(season.season_id, **lg.kw(lg.admin_id))
    a, b, c, d = lg.racer_ids[:4]
    lg.final_race([a, b, c], name="Mario Circuit")
    race_id = lg.ended_race([a, c, d], name="Koopa Beach")
    league.set_results(race_id, {a: 1, c: 2, d: "DNF"}, **lg.kw(lg.host_id))
    return season


def test_api_standings_lists_the_active_seasons_rows_best_first(database):
    lg = make_league(database, 4)
    _spring_with_two_races(lg)
    a, b, c, _d = lg.racer_ids

    with _client(lg) as client:
        response = client.get("/api/standings")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    rows = response.json()
    assert isinstance(rows, list)  # the bare rows (shared/SPEC.md), no envelope
    assert [row["racer_id"] for row in rows[:3]] == [a, c, b]  # 30, 12 + 12 (two races), 12
    assert rows[0] == {
        "rank": 1,
        "racer_id": a,
        "name": "Racer0",
        "avatar_url": "/avatars/racer0.svg",
        "points": 30,
        "wins": 2,
        "races": 2,
        "podiums": 2,
        "average_finish": 1.0,
    }
    # The same rows, in the same order, as the standings service gives the pages.
    view = standings.season_standings(uow=database.uow())
    assert [(row["rank"], row["racer_id"], row["points"]) for row in rows] == [
        (row.rank, row.racer_id, row.points) for row in view.rows
    ]
    dnf_row = next(row for row in rows if row["racer_id"] == lg.racer_ids[3])
    assert (dnf_row["points"], dnf_row["races"], dnf_row["average_finish"]) == (0, 1, None)


def test_api_standings_picks_an_archived_season_by_id(database):
    lg = make_league(database, 4)
    spring = _spring_with_two_races(lg)
    seasons.close_season(spring.season_id, **lg.kw(lg.admin_id))
    summer = seasons.create_season("Summer", **SUMMER, **lg.kw(lg.admin_id))
    seasons.activate_season(summer.season_id, **lg.kw(lg.admin_id))

    with _client(lg) as client:
        active = client.get("/api/standings")
        by_id = client.get(f"/api/standings?season={summer.season_id}")
        archived = client.get(f"/api/standings?season={spring.season_id}")

    assert active.status_code == by_id.status_code == archived.status_code == 200
    assert active.json() == by_id.json() == []  # Summer has no races yet
    rows = archived.json()
    assert [row["racer_id"] for row in rows[:3]] == [lg.racer_ids[0], lg.racer_ids[2], lg.racer_ids[1]]
    assert rows[0]["points"] == 30


def test_api_standings_refuses_unknown_and_malformed_seasons(database):
    lg = make_league(database, 2)
    with _client(lg) as client:
        empty = client.get("/api/standings")
        unknown = client.get("/api/standings?season=999")
        malformed = client.get("/api/standings?season=spring")
        negative = client.get("/api/standings?season=-1")
        blank = client.get("/api/standings?season=")

    assert empty.status_code == 200 and empty.json() == []
    assert unknown.status_code == 404 and unknown.json() == {"error": "There is no season #999."}
    for refused in (malformed, negative, blank):
        assert refused.status_code == 400 and "season" in refused.json()["error"]


def test_standings_page_has_archives_chart_and_trophy_case(database):
    lg = make_league(database, 4)
    spring = _spring_with_two_races(lg)
    seasons.close_season(spring.season_id, **lg.kw(lg.admin_id))
    summer = seasons.create_season("Summer", **SUMMER, **lg.kw(lg.admin_id))
    seasons.activate_season(summer.season_id, **lg.kw(lg.admin_id))

    current = standings_page(uow=database.uow())
    archived = standings_page(spring.season_id, uow=database.uow())

    assert [season.name for season in current.seasons] == ["Summer", "Spring"]
    assert current.standings.season.name == "Summer" and current.chart.lines == ()
    assert [(entry.season.name, entry.champion.racer_id) for entry in current.trophy_case] == [
        ("Spring", lg.racer_ids[0])
    ]
    chart = archived.chart
    assert [race.race_name for race in chart.races] == ["Mario Circuit", "Koopa Beach"]
    totals = {line.racer.racer_id: line.totals for line in chart.lines}
    a, b, c, _d = lg.racer_ids
    assert totals[a] == (15, 30)
    assert totals[b] == (12, 12)  # sat out the second race: the line stays flat
    assert totals[c] == (10, 22)


def test_lobby_board_shows_open_lobbies_and_races_waiting_for_results(database):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    final = lg.final_race([d, a], name="All Done")
    ended_id = lg.ended_race([b, c], name="Needs Results")
    open_id = lg.lobby([a], name="Open One")

    board = lobby_board(uow=database.uow())

    assert [race.race_id for race in board.lobbies] == [open_id]
    assert [race.race_id for race in board.races_in_play] == [ended_id]
    assert final.race_id not in {race.race_id for race in board.races_in_play}

"""Read models for the league pages: each page loads with one call.

`/standings` needs the season list, one season's standings, its points chart
and the trophy case; `/lobby` needs the open lobbies and the races waiting on
results (read in one transaction, so a lobby is never seen in both lists).
These compose the league reads (`standings`, `seasons`, `league`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import RaceStatus
from cozykart.services import league, seasons
from cozykart.services.reads import standings
from cozykart.services.reads.league_views import ChartSeries, RacerCard, RaceView, SeasonView, StandingsView

CHART_RACER_COUNT = 5
TROPHY_CASE_LENGTH_MAX = 50
RACES_IN_PLAY_MAX = 20


@dataclass(frozen=True)
class ChartRace:
    race_id: int
    race_name: str


@dataclass(frozen=True)
class ChartLine:
    """A racer's season total after each race of `PointsChart.races` (flat between their races)."""

    racer: RacerCard
    totals: tuple[int, ...]


@dataclass(frozen=True)
class PointsChart:
    races: tuple[ChartRace, ...]
    lines: tuple[ChartLine, ...]


@dataclass(frozen=True)
class TrophyCaseEntry:
    season: SeasonView
    champion: RacerCard


@dataclass(frozen=True)
class StandingsPage:
    """Everything `/standings` shows. `standings` is None when there is no season at all."""

    seasons: tuple[SeasonView, ...]
    standings: StandingsView | None
    chart: PointsChart
    trophy_case: tuple[TrophyCaseEntry, ...]


@dataclass(frozen=True)
class LobbyBoard:
    """Everything `/lobby` shows: open lobbies (oldest first), and live or ended races
    still waiting on results (newest first)."""

    lobbies: tuple[RaceView, ...]
    races_in_play: tuple[RaceView, ...]


def standings_page(season_id: int | None = None, *, uow: UnitOfWork) -> StandingsPage:
    """The standings page of a season (the active one, else the latest closed, when none is named).

    Raises SeasonNotFound for an unknown season id.
    """
    # Three reads in turn, not one nested transaction: a standings read may build
    # and commit a season's table the first time (see `standings.season_standings`).
    view = standings.season_standings(season_id, uow=uow)
    season_list = seasons.list_seasons(uow=uow)
    series = (
        standings.points_chart(view.season.season_id, uow=uow, top=CHART_RACER_COUNT)
        if view is not None
        else ()
    )
    trophy_case = tuple(
        TrophyCaseEntry(season=season, champion=season.champion)
        for season in season_list
        if season.is_closed and season.champion is not None
    )[:TROPHY_CASE_LENGTH_MAX]
    return StandingsPage(seasons=season_list, standings=view, chart=chart_of(series), trophy_case=trophy_case)


def chart_of(series: tuple[ChartSeries, ...]) -> PointsChart:
    """One x axis for every racer: the season's races they raced, in order; a racer's
    total stays flat over a race they sat out (and is 0 before their first)."""
    race_order: dict[int, tuple] = {}
    for line in series:
        for point in line.points:
            race_order[point.race_id] = (point.started_at, point.race_id, point.race_name)
    races = [ChartRace(race_id, name) for _, race_id, name in sorted(race_order.values())]
    lines = []
    for line in series:
        after = {point.race_id: point.points_total for point in line.points}
        totals = []
        total = 0
        for race in races:
            total = after.get(race.race_id, total)
            totals.append(total)
        lines.append(ChartLine(racer=line.racer, totals=tuple(totals)))
    return PointsChart(races=tuple(races), lines=tuple(lines))


def lobby_board(*, uow: UnitOfWork) -> LobbyBoard:
    with uow:
        lobbies = league.list_open_lobbies(uow=uow)
        in_play = league.list_races(
            uow=uow, statuses=(RaceStatus.LIVE, RaceStatus.ENDED), limit=RACES_IN_PLAY_MAX
        )
    return LobbyBoard(lobbies=lobbies, races_in_play=in_play)

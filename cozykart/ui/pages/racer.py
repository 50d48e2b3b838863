"""`/racers/[id]`: a racer's public profile — career stats, seasons, race history, trophies."""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.errors import NotFound
from cozykart.domain.ids import parse_record_id
from cozykart.domain.instants import iso_instant
from cozykart.domain.league import RaceStatus
from cozykart.services.reads.league_views import RacerProfile
from cozykart.services.reads.standings import racer_profile
from cozykart.ui import routes, theme
from cozykart.ui.layout import page
from cozykart.ui.league_components import format_average, header_cell, scrolling_table
from cozykart.ui.local_time import LOCAL_WITH_YEAR, local_time
from cozykart.ui.service_call import call_service

RACE_STATUS_LABELS = {
    RaceStatus.OPEN: "lobby",
    RaceStatus.LIVE: "live",
    RaceStatus.ENDED: "waiting for results",
    RaceStatus.FINAL: "final",
}
PODIUM_LABELS = {1: "Champion", 2: "Runner-up", 3: "Third place"}


@dataclasses.dataclass
class SeasonLine:
    season_name: str = ""
    status: str = ""
    rank: int = 0
    points: int = 0
    wins: int = 0
    races: int = 0
    podiums: int = 0
    average_finish: str = ""


@dataclasses.dataclass
class HistoryRow:
    race_name: str = ""
    race_href: str = ""  # the race's public receipt
    season_name: str = ""
    started_at: str = ""  # iso_instant, or "" when not started
    status: str = ""
    finish: str = ""
    points: str = ""


@dataclasses.dataclass
class TrophyLine:
    label: str = ""
    season_name: str = ""
    sponsor_name: str = ""
    is_champion: bool = False


def _finish(position: int | None, dnf: bool, racer_count: int, status: str) -> str:
    if status != RaceStatus.FINAL:
        return "—"
    if dnf or position is None:
        return "DNF"
    return f"#{position} of {racer_count}"


class RacerProfileState(rx.State):
    loaded: bool = False
    found: bool = False
    not_found_message: str = ""
    name: str = ""
    display_name: str = ""
    avatar_url: str = ""
    member_since: str = ""
    career_races: int = 0
    career_wins: int = 0
    career_podiums: int = 0
    career_points: int = 0
    career_average_finish: str = ""
    seasons: list[SeasonLine] = []
    history: list[HistoryRow] = []
    trophies: list[TrophyLine] = []

    @rx.event
    async def load(self):
        self.loaded = False
        raw = str(self.router.page.params.get(routes.Slugs.RACER, "") or "")
        racer_id = parse_record_id(raw)
        if racer_id is None:
            self._show_missing(f"There is no racer {raw!r}.")
            return
        profile = await call_service(
            self, lambda _anyone, uow, _settings: racer_profile(racer_id, uow=uow), anyone=True
        )
        if profile.refused:
            self._show_missing(profile.message)
            return None if isinstance(profile.error, NotFound) else profile.toast()
        self._show(profile.value)
        return None

    def _show_missing(self, message: str) -> None:
        self.loaded = True
        self.found = False
        self.not_found_message = message
        self.seasons, self.history, self.trophies = [], [], []

    def _show(self, profile: RacerProfile) -> None:
        racer = profile.racer
        career = profile.career
        self.loaded = self.found = True
        self.not_found_message = ""
        self.name = racer.name
        self.display_name = racer.display_name
        self.avatar_url = racer.avatar_url or ""
        self.member_since = profile.created_at.date().isoformat()
        self.career_races = career.races
        self.career_wins = career.wins
        self.career_podiums = career.podiums
        self.career_points = career.points
        self.career_average_finish = format_average(career.average_finish)
        self.seasons = [
            SeasonLine(
                season_name=season.season_name,
                status=season.season_status,
                rank=season.rank,
                points=season.points,
                wins=season.wins,
                races=season.races,
                podiums=season.podiums,
                average_finish=format_average(season.average_finish),
            )
            for season in profile.seasons
        ]
        self.history = [
            HistoryRow(
                race_name=line.race_name,
                race_href=routes.race_path(line.race_id),
                season_name=line.season_name or "",
                started_at=iso_instant(line.started_at),
                status=RACE_STATUS_LABELS.get(line.status, line.status),
                finish=_finish(line.position, line.dnf, line.racer_count, line.status),
                points=str(line.points)
                if line.status == RaceStatus.FINAL and line.points is not None
                else "—",
            )
            for line in profile.history
        ]
        self.trophies = [
            TrophyLine(
                label=PODIUM_LABELS.get(trophy.rank, f"#{trophy.rank}"),
                season_name=trophy.season_name,
                sponsor_name=trophy.sponsor_name or "",
                is_champion=trophy.is_champion,
            )
            for trophy in profile.trophies
        ]


def _stat(label: str, value, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=theme.TEXT_MUTED),
        rx.text(value, size="6", weight="bold", color=theme.GOLD, data_testid=testid),
        spacing="0",
        align="center",
        padding="0.5rem 0.75rem",
        border_radius="12px",
        background="rgba(255,255,255,0.04)",
        min_width="6rem",
    )


def _header() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.image(
                    src=RacerProfileState.avatar_url,
                    alt=RacerProfileState.name,
                    width="72px",
                    height="72px",
                    border_radius="50%",
                    border=f"2px solid {theme.DISCORD_BLUE}",
                ),
                rx.vstack(
                    rx.heading(RacerProfileState.name, size="7", data_testid="racer-name"),
                    rx.text(
                        RacerProfileState.display_name,
                        " · racing since ",
                        RacerProfileState.member_since,
                        size="2",
                        color=theme.TEXT_MUTED,
                    ),
                    spacing="1",
                ),
                align="center",
                spacing="4",
            ),
            rx.flex(
                _stat("Races", RacerProfileState.career_races, "career-races"),
                _stat("Wins", RacerProfileState.career_wins, "career-wins"),
                _stat("Podiums", RacerProfileState.career_podiums, "career-podiums"),
                _stat("Points", RacerProfileState.career_points, "career-points"),
                _stat("Avg finish", RacerProfileState.career_average_finish, "career-average"),
                wrap="wrap",
                spacing="3",
            ),
            spacing="4",
            width="100%",
        ),
        style=theme.league_panel_style,
        aria_label="Racer",
    )


def _trophies() -> rx.Component:
    return rx.cond(
        RacerProfileState.trophies.length() > 0,
        rx.el.section(
            rx.vstack(
                rx.heading("Trophies", size="4", as_="h2"),
                rx.flex(
                    rx.foreach(
                        RacerProfileState.trophies,
                        lambda trophy: rx.hstack(
                            rx.icon(
                                "trophy",
                                size=22,
                                aria_hidden="true",
                                color=rx.cond(trophy.is_champion, theme.GOLD, theme.TEXT_MUTED),
                            ),
                            rx.vstack(
                                rx.text(trophy.label, weight="bold"),
                                rx.text(trophy.season_name, size="2", color=theme.TEXT_MUTED),
                                spacing="0",
                            ),
                            align="center",
                            padding="0.5rem 0.75rem",
                            border=f"1px solid {theme.GOLD_DEEP}",
                            border_radius="12px",
                            data_testid="racer-trophy",
                        ),
                    ),
                    wrap="wrap",
                    spacing="3",
                ),
                spacing="3",
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Trophies",
        ),
    )


def _scrolling_table(*header: str, body: rx.Component, testid: str) -> rx.Component:
    return scrolling_table(*[header_cell(label) for label in header], body=body, testid=testid)


def _seasons() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Seasons", size="4", as_="h2"),
            rx.cond(
                RacerProfileState.seasons.length() > 0,
                _scrolling_table(
                    "Season",
                    "Rank",
                    "Points",
                    "Wins",
                    "Races",
                    "Podiums",
                    "Avg finish",
                    body=rx.foreach(
                        RacerProfileState.seasons,
                        lambda season: rx.table.row(
                            rx.table.row_header_cell(season.season_name),
                            rx.table.cell("#", season.rank),
                            rx.table.cell(rx.text(season.points, weight="bold", color=theme.GOLD)),
                            rx.table.cell(season.wins),
                            rx.table.cell(season.races),
                            rx.table.cell(season.podiums),
                            rx.table.cell(season.average_finish),
                            data_testid="racer-season",
                        ),
                    ),
                    testid="racer-seasons",
                ),
                rx.text("No finished race in any season yet.", color=theme.TEXT_MUTED),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Seasons",
    )


def _history() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Race history", size="4", as_="h2"),
            rx.cond(
                RacerProfileState.history.length() > 0,
                _scrolling_table(
                    "Race",
                    "Season",
                    "Started",
                    "Status",
                    "Finish",
                    "Points",
                    body=rx.foreach(
                        RacerProfileState.history,
                        lambda line: rx.table.row(
                            rx.table.row_header_cell(
                                rx.link(line.race_name, href=line.race_href, data_testid="history-race-link")
                            ),
                            rx.table.cell(line.season_name),
                            rx.table.cell(
                                local_time(line.started_at, pattern=LOCAL_WITH_YEAR, empty="not started"),
                                white_space="nowrap",
                            ),
                            rx.table.cell(line.status),
                            rx.table.cell(rx.text(line.finish, weight="bold")),
                            rx.table.cell(line.points),
                            data_testid="history-row",
                        ),
                    ),
                    testid="racer-history",
                ),
                rx.text("No races yet.", color=theme.TEXT_MUTED),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Race history",
    )


def _missing() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.icon("user_x", size=36, color=theme.TEXT_MUTED, aria_hidden="true"),
            rx.heading("No such racer", size="6", data_testid="racer-missing"),
            rx.text(RacerProfileState.not_found_message, color=theme.TEXT_MUTED),
            rx.link("See the standings", href=routes.STANDINGS),
            align="center",
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
    )


@page(route=routes.RACER, title="Racer", on_load=RacerProfileState.load)
def racer_page() -> rx.Component:
    return rx.cond(
        RacerProfileState.loaded,
        rx.cond(
            RacerProfileState.found,
            rx.vstack(_header(), _trophies(), _seasons(), _history(), spacing="4", width="100%"),
            _missing(),
        ),
        rx.text("Loading the racer…", color=theme.TEXT_MUTED),
    )

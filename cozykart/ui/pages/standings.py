"""`/standings`: a season's standings with its sponsor, the points chart and the trophy case."""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.ids import parse_record_id
from cozykart.domain.league import SeasonStatus
from cozykart.services import live
from cozykart.services.reads.league_pages import StandingsPage, standings_page
from cozykart.ui import live_race, routes, theme
from cozykart.ui.layout import page
from cozykart.ui.league_components import (
    format_average,
    header_cell,
    number_cell,
    racer_href,
    scrolling_table,
    tiny_avatar,
)
from cozykart.ui.service_call import call_service

SEASON_STATUS_LABELS = {
    SeasonStatus.ACTIVE: "active",
    SeasonStatus.CLOSED: "archive",
    SeasonStatus.UPCOMING: "upcoming",
}


@dataclasses.dataclass
class SeasonOption:
    value: str = ""
    label: str = ""


@dataclasses.dataclass
class StandingLine:
    rank: int = 0
    racer_id: int = 0
    href: str = ""
    name: str = ""
    avatar_url: str = ""
    points: int = 0
    wins: int = 0
    races: int = 0
    podiums: int = 0
    average_finish: str = ""


@dataclasses.dataclass
class ChartLineView:
    key: str = ""
    name: str = ""
    color: str = ""


@dataclasses.dataclass
class ChartRaceView:
    """A race on the chart's x axis: its label ("R3"), its name and its receipt."""

    label: str = ""
    name: str = ""
    href: str = ""


def chart_label(index: int) -> str:
    """The x axis names the season's races in order: R1, R2, ..."""
    return f"R{index + 1}"


@dataclasses.dataclass
class TrophyView:
    season_value: str = ""
    season_name: str = ""
    champion_name: str = ""
    champion_href: str = ""
    avatar_url: str = ""
    sponsor_name: str = ""


class StandingsState(rx.State):
    loaded: bool = False
    has_season: bool = False
    season_value: str = ""
    season_name: str = ""
    season_status: str = ""
    champion_name: str = ""
    sponsor_name: str = ""
    sponsor_logo_url: str = ""
    sponsor_url: str = ""
    seasons: list[SeasonOption] = []
    rows: list[StandingLine] = []
    chart_data: list[dict[str, str | int]] = []
    chart_lines: list[ChartLineView] = []
    chart_races: list[ChartRaceView] = []
    trophies: list[TrophyView] = []
    error: str = ""

    _picked: str = ""  # the season this viewer asked for ("": the current one), kept for pushes

    @rx.event
    async def load(self):
        wanted = str(self.router.page.params.get("season", "") or "")
        self._picked = wanted
        await live_race.join(self, _room)  # before the read: a change after it is pushed
        return await self._show_season(wanted)

    @rx.event
    async def pick_season(self, value: str):
        self._picked = str(value)
        return await self._show_season(value)

    @rx.event
    async def refresh(self):
        """The standings changed: read the season this viewer is looking at again, if the page is open."""
        if self.router.page.path == routes.STANDINGS:
            return await self._show_season(self._picked)
        return None

    async def _show_season(self, value: str):
        season_id = parse_record_id(value)
        view = await call_service(
            self, lambda _anyone, uow, _settings: standings_page(season_id, uow=uow), anyone=True
        )
        if view.refused:
            self.error = view.message
            self.loaded = True
            return view.toast()
        self.error = ""
        self._show(view.value)
        return None

    def _show(self, view: StandingsPage) -> None:
        self.loaded = True
        self.seasons = [
            SeasonOption(
                value=str(season.season_id),
                label=f"{season.name} ({SEASON_STATUS_LABELS.get(season.status, season.status)})",
            )
            for season in view.seasons
        ]
        self.trophies = [
            TrophyView(
                season_value=str(entry.season.season_id),
                season_name=entry.season.name,
                champion_name=entry.champion.name,
                champion_href=racer_href(entry.champion.racer_id),
                avatar_url=entry.champion.avatar_url or "",
                sponsor_name=entry.season.sponsor_name or "",
            )
            for entry in view.trophy_case
        ]
        standings = view.standings
        self.has_season = standings is not None
        if standings is None:
            self.season_value = self.season_name = self.season_status = self.champion_name = ""
            self.sponsor_name = self.sponsor_logo_url = self.sponsor_url = ""
            self.rows, self.chart_data, self.chart_lines, self.chart_races = [], [], [], []
            return
        season = standings.season
        self.season_value = str(season.season_id)
        self.season_name = season.name
        self.season_status = season.status
        self.champion_name = season.champion.name if season.champion else ""
        self.sponsor_name = season.sponsor_name or ""
        self.sponsor_logo_url = season.sponsor_logo_url or ""
        self.sponsor_url = season.sponsor_url or ""
        self.rows = [
            StandingLine(
                rank=row.rank,
                racer_id=row.racer_id,
                href=racer_href(row.racer_id),
                name=row.name,
                avatar_url=row.avatar_url or "",
                points=row.points,
                wins=row.wins,
                races=row.races,
                podiums=row.podiums,
                average_finish=format_average(row.average_finish),
            )
            for row in standings.rows
        ]
        chart = view.chart
        self.chart_lines = [
            ChartLineView(
                key=f"r{line.racer.racer_id}",
                name=line.racer.name,
                color=theme.CHART_COLORS[index % len(theme.CHART_COLORS)],
            )
            for index, line in enumerate(chart.lines)
        ]
        self.chart_data = [
            {"race": chart_label(index), "race_name": race.race_name}
            | {f"r{line.racer.racer_id}": line.totals[index] for line in chart.lines}
            for index, race in enumerate(chart.races)
        ]
        self.chart_races = [
            ChartRaceView(label=chart_label(index), name=race.race_name, href=routes.race_path(race.race_id))
            for index, race in enumerate(chart.races)
        ]


# Every open standings page: each viewer re-reads its season when the standings change.
_room = live_race.follow_with_event("cozykart-live-standings", {live.STANDINGS}, StandingsState.refresh)


# --- components -----------------------------------------------------------------


def _sponsor_banner() -> rx.Component:
    return rx.cond(
        StandingsState.sponsor_name != "",
        rx.el.section(
            rx.link(
                rx.hstack(
                    rx.cond(
                        StandingsState.sponsor_logo_url != "",
                        rx.image(
                            src=StandingsState.sponsor_logo_url,
                            alt=StandingsState.sponsor_name + " logo",
                            height="48px",
                            width="auto",
                            max_width="160px",
                            data_testid="sponsor-logo",
                        ),
                    ),
                    rx.vstack(
                        rx.text("Season presented by", size="1", color=theme.TEXT_MUTED),
                        rx.text(
                            StandingsState.sponsor_name,
                            size="5",
                            weight="bold",
                            color=theme.GOLD,
                            data_testid="sponsor-name",
                        ),
                        spacing="0",
                    ),
                    align="center",
                    spacing="3",
                ),
                href=StandingsState.sponsor_url,
                is_external=True,
                underline="none",
                data_testid="sponsor-link",
            ),
            style=theme.panel_style | {"border": f"2px solid {theme.GOLD_DEEP}"},
            aria_label="Season sponsor",
        ),
    )


def _season_picker() -> rx.Component:
    return rx.hstack(
        rx.el.label("Season", html_for="season-picker", weight="bold"),
        rx.select.root(
            rx.select.trigger(
                id="season-picker", aria_label="Season", data_testid="season-picker", min_width="14rem"
            ),
            rx.select.content(
                rx.foreach(
                    StandingsState.seasons, lambda season: rx.select.item(season.label, value=season.value)
                )
            ),
            value=StandingsState.season_value,
            on_change=StandingsState.pick_season,
        ),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def _standing_row(row: StandingLine) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text("#", row.rank, weight="bold"), data_testid="standing-rank"),
        rx.table.cell(
            rx.link(
                rx.hstack(
                    tiny_avatar(row.avatar_url, row.name), rx.text(row.name), align="center", spacing="2"
                ),
                href=row.href,
                color=theme.TEXT,
                data_testid="standing-racer",
            ),
            white_space="nowrap",
        ),
        number_cell(rx.text(row.points, weight="bold", color=theme.GOLD), data_testid="standing-points"),
        number_cell(row.wins),
        number_cell(row.races),
        number_cell(row.podiums),
        number_cell(row.average_finish),
        data_testid="standing-row",
    )


def _standings_table() -> rx.Component:
    return rx.cond(
        StandingsState.rows.length() > 0,
        scrolling_table(
            header_cell("Rank"),
            header_cell("Racer"),
            header_cell("Points", numeric=True),
            header_cell("Wins", numeric=True),
            header_cell("Races", numeric=True),
            header_cell("Podiums", numeric=True),
            header_cell("Avg finish", numeric=True),
            body=rx.foreach(StandingsState.rows, _standing_row),
            testid="standings-table",
        ),
        rx.text("No finished races in this season yet.", color=theme.TEXT_MUTED),
    )


def _standings_panel() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.icon("trophy", size=22, color=theme.GOLD, aria_hidden="true"),
                rx.heading(StandingsState.season_name, size="5", as_="h2", data_testid="season-name"),
                rx.cond(
                    StandingsState.season_status == SeasonStatus.CLOSED,
                    rx.badge("Final standings", color_scheme="gray", high_contrast=True),
                ),
                align="center",
                wrap="wrap",
            ),
            rx.cond(
                StandingsState.champion_name != "",
                rx.text(
                    "Champion: ",
                    rx.text.strong(StandingsState.champion_name),
                    color=theme.GOLD,
                    data_testid="season-champion",
                ),
            ),
            _standings_table(),
            spacing="3",
            width="100%",
        ),
        # The founder's standings panel: dark, a 2px Discord-blue border.
        style=theme.league_panel_style | {"background": theme.STANDINGS_PANEL},
        aria_label="Season standings",
    )


def _points_chart() -> rx.Component:
    return rx.cond(
        StandingsState.chart_data.length() > 0,
        rx.el.section(
            rx.vstack(
                rx.heading("Points over the season", size="4", as_="h2"),
                rx.text(
                    "Season total after each race (R1 is the season's first), for the top racers.",
                    size="2",
                    color=theme.TEXT_MUTED,
                ),
                rx.recharts.line_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3", stroke=theme.CHART_GRID),
                    rx.recharts.x_axis(data_key="race", stroke=theme.TEXT_MUTED, interval="preserveStartEnd"),
                    rx.recharts.y_axis(stroke=theme.TEXT_MUTED, width=32),
                    rx.recharts.graphing_tooltip(
                        content_style={"background": theme.PANEL, "border": f"1px solid {theme.DISCORD_BLUE}"}
                    ),
                    rx.recharts.legend(),
                    rx.foreach(
                        StandingsState.chart_lines,
                        lambda line: rx.recharts.line(
                            data_key=line.key,
                            name=line.name,
                            stroke=line.color,
                            stroke_width=2,
                            type_="stepAfter",  # a total changes at a race and holds until the next
                            dot=False,
                            is_animation_active=False,
                        ),
                    ),
                    data=StandingsState.chart_data,
                    width="100%",
                    height=300,
                ),
                _chart_races(),
                spacing="2",
                width="100%",
                data_testid="points-chart",
            ),
            style=theme.panel_style,
            aria_label="Points over the season",
        ),
    )


def _chart_races() -> rx.Component:
    """The chart's races by label, each linked to its public receipt."""
    return rx.flex(
        rx.foreach(
            StandingsState.chart_races,
            lambda race: rx.link(
                rx.text(race.label, weight="bold", as_="span"),
                " ",
                race.name,
                href=race.href,
                size="2",
                data_testid="chart-race-link",
            ),
        ),
        wrap="wrap",
        spacing="3",
        aria_label="The season's races",
    )


def _trophy(trophy: TrophyView) -> rx.Component:
    return rx.vstack(
        rx.icon("trophy", size=28, color=theme.GOLD, aria_hidden="true"),
        rx.text(trophy.season_name, weight="bold", text_align="center"),
        rx.link(
            rx.hstack(
                tiny_avatar(trophy.avatar_url, trophy.champion_name),
                rx.text(trophy.champion_name),
                align="center",
                spacing="2",
            ),
            href=trophy.champion_href,
            color=theme.GOLD,
        ),
        rx.cond(
            trophy.sponsor_name != "",
            rx.text("presented by ", trophy.sponsor_name, size="1", color=theme.TEXT_MUTED),
        ),
        align="center",
        spacing="1",
        padding="0.75rem",
        border_radius="12px",
        background="rgba(255, 215, 0, 0.06)",
        border=f"1px solid {theme.GOLD_DEEP}",
        data_testid="trophy",
    )


def _trophy_case() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Trophy case", size="4", as_="h2"),
            rx.cond(
                StandingsState.trophies.length() > 0,
                rx.grid(
                    rx.foreach(StandingsState.trophies, _trophy),
                    columns=rx.breakpoints(initial="1", sm="2", md="3"),
                    spacing="3",
                    width="100%",
                ),
                rx.text(
                    "No season has closed yet: the first champion's trophy goes here.", color=theme.TEXT_MUTED
                ),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Trophy case",
    )


@page(route=routes.STANDINGS, title="Standings", on_load=StandingsState.load)
def standings_page_view() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Standings", size="7"),
            rx.spacer(),
            _season_picker(),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            StandingsState.error != "",
            rx.callout(StandingsState.error, icon="triangle_alert", color_scheme="red", role="alert"),
        ),
        rx.cond(
            StandingsState.has_season,
            rx.vstack(_sponsor_banner(), _standings_panel(), _points_chart(), spacing="4", width="100%"),
            rx.cond(
                StandingsState.loaded,
                rx.text("No season yet: standings appear after the first race.", color=theme.TEXT_MUTED),
            ),
        ),
        _trophy_case(),
        spacing="4",
        width="100%",
    )

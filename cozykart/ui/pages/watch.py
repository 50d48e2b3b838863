"""`/`: the Watch dashboard — the current race and the season's leaders."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.domain.league import RaceStatus
from cozykart.services import default_uow, live
from cozykart.services.reads.watch import WatchSnapshot, watch_snapshot
from cozykart.settings import load_settings
from cozykart.ui import broadcast, live_race, routes, theme
from cozykart.ui.layout import page
from cozykart.ui.live_pot import LivePotState, goal_banner, goal_bar, pot_ticker, sales_feed
from cozykart.ui.local_time import local_time
from cozykart.ui.song_queue import UpNextState, up_next_panel
from cozykart.ui.supporters import supporters_panel

STATUS_LABELS = {
    RaceStatus.LIVE: "LIVE",
    RaceStatus.OPEN: "Lobby open",
    RaceStatus.ENDED: "Finished · results coming in",
    RaceStatus.FINAL: "Final",
}


@dataclasses.dataclass
class RacerView:
    racer_id: int = 0
    name: str = ""
    avatar_url: str = ""
    position: str = ""


@dataclasses.dataclass
class LeaderView:
    rank: int = 0
    racer_id: int = 0
    name: str = ""
    avatar_url: str = ""
    points: int = 0
    wins: int = 0
    races: int = 0


class WatchState(rx.State):
    loaded: bool = False
    has_race: bool = False
    race_name: str = ""
    race_status: str = ""
    race_status_label: str = ""
    race_started_at: str = ""
    racers: list[RacerView] = []
    season_name: str = ""
    sponsor_name: str = ""
    leaders: list[LeaderView] = []
    stream_url: str = ""
    shop_url: str = ""

    @rx.event
    async def load(self):
        settings = load_settings()
        await live_race.join(self, _room)  # before the read: a change after it is pushed
        snapshot = await _read_snapshot()
        self.stream_url = settings.stream_embed_url or ""
        self.shop_url = settings.shop_url or ""
        for name, value in _race_values(snapshot).items():
            setattr(self, name, value)


async def _read_snapshot() -> WatchSnapshot:
    settings = load_settings()
    return await asyncio.to_thread(lambda: watch_snapshot(uow=default_uow(settings)))


def _race_values(snapshot: WatchSnapshot) -> dict:
    """What the Watch page shows of the league (all but the stream and shop links)."""
    race = snapshot.race
    return {
        "has_race": race is not None,
        "race_name": race.name if race else "",
        "race_status": race.status if race else "",
        "race_status_label": STATUS_LABELS.get(race.status, race.status) if race else "",
        "race_started_at": iso_instant(race.started_at) if race else "",
        "racers": [
            RacerView(
                racer_id=card.racer_id,
                name=card.name,
                avatar_url=card.avatar_url,
                position=f"#{card.position}" if card.position else "",
            )
            for card in (race.racers if race else ())
        ],
        "season_name": snapshot.season_name or "",
        "sponsor_name": snapshot.sponsor_name or "",
        "leaders": [LeaderView(**dataclasses.asdict(row)) for row in snapshot.leaders],
        "loaded": True,
    }


async def _watch_delta() -> dict:
    return broadcast.delta(WatchState, **_race_values(await _read_snapshot()))


# Every open Watch page: one read and one delta per worker when the race or the standings change.
_room = live_race.follow_with_delta("cozykart-live-watch", {live.RACE, live.STANDINGS}, _watch_delta)


def _avatar(url: rx.Var[str], name: rx.Var[str], size: str) -> rx.Component:
    return rx.image(
        src=url,
        alt=name,
        width=size,
        height=size,
        border_radius="50%",
        border=f"2px solid {theme.PANEL_BORDER}",
        flex_shrink="0",
    )


def _status_badge() -> rx.Component:
    return rx.badge(
        rx.cond(WatchState.race_status == RaceStatus.LIVE, rx.text("●", color=theme.LIVE_RED, as_="span")),
        WatchState.race_status_label,
        color_scheme=rx.cond(WatchState.race_status == RaceStatus.LIVE, "red", "gray"),
        variant="solid",
        size="2",
        high_contrast=True,
        data_testid="race-status",
    )


def _racer_tile(racer: RacerView) -> rx.Component:
    return rx.hstack(
        _avatar(racer.avatar_url, racer.name, "40px"),
        rx.text(racer.name, weight="bold", trim="both"),
        rx.spacer(),
        rx.text(racer.position, color=theme.GOLD, weight="bold"),
        align="center",
        padding="0.5rem 0.75rem",
        border_radius="12px",
        background="rgba(255,255,255,0.04)",
        width="100%",
        data_testid="race-racer",
    )


def race_card() -> rx.Component:
    return rx.el.section(
        rx.cond(
            WatchState.has_race,
            rx.vstack(
                rx.hstack(
                    rx.vstack(
                        rx.text("Current race", size="2", color=theme.TEXT_MUTED),
                        rx.heading(WatchState.race_name, size="7", as_="h2", data_testid="race-name"),
                        spacing="1",
                    ),
                    rx.spacer(),
                    _status_badge(),
                    align="start",
                    width="100%",
                ),
                rx.cond(
                    WatchState.race_started_at != "",
                    rx.text(
                        "Started ",
                        local_time(WatchState.race_started_at, ago=True, testid="race-started-at"),
                        size="2",
                        color=theme.TEXT_MUTED,
                        data_testid="race-started",
                    ),
                    rx.text("Waiting for the host to start", size="2", color=theme.TEXT_MUTED),
                ),
                rx.grid(
                    rx.foreach(WatchState.racers, _racer_tile),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="2",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.heading("No race on the grid", size="6", as_="h2"),
                rx.text("When a host opens a lobby it shows up here.", color=theme.TEXT_MUTED),
                rx.link("Open the lobby page", href=routes.LOBBY),
            ),
        ),
        style=theme.panel_style,
        aria_label="Current race",
    )


def _leader_row(leader: LeaderView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("#", leader.rank, weight="bold")),
        rx.table.cell(
            rx.hstack(_avatar(leader.avatar_url, leader.name, "28px"), rx.text(leader.name), align="center")
        ),
        rx.table.cell(rx.text(leader.points, weight="bold", color=theme.GOLD)),
        rx.table.cell(leader.wins),
        rx.table.cell(leader.races),
        data_testid="leader-row",
    )


def leaders_panel() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.icon("trophy", size=22, color=theme.GOLD, aria_hidden="true"),
                rx.heading(WatchState.season_name, size="5", as_="h2"),
                align="center",
            ),
            rx.cond(
                WatchState.sponsor_name != "",
                rx.text("presented by ", WatchState.sponsor_name, size="2", color=theme.TEXT_MUTED),
            ),
            rx.cond(
                WatchState.leaders.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Rank"),
                            rx.table.column_header_cell("Racer"),
                            rx.table.column_header_cell("Points"),
                            rx.table.column_header_cell("Wins"),
                            rx.table.column_header_cell("Races"),
                        )
                    ),
                    rx.table.body(rx.foreach(WatchState.leaders, _leader_row)),
                    width="100%",
                    size="1",
                ),
                rx.text("No finished races this season yet.", color=theme.TEXT_MUTED),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.league_panel_style,
        aria_label="Season leaders",
    )


def stream_embed() -> rx.Component:
    return rx.cond(
        WatchState.stream_url != "",
        rx.box(
            rx.el.iframe(
                src=WatchState.stream_url,
                title="Live stream",
                allow="autoplay; fullscreen",
                width="100%",
                height="100%",
                border="0",
            ),
            aspect_ratio="16 / 9",
            width="100%",
            border_radius="16px",
            overflow="hidden",
        ),
    )


def _button_link(
    label: str, icon: str, href, *, variant: str = "solid", external: bool = False
) -> rx.Component:
    """One link styled as a button (an <a>, not a button inside a link): focusable, named by its text."""
    return rx.button(
        rx.link(rx.icon(icon, aria_hidden="true"), label, href=href, is_external=external, underline="none"),
        as_child=True,
        size="3",
        variant=variant,
    )


def pot_block() -> rx.Component:
    """The Live Pot and the ways to raise it: the point of the page, first after the stream."""
    return rx.vstack(
        goal_banner(),
        pot_ticker(),
        goal_bar(),
        rx.hstack(
            rx.cond(
                WatchState.shop_url != "",
                _button_link("Shop merch", "shirt", WatchState.shop_url, external=True),
            ),
            _button_link("Tip the DJ", "music", routes.TIP, variant="outline"),
            spacing="3",
            width="100%",
            justify="center",
        ),
        spacing="4",
        width="100%",
    )


# The page's title for screen readers and outlines; sighted viewers see the header and the panels.
_VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "padding": "0",
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
    "border": "0",
}


def _column(*children: rx.Component) -> rx.Component:
    # At phone width the columns dissolve (display: contents) and their panels are laid
    # out in one list by `order`: stream, pot, race, leaders, feed, supporters. From md up they are
    # two columns again: stream, race and leaders on the left; pot, feed and supporters on the right.
    return rx.box(
        *children,
        display=rx.breakpoints(initial="contents", md="flex"),
        flex_direction="column",
        gap="1rem",
        min_width="0",
    )


def _placed(order: int, child: rx.Component) -> rx.Component:
    return rx.box(child, order=str(order), width="100%")


@page(route=routes.WATCH, title="Watch", on_load=[WatchState.load, LivePotState.join, UpNextState.join])
def watch_page() -> rx.Component:
    return rx.box(
        rx.el.h1("Cozy-Kart live: the race and the racer prize pool", style=_VISUALLY_HIDDEN),
        _column(
            stream_embed(),  # order 0, the default: first
            _placed(2, race_card()),
            _placed(3, leaders_panel()),
        ),
        _column(
            _placed(1, pot_block()),
            _placed(
                4, rx.el.section(sales_feed(), style=theme.panel_style, aria_label="Recent sales and tips")
            ),
            _placed(5, up_next_panel()),
            _placed(
                6, rx.el.section(supporters_panel(), style=theme.panel_style, aria_label="Top supporters")
            ),
        ),
        display=rx.breakpoints(initial="flex", md="grid"),
        flex_direction="column",
        grid_template_columns="repeat(2, minmax(0, 1fr))",
        align_items="start",
        gap="1rem",
        width="100%",
    )

"""The supporters boards, live: the top public names of the live race and of the season.

They ride on the Live Pot (`LivePotState.race_supporters` / `season_supporters`,
read with the pot by services/reads/supporters.py), so they change with every
push after money moves, on the Watch page and on `/overlay/supporters`. Names
are text components: Reflex escapes them.
"""

from __future__ import annotations

import reflex as rx

from cozykart.ui import theme
from cozykart.ui.live_pot import LivePotState, SupporterView


def _row(supporter: SupporterView, overlay: bool) -> rx.Component:
    # On an overlay the colours come from its style (the stage's CSS variables), not the site's theme.
    rank_colour = {} if overlay else {"color": theme.GOLD}
    return rx.hstack(
        rx.text(
            "#", supporter.rank, weight="bold", min_width="2.2rem", class_name="ck-accent" if overlay else "",
            **rank_colour,
        ),
        rx.text(supporter.name, weight="medium", size="2", data_testid="supporter-name"),
        rx.spacer(),
        rx.text(supporter.amount, weight="bold", size="2", data_testid="supporter-amount"),
        align="center",
        width="100%",
        padding_y="0.3rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="supporter-row",
    )  # fmt: skip


def supporters_list(rows: rx.Var, *, empty: str, testid: str, overlay: bool = False) -> rx.Component:
    """One board's rows, or `empty` once the pot is loaded and no public name gave yet."""
    return rx.box(
        rx.cond(
            rows.length() > 0,
            rx.vstack(rx.foreach(rows, lambda row: _row(row, overlay)), spacing="0", width="100%"),
            rx.cond(
                LivePotState.loaded,
                rx.text(empty, size="2", **({} if overlay else {"color": theme.TEXT_MUTED})),
            ),
        ),
        width="100%",
        data_testid=testid,
    )


def supporters_panel() -> rx.Component:
    """The Watch page's "Top supporters": this race's, then this season's."""
    return rx.vstack(
        rx.hstack(
            rx.icon("heart", size=20, color=theme.GOLD, aria_hidden="true"),
            rx.heading("Top supporters", size="4", as_="h2"),
            align="center",
        ),
        rx.heading("This race", size="2", as_="h3", color=theme.TEXT_MUTED),
        supporters_list(
            LivePotState.race_supporters,
            empty="No named supporters in this race yet.",
            testid="race-supporters",
        ),
        rx.heading(
            rx.cond(
                LivePotState.supporters_season_name != "", LivePotState.supporters_season_name, "This season"
            ),
            size="2",
            as_="h3",
            color=theme.TEXT_MUTED,
        ),
        supporters_list(
            LivePotState.season_supporters,
            empty="No named supporters this season yet.",
            testid="season-supporters",
        ),
        rx.text(
            "Only fans who chose a display name are listed; refunded payments do not count.",
            size="1",
            color=theme.TEXT_MUTED,
        ),
        spacing="2",
        width="100%",
    )

"""`/overlay/supporters?key=...&scope=race|season`: the top supporters, an OBS browser source.

Transparent and keyed like every overlay (`overlays.overlay_shell`, `OverlayState.open`);
once the key checks out it joins the Live Pot, which carries both boards
(services/reads/supporters.py), so a new sale or tip by a named fan shows on the
next push. `scope` picks the board: `race` (the live race's, the default) or
`season` (the active season's); any other value is the race. Size in OBS: 400 x 520
(`describe`); the style parameters of every overlay apply (`overlays.overlay_style`).
"""

from __future__ import annotations

import reflex as rx

from cozykart.services.reads.supporters import RACE_SCOPE, SEASON_SCOPE, parse_scope
from cozykart.ui import routes
from cozykart.ui.layout import page
from cozykart.ui.live_pot import LivePotState
from cozykart.ui.pages.overlays import OverlayState, describe, key_is_valid, on_open, overlay_shell
from cozykart.ui.supporters import supporters_list

OBS_WIDTH_PX, OBS_HEIGHT_PX = 400, 520


class SupportersScopeState(rx.State):
    # Not "...OverlayState": tests find OverlayState's vars by the suffix of its name (tests/reflex_viewer.py).
    scope: str = RACE_SCOPE

    @rx.event
    async def choose_scope(self):
        """The board named by `scope` in this page's URL (the race's unless it says `season`)."""
        if not await key_is_valid(self):
            return
        self.scope = parse_scope(self.router.url.query_parameters.get("scope"))


on_open(routes.SUPPORTERS_OVERLAY, LivePotState.join, SupportersScopeState.choose_scope)
describe(
    routes.SUPPORTERS_OVERLAY,
    "Top supporters",  # the race's; `&scope=season` on the URL for the season's (README)
    OBS_WIDTH_PX,
    OBS_HEIGHT_PX,
)


def _board() -> rx.Component:
    season = SupportersScopeState.scope == SEASON_SCOPE
    return rx.box(
        rx.text("TOP SUPPORTERS", weight="bold", size="3", letter_spacing="0.12em", class_name="ck-accent"),
        rx.text(
            rx.cond(
                season,
                rx.cond(
                    LivePotState.supporters_season_name != "",
                    LivePotState.supporters_season_name,
                    "This season",
                ),
                rx.cond(LivePotState.race_name != "", LivePotState.race_name, "This race"),
            ),
            size="2",
            data_testid="supporters-scope",
        ),
        rx.cond(
            season,
            supporters_list(
                LivePotState.season_supporters,
                empty="Be the season's first supporter!",
                testid="season-supporters",
                overlay=True,
            ),
            supporters_list(
                LivePotState.race_supporters,
                empty="Be this race's first supporter!",
                testid="race-supporters",
                overlay=True,
            ),
        ),
        class_name="ck-card",  # painted by the overlay's style (assets/cozykart.css)
        padding="14px 18px",
        width=f"{OBS_WIDTH_PX - 60}px",  # inside the stage's padding, with room for the card's glow
        data_testid="supporters-board",
        data_scope=SupportersScopeState.scope,
    )


@page(route=routes.SUPPORTERS_OVERLAY, title="Supporters overlay", on_load=OverlayState.resume, layout=False)
def supporters_overlay() -> rx.Component:
    return overlay_shell(_board())

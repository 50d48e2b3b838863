"""`/overlay/goal?key=`: the live race's progress toward its pot goal, an OBS browser source.

In the overlay shell (transparent, painted only with the current key); once the
key checks out it joins the Live Pot's room, so the bar moves with every sale
and reads "Goal reached!" once a sale took the pot to its goal. The celebration
itself pops on `/overlay/alerts` (`live_pot.goal_alert`). Nothing shows while
the live race has no goal. Size it 480 by 90 in OBS.
"""

from __future__ import annotations

import reflex as rx

from cozykart.ui import routes
from cozykart.ui.layout import page
from cozykart.ui.live_pot import LivePotState, goal_bar
from cozykart.ui.pages.overlays import OverlayState, describe, on_open, overlay_shell

OBS_WIDTH_PX, OBS_HEIGHT_PX = 480, 90

describe(routes.GOAL_OVERLAY, "Pot goal progress", OBS_WIDTH_PX, OBS_HEIGHT_PX)
on_open(routes.GOAL_OVERLAY, LivePotState.join)


@page(route=routes.GOAL_OVERLAY, title="Pot goal overlay", on_load=OverlayState.resume, layout=False)
def goal_overlay() -> rx.Component:
    return overlay_shell(rx.box(goal_bar(overlay=True), max_width=f"{OBS_WIDTH_PX}px"))

"""`/overlay/pot` and `/overlay/alerts`: transparent OBS browser sources.

Each carries the overlay key in its URL (`?key=...`); without the current key
the page shows only a short notice and never links to the live pot.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from cozykart.services import default_uow
from cozykart.services.overlays import overlay_key_is_valid
from cozykart.ui.live_pot import LivePotState, pot_ticker, read_pot

POT_ROUTE = "/overlay/pot"
ALERTS_ROUTE = "/overlay/alerts"


class OverlayState(rx.State):
    checked: bool = False
    authorized: bool = False
    # The alert that was already there when the overlay opened: never replayed.
    baseline_alert_key: str = ""

    @rx.event
    async def open(self):
        """Check the key in the URL; only then link this viewer to the live pot."""
        key = self.router.url.query_parameters.get("key")
        self.authorized = await asyncio.to_thread(lambda: overlay_key_is_valid(key, uow=default_uow()))
        self.checked = True
        if not self.authorized:
            return None
        pot = await read_pot()
        self.baseline_alert_key = str(pot.feed[0].payment_id) if pot.feed else ""
        return LivePotState.join


_TRANSPARENT = {"background": "transparent", "min_height": "100vh", "padding": "16px"}
_OVERLAY_CLASS = "cozykart-overlay"  # assets/cozykart.css makes the whole page transparent


def _locked() -> rx.Component:
    return rx.cond(
        OverlayState.checked,
        rx.text(
            "This overlay's key is missing or out of date. Copy the overlay URL from the admin console.",
            color="#fff", background="rgba(0,0,0,0.6)", padding="8px 12px", border_radius="8px",
            data_testid="overlay-locked",
        ),
    )


def pot_overlay() -> rx.Component:
    return rx.box(
        rx.cond(OverlayState.authorized, pot_ticker(overlay=True), _locked()),
        class_name=_OVERLAY_CLASS,
        style=_TRANSPARENT,
    )


def _alert() -> rx.Component:
    latest = LivePotState.alert
    return rx.box(
        rx.text(latest.headline, weight="bold", size="5"),
        rx.text(latest.amount, size="7", weight="bold", font_family="ui-monospace, monospace"),
        rx.cond(latest.message != "", rx.text("“", latest.message, "”", size="3")),
        key=latest.key,
        class_name="cozykart-alert",
        background="linear-gradient(135deg, #ffd700, #ffae00)",
        color="#000",
        padding="14px 20px",
        border_radius="14px",
        box_shadow="0 0 24px rgba(255, 215, 0, 0.6)",
        width="fit-content",
        data_testid="overlay-alert",
    )


def alerts_overlay() -> rx.Component:
    return rx.box(
        rx.cond(
            OverlayState.authorized,
            rx.cond(
                (LivePotState.alert.key != "") & (LivePotState.alert.key != OverlayState.baseline_alert_key),
                _alert(),
            ),
            _locked(),
        ),
        class_name=_OVERLAY_CLASS,
        style=_TRANSPARENT,
    )

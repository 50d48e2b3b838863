"""The OBS overlays' shell, and `/overlay/pot` and `/overlay/alerts`: transparent browser sources.

Every overlay (`/overlay/...`) is a page in this shell: `overlay_shell(content)`
paints `content` only once the key in the URL checked out, else a short notice;
`OverlayState.open` (the page's on_load) checks the key and then runs the
joins registered for the page's route with `on_open(route, *handlers)` (the
Live Pot's by default). Overlays elsewhere (goal, supporters, requests) live in
their own modules and use both.

Each carries the overlay key in its URL (`?key=...`); without the current key
the page shows only a short notice and never links to the live pot. Every
handler checks the key in the URL itself, against the database: a client can
send any handler's event directly (`play_alerts` too), so none trusts a var
such as `authorized`.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from cozykart.services import default_uow
from cozykart.services.overlays import overlay_key_is_valid
from cozykart.ui import broadcast, live_pot, routes, theme
from cozykart.ui.layout import page
from cozykart.ui.live_pot import FeedView, LivePotState, pot_ticker, read_pot

ALERT_SHOW_S = 4.0  # each alert stays this long on screen
ALERT_GAP_S = 0.6  # then the overlay is empty this long before the next one
CONNECTION_CHECK_S = 5.0  # how often an idle overlay checks that its viewer is still there


async def key_is_valid(state: rx.State) -> bool:
    """Whether the URL of the page that sent this event carries the current overlay key."""
    key = state.router.url.query_parameters.get("key")
    return await asyncio.to_thread(lambda: overlay_key_is_valid(key, uow=default_uow()))


class OverlayState(rx.State):
    checked: bool = False
    authorized: bool = False
    # The alert on screen; alerts queue behind it and show one at a time.
    alert: FeedView = FeedView()
    alert_showing: bool = False

    @rx.event
    async def open(self):
        """Check the key in the URL; only then link this viewer to the live pot (and the alerts)."""
        self.authorized = await key_is_valid(self)
        self.checked = True
        if not self.authorized:
            return None
        return list(_joins.get(self.router.page.path, (LivePotState.join,)))

    @rx.event(background=True)
    async def play_alerts(self):
        """Show every new sale, tip and test alert in turn, for as long as this overlay is open.

        What sold before the overlay opened is not replayed. Alerts that arrive
        together wait in `pending` and are shown one after another, none dropped.
        One player per connection: a second `open` on the same socket finds it.
        Nothing plays for a client without the key, whatever it sends.
        """
        if not await key_is_valid(self):
            return
        sid = broadcast.viewer_sid(self)
        app = live_pot.running_app()
        if not sid or sid in _players:
            return
        _players.add(sid)
        try:
            async with live_pot.alert_feed() as feed:
                seen = live_pot.seen_at_open(await read_pot())
                pending: list[FeedView] = []
                while broadcast.is_connected(app, sid):
                    if not pending:
                        try:
                            item = await asyncio.wait_for(feed.get(), CONNECTION_CHECK_S)
                        except TimeoutError:
                            continue
                        pending.extend(_alerts_of(item, seen))
                    while not feed.empty():
                        pending.extend(_alerts_of(feed.get_nowait(), seen))
                    if not pending or not broadcast.is_connected(app, sid):
                        continue
                    alert = pending.pop(0)
                    async with self:
                        self.alert = alert
                        self.alert_showing = True
                    await asyncio.sleep(ALERT_SHOW_S)
                    if not broadcast.is_connected(app, sid):
                        break  # the tab may be open again on a new socket: leave its state alone
                    async with self:
                        self.alert_showing = False
                    await asyncio.sleep(ALERT_GAP_S)
        finally:
            _players.discard(sid)


# The sockets of this worker whose alerts overlay has a player running.
_players: set[str] = set()
# What each overlay route runs once its key checked out (the Live Pot's join when absent).
_joins: dict[str, tuple] = {}


def on_open(route: str, *handlers) -> None:
    """Run `handlers` (event handlers of any state) when the overlay at `route` opens with the right key."""
    _joins[route] = handlers


on_open(routes.ALERTS_OVERLAY, LivePotState.join, OverlayState.play_alerts)


def _alerts_of(item: tuple, seen: set[str]) -> list[FeedView]:
    kind, value = item
    if kind == "alert":
        return [value]
    return live_pot.new_alerts(value, seen)


_TRANSPARENT = {"background": "transparent", "min_height": "100vh", "padding": "16px"}
_OVERLAY_CLASS = "cozykart-overlay"  # assets/cozykart.css makes the whole page transparent


def _locked() -> rx.Component:
    return rx.cond(
        OverlayState.checked,
        rx.text(
            "This overlay's key is missing or out of date. Copy the overlay URL from the admin console.",
            color=theme.WHITE,
            background="rgba(0,0,0,0.6)",
            padding="8px 12px",
            border_radius="8px",
            data_testid="overlay-locked",
        ),
    )


def overlay_shell(content: rx.Component) -> rx.Component:
    """An OBS browser source: transparent, showing `content` only with the current key in the URL."""
    return rx.box(
        rx.cond(OverlayState.authorized, content, _locked()), class_name=_OVERLAY_CLASS, style=_TRANSPARENT
    )


@page(route=routes.POT_OVERLAY, title="Pot overlay", on_load=OverlayState.open, layout=False)
def pot_overlay() -> rx.Component:
    return overlay_shell(pot_ticker(overlay=True))


def _alert() -> rx.Component:
    current = OverlayState.alert
    return rx.box(
        rx.text(current.headline, weight="bold", size="5"),
        rx.text(current.amount, size="7", weight="bold", font_family="ui-monospace, monospace"),
        rx.cond(current.message != "", rx.text("“", current.message, "”", size="3")),
        key=current.key,
        class_name="cozykart-alert",
        background=theme.GOLD_GRADIENT,
        color=theme.BLACK,
        padding="14px 20px",
        border_radius="14px",
        box_shadow="0 0 24px rgba(255, 215, 0, 0.6)",
        width="fit-content",
        data_testid="overlay-alert",
        data_alert_key=current.key,
    )


@page(route=routes.ALERTS_OVERLAY, title="Alerts overlay", on_load=OverlayState.open, layout=False)
def alerts_overlay() -> rx.Component:
    return overlay_shell(rx.cond(OverlayState.alert_showing, _alert()))

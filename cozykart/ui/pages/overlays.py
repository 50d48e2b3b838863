"""The OBS overlays' shell, and `/overlay/pot` and `/overlay/alerts`: transparent browser sources.

Every overlay (`/overlay/...`) is a page in this shell: `overlay_shell(content)`
paints `content` only once the key in the URL checked out, else a short notice;
`OverlayState.open` (the page's on_load) checks the key and then runs the
joins registered for the page's route with `on_open(route, *handlers)` (the
Live Pot's by default). Overlays elsewhere (goal, supporters, requests) live in
their own modules and use both.

Each overlay is described once (`describe(route, label, width, height)`: what
the admin overlays page lists, and the size to enter in OBS) and takes the style
parameters of cozykart/domain/overlay_style.py beside its key: `open` parses
them into public `look_*` vars (colours, font, size: nothing secret), which the
shell sets as CSS variables on a stage of exactly the overlay's size; cards
inside paint with them (assets/cozykart.css, `.ck-card`). With `sound=on` the
alerts overlay plays assets/sounds/chime.wav at `volume` for each alert.

Each carries the overlay key in its URL (`?key=...`); without the current key
the page shows only a short notice and never links to the live pot. The key
never reaches Reflex's router data, which Reflex persists with the tab's state:
`KEY_STASH_JS`, in every page's head, runs before the app starts, moves the key
from an overlay's address into the tab's sessionStorage (an OBS refresh finds
it there) and takes it out of the address; `resume` (the on_load, run again
after a reconnect) has the page send it to `open` (`READ_STASHED_KEY_JS`),
which keeps only its SHA-256 in a backend var (a digest opens nothing; the
database keeps the same), so that every later handler checks it against the
current key in the database with `key_is_valid(state)`. A client can send any
handler's event directly, so none trusts a var such as `authorized`; a new key
locks every open overlay out at its next check.
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from cozykart.domain.overlay_style import DEFAULT_PRESET, PRESETS, OverlayStyle, Theme, parse_overlay_style
from cozykart.services import default_uow
from cozykart.services.overlays import overlay_digest_is_current, overlay_key_digest
from cozykart.ui import broadcast, live_pot, routes, theme
from cozykart.ui.layout import page
from cozykart.ui.live_pot import FeedView, LivePotState, pot_ticker, read_pot

ALERT_SHOW_S = 4.0  # each alert stays this long on screen
ALERT_GAP_S = 0.6  # then the overlay is empty this long before the next one
CONNECTION_CHECK_S = 5.0  # how often an idle overlay checks that its viewer is still there
CHIME_URL = "/sounds/chime.wav"  # assets/sounds/chime.wav (scripts/make_chime.py made it)


@dataclasses.dataclass(frozen=True)
class OverlaySpec:
    route: str
    label: str  # what the admin overlays page calls it
    width_px: int  # the size to give its browser source in OBS (and its stage's)
    height_px: int
    sound: bool = False  # whether `sound=on` does anything here


# Every overlay, in the order the admin overlays page lists them.
OVERLAYS: dict[str, OverlaySpec] = {}


def describe(route: str, label: str, width_px: int, height_px: int, *, sound: bool = False) -> None:
    """Declare the overlay at `route`: its name for the admin, and its size in OBS."""
    OVERLAYS[route] = OverlaySpec(route, label, width_px, height_px, sound)


def overlay_style(state: rx.State) -> OverlayStyle:
    """The style the URL of the page that sent this event asks for, on its overlay's own size."""
    spec = OVERLAYS.get(state.router.page.path)
    width, height = (spec.width_px, spec.height_px) if spec else (640, 360)
    return parse_overlay_style(dict(state.router.url.query_parameters), width_px=width, height_px=height)


def chime_script(volume_percent: int) -> str:
    """The script that plays the alert chime once at `volume_percent` (0-100, validated by the parser)."""
    volume = max(0, min(100, int(volume_percent))) / 100
    return f"(function(){{var a=new Audio({CHIME_URL!r});a.volume={volume:.2f};a.play().catch(function(){{}});}})()"


KEY_STORAGE_NAME = "cozykart-overlay-key"
# Runs in the document's head, before the app reads the address (see the module's docstring).
KEY_STASH_JS = f"""(function () {{
  try {{
    if (location.pathname.indexOf("/overlay/") !== 0) return;
    var query = new URLSearchParams(location.search);
    if (!query.has("key")) return;
    sessionStorage.setItem({KEY_STORAGE_NAME!r}, query.get("key"));
    query.delete("key");
    var rest = query.toString();
    history.replaceState(history.state, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }} catch (error) {{}}
}})();"""
# Read in the browser: what KEY_STASH_JS kept for this tab (`resume` asks for it, for `open`).
READ_STASHED_KEY_JS = f"window.sessionStorage.getItem({KEY_STORAGE_NAME!r}) || ''"


def key_stash_script() -> rx.Component:
    """The head script that keeps the overlay key out of the address Reflex sees (for `rx.App`)."""
    return rx.el.script(KEY_STASH_JS)


async def key_is_valid(state: rx.State) -> bool:
    """Whether the overlay open in the tab that sent this event was opened with the current key.

    From a handler of any state; in a background handler, call it inside `async with self`.
    """
    overlay = state if isinstance(state, OverlayState) else await state.get_state(OverlayState)
    digest = overlay._key_sha256
    return await asyncio.to_thread(lambda: overlay_digest_is_current(digest, uow=default_uow()))


class OverlayState(rx.State):
    checked: bool = False
    authorized: bool = False
    # The alert on screen; alerts queue behind it and show one at a time.
    alert: FeedView = FeedView()
    alert_showing: bool = False
    # How the overlay looks (from the URL's style parameters; public, nothing secret).
    look_theme: str = Theme.DARK.value
    look_font: str = ""
    look_text: str = PRESETS[DEFAULT_PRESET].text
    look_accent: str = PRESETS[DEFAULT_PRESET].accent
    look_panel: str = PRESETS[DEFAULT_PRESET].background  # the cards' ("transparent" for that theme)
    look_align: str = "center"
    look_width: str = "640px"
    look_height: str = "360px"
    look_zoom: str = "1"
    # The SHA-256 of the key this tab opened with (backend only; never the key).
    _key_sha256: str = ""

    @rx.event
    async def open(self, key: str = ""):
        """Check the key the page sent; only then link this viewer to the live pot (and its overlay's joins)."""
        self._key_sha256 = overlay_key_digest(key) if isinstance(key, str) and key else ""
        self.authorized = await key_is_valid(self)
        self.checked = True
        if not self.authorized:
            return None
        self._apply(overlay_style(self))
        return list(_joins.get(self.router.page.path, (LivePotState.join,)))

    @rx.event
    def resume(self):
        """The on_load (again after a reconnect): have the page send `open` the key its tab was opened with."""
        return rx.call_script(READ_STASHED_KEY_JS, callback=OverlayState.open)

    def _apply(self, style: OverlayStyle) -> None:
        self.look_theme = style.theme.value
        self.look_font = style.font_stack
        self.look_text = style.text
        self.look_accent = style.accent
        self.look_panel = "transparent" if style.theme is Theme.TRANSPARENT else style.background
        self.look_align = style.align.value
        self.look_width = f"{style.width_px}px"
        self.look_height = f"{style.height_px}px"
        self.look_zoom = f"{style.scale_percent / 100:.2f}"

    @rx.event(background=True)
    async def play_alerts(self):
        """Show every new sale, tip and test alert in turn, for as long as this overlay is open.

        What sold before the overlay opened is not replayed. Alerts that arrive
        together wait in `pending` and are shown one after another, none dropped.
        One player per connection: a second `open` on the same socket finds it.
        Nothing plays for a client without the key, whatever it sends.
        """
        async with self:
            if not await key_is_valid(self):
                return
        style = overlay_style(self)
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
                    if style.sound:
                        yield rx.call_script(chime_script(style.volume_percent))
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
describe(routes.POT_OVERLAY, "Prize pool ticker", 520, 160)
describe(routes.ALERTS_OVERLAY, "Sale and tip alerts", 720, 240, sound=True)


def _alerts_of(item: tuple, seen: set[str]) -> list[FeedView]:
    kind, value = item
    if kind == "alert":
        return [value]
    return live_pot.new_alerts(value, seen)


_TRANSPARENT = {"background": "transparent", "min_height": "100vh", "padding": "0"}
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
        rx.cond(OverlayState.authorized, _stage(content), _locked()),
        class_name=_OVERLAY_CLASS,
        style=_TRANSPARENT,
    )


def _stage(content: rx.Component) -> rx.Component:
    """The overlay's own size, unpainted; its cards take the look from the CSS variables set here."""
    align = rx.match(OverlayState.look_align, ("left", "flex-start"), ("right", "flex-end"), "center")
    cards = rx.box(
        content,
        style={
            "zoom": OverlayState.look_zoom,
            "display": "flex",
            "flexDirection": "column",
            "alignItems": align,
        },
    )
    return rx.box(
        cards,
        class_name="cozykart-stage",
        data_look=OverlayState.look_theme,
        data_testid="overlay-stage",
        style={
            "--ck-text": OverlayState.look_text,
            "--ck-accent": OverlayState.look_accent,
            "--ck-panel": OverlayState.look_panel,
            "width": OverlayState.look_width,
            "height": OverlayState.look_height,
            "color": OverlayState.look_text,
            "fontFamily": OverlayState.look_font,
            "textAlign": OverlayState.look_align,
            "boxSizing": "border-box",
            "padding": "12px",
            "overflow": "hidden",
        },
    )


@page(route=routes.POT_OVERLAY, title="Pot overlay", on_load=OverlayState.resume, layout=False)
def pot_overlay() -> rx.Component:
    return overlay_shell(pot_ticker(overlay=True))


def _alert() -> rx.Component:
    current = OverlayState.alert
    return rx.box(
        rx.text(current.headline, weight="bold", size="5"),
        rx.text(
            current.amount,
            size="7",
            weight="bold",
            font_family="ui-monospace, monospace",
            class_name="ck-accent",
        ),
        rx.cond(current.message != "", rx.text("“", current.message, "”", size="3")),
        key=current.key,
        class_name="cozykart-alert ck-card",
        padding="14px 20px",
        width="fit-content",
        data_testid="overlay-alert",
        data_alert_key=current.key,
    )


@page(route=routes.ALERTS_OVERLAY, title="Alerts overlay", on_load=OverlayState.resume, layout=False)
def alerts_overlay() -> rx.Component:
    return overlay_shell(rx.cond(OverlayState.alert_showing, _alert()))

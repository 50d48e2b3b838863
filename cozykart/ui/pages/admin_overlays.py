"""`/admin/overlays`: the OBS overlay key (made anew, shown once), a test alert, and the URL builder.

The builder lists every overlay (cozykart/ui/pages/overlays.py `OVERLAYS`) with
the width and height to give its browser source in OBS, takes the style
parameters (cozykart/domain/overlay_style.py), shows a live preview and the URL
with a copy button. The key never reaches the server from here: the admin
types or pastes it into a field with no handler, and assets/overlay_builder.js
joins it with the route and the style query the server renders.
"""

from __future__ import annotations

import reflex as rx

from cozykart.domain.overlay_style import FONT_STACKS, PARAMETERS, PRESETS, Align, Theme, style_query
from cozykart.services import overlays
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.live_pot import publish_test_alert
from cozykart.ui.pages.overlays import OVERLAYS
from cozykart.ui.service_call import call_service


def _check_admin(actor_id, uow, _settings) -> str:
    return overlays.check_overlay_admin(actor_id=actor_id, uow=uow)


# The new key reaches the admin's browser once, as the value of these two fields,
# and is kept in no var: a tab's state is held at rest by Reflex's state manager.
POT_URL_FIELD_ID = "overlay-pot-url"
ALERTS_URL_FIELD_ID = "overlay-alerts-url"
KEY_FIELD_ID = "overlay-key-field"  # the builder's: read by assets/overlay_builder.js only
PREVIEW_WIDTH_PX = 560  # the preview shows the overlay scaled down to at most this wide
LOOK_VALUE_LENGTH_MAX = 16


class OverlayAdminState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    urls_shown: bool = False
    # The URL builder: which overlay, and the style parameters as typed (nothing secret).
    builder_route: str = next(iter(OVERLAYS), "")
    look: dict[str, str] = {}

    @rx.var
    def query(self) -> str:
        return style_query(self.look)

    @rx.var
    def obs_size(self) -> str:
        width, height = self._size()
        return f"{width} px wide and {height} px high"

    @rx.var
    def ignored(self) -> str:
        """What was typed that the overlay would ignore (out of range, not a colour)."""
        taken = {part.split("=", 1)[0] for part in style_query(self.look).split("&") if part}
        return ", ".join(name for name in PARAMETERS if self.look.get(name) and name not in taken)

    @rx.var
    def preview_box(self) -> dict[str, str]:
        width, height = self._size()
        scale = min(1.0, PREVIEW_WIDTH_PX / width)
        return {
            "frame_width": f"{width}px",
            "frame_height": f"{height}px",
            "transform": f"scale({scale:.4f})",
            "width": f"{round(width * scale)}px",
            "height": f"{round(height * scale)}px",
        }

    @rx.var
    def builder_sound(self) -> bool:
        spec = OVERLAYS.get(self.builder_route)
        return bool(spec and spec.sound)

    def _size(self) -> tuple[int, int]:
        spec = OVERLAYS.get(self.builder_route) or next(iter(OVERLAYS.values()))
        query = dict(part.split("=", 1) for part in style_query(self.look).split("&") if part)
        return int(query.get("width", spec.width_px)), int(query.get("height", spec.height_px))

    @rx.event
    def choose_overlay(self, route: str):
        """Which overlay the builder makes a URL for: one of the declared overlays only."""
        if not self.allowed or not isinstance(route, str) or route not in OVERLAYS:
            return rx.toast.error("Choose one of the listed overlays.")
        self.builder_route = route
        return None

    @rx.event
    def set_look(self, name: str, value: str):
        """One style parameter as typed; the URL keeps only valid ones (`ignored` names the rest)."""
        if (
            not self.allowed
            or not isinstance(name, str)
            or name not in PARAMETERS
            or not isinstance(value, str)
        ):
            return rx.toast.error("That is not one of the overlay's style parameters.")
        value = value.strip()[:LOOK_VALUE_LENGTH_MAX]
        self.look = {**self.look, name: value} if value else {k: v for k, v in self.look.items() if k != name}
        return None

    @rx.event
    def reset_look(self):
        self.look = {}
        return [rx.set_value(f"overlay-look-{name}", "") for name in _TYPED]

    @rx.event
    async def load(self):
        return await admin_load(self, _check_admin, lambda _name: None, hide=self._hide)

    def _hide(self) -> None:
        self.urls_shown = False

    @rx.event
    async def ask_regenerate(self):
        """The dialog before a new key: what stops working, from whether a key is in use now."""
        previewed = await call_service(
            self,
            lambda actor_id, uow, _settings: overlays.preview_regenerate_overlay_key(
                actor_id=actor_id, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        lines = (
            [
                "The current overlay key stops working at once: OBS scenes using the old key stop updating "
                "(the pot ticker and the alerts) until their browser source gets the new URL.",
                "The new URLs are shown here once; copy them into OBS.",
            ]
            if previewed.value
            else ["No overlay key is in use yet: this makes the first one. Its URLs are shown here once."]
        )
        self._ask(
            title="Make a new overlay key?",
            lines=lines,
            label="Make a new key",
            handler="regenerate",
            args={},
        )
        return None

    @rx.event
    async def regenerate(self):
        made = await call_service(
            self, lambda actor_id, uow, _settings: overlays.regenerate_overlay_key(actor_id=actor_id, uow=uow)
        )
        if made.refused:
            return made.toast()
        key = made.value
        origin = f"{self.router.url.scheme}://{self.router.url.netloc}"
        self.urls_shown = True
        return [
            rx.set_value(POT_URL_FIELD_ID, f"{origin}{routes.POT_OVERLAY}?key={key}"),
            rx.set_value(ALERTS_URL_FIELD_ID, f"{origin}{routes.ALERTS_OVERLAY}?key={key}"),
            rx.set_value(KEY_FIELD_ID, key),
            rx.call_script("window.cozykartOverlayBuilder && window.cozykartOverlayBuilder.refresh()"),
            rx.toast.success("New overlay key made: the old overlay URLs no longer work."),
        ]

    @rx.event
    async def send_test_alert(self):
        checked = await call_service(self, _check_admin)
        if checked.refused:
            return checked.toast()
        await publish_test_alert(checked.value)
        return rx.toast.success("Test alert sent to every open alerts overlay.")


def _url_row(label: str, field_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontWeight": "bold"}),
        rx.el.input(
            id=field_id,
            read_only=True,
            data_testid=field_id,
            style={"width": "100%", "fontFamily": "monospace", "padding": "6px"},
        ),
        spacing="1",
        width="100%",
    )


@page(route=routes.ADMIN_OVERLAYS, title="Overlays", on_load=OverlayAdminState.load)
def overlays_admin_page() -> rx.Component:
    return admin_gate(
        OverlayAdminState.allowed,
        OverlayAdminState.refusal,
        routes.ADMIN_OVERLAYS,
        rx.fragment(confirm_dialog(OverlayAdminState), _console()),
    )


def _console() -> rx.Component:
    return rx.vstack(
        rx.heading("OBS overlays", size="7", as_="h1"),
        rx.el.section(
            rx.vstack(
                rx.text(
                    "Add these as browser sources in OBS. Making a new key shows new URLs once; "
                    "the old ones stop working at once.",
                    color=theme.TEXT_MUTED,
                ),
                rx.button(
                    "Make a new overlay key",
                    on_click=OverlayAdminState.ask_regenerate,
                    data_testid="regenerate-overlay-key",
                ),
                rx.vstack(
                    _url_row("Prize pool ticker", POT_URL_FIELD_ID),
                    _url_row("Sale and tip alerts", ALERTS_URL_FIELD_ID),
                    spacing="3",
                    width="100%",
                    # rendered from the start (hidden), so the fields exist when the key arrives
                    display=rx.cond(OverlayAdminState.urls_shown, "flex", "none"),
                ),
                rx.button(
                    "Send a test alert",
                    variant="outline",
                    on_click=OverlayAdminState.send_test_alert,
                    data_testid="send-test-alert",
                ),
                spacing="4",
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Overlay key",
        ),
        _builder(),
        spacing="4",
        width="100%",
    )


def _labelled(label: str, control: rx.Component) -> rx.Component:
    """`control` (with its id) under its label."""
    field_id = control.id  # type: ignore[attr-defined]
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"fontWeight": "bold"}), control, spacing="1"
    )


def _choice(label: str, name: str, options: list[tuple[str, str]]) -> rx.Component:
    """A select for one style parameter; its first option ("") leaves it to the preset."""
    field_id = f"overlay-look-{name}"
    return _labelled(
        label,
        rx.el.select(
            *[rx.el.option(text, value=value) for value, text in options],
            id=field_id,
            value=OverlayAdminState.look.get(name, ""),
            on_change=lambda value: OverlayAdminState.set_look(name, value),
            data_testid=field_id,
            style={"padding": "6px", "minWidth": "9rem"},
        ),
    )


def _typed(label: str, name: str, placeholder: str) -> rx.Component:
    """A text field for one style parameter (a colour or a number), applied when it loses focus."""
    field_id = f"overlay-look-{name}"
    return _labelled(
        label,
        rx.el.input(
            id=field_id,
            placeholder=placeholder,
            max_length=LOOK_VALUE_LENGTH_MAX,
            default_value=OverlayAdminState.look.get(name, ""),
            on_blur=lambda value: OverlayAdminState.set_look(name, value),
            data_testid=field_id,
            style={"padding": "6px", "width": "8rem"},
        ),
    )


_CLASSIC = PRESETS["classic"]
_TYPED = ("text", "accent", "background", "width", "height", "scale", "volume")


def _look_fields() -> rx.Component:
    preset_default = [("", "Classic (default)")] + [
        (name, name.capitalize()) for name in PRESETS if name != "classic"
    ]
    return rx.flex(
        _choice("Preset", "preset", preset_default),
        _choice(
            "Theme",
            "theme",
            [("", "The preset's")] + [(theme.value, theme.value.capitalize()) for theme in Theme],
        ),
        _choice("Font", "font", [("", "The preset's")] + [(font, font.capitalize()) for font in FONT_STACKS]),
        _choice(
            "Align",
            "align",
            [("", "The preset's")] + [(align.value, align.value.capitalize()) for align in Align],
        ),
        _typed("Text colour", "text", _CLASSIC.text),
        _typed("Accent colour", "accent", _CLASSIC.accent),
        _typed("Card colour", "background", _CLASSIC.background),
        _typed("Width (px)", "width", "default"),
        _typed("Height (px)", "height", "default"),
        _typed("Text size (%)", "scale", "100"),
        rx.cond(
            OverlayAdminState.builder_sound,
            rx.fragment(
                _choice("Sound", "sound", [("", "Off (default)"), ("on", "On")]),
                _typed("Volume (%)", "volume", "60"),
            ),
        ),
        wrap="wrap",
        gap="3",
    )


def _overlay_picker() -> rx.Component:
    return rx.vstack(
        rx.el.label("Overlay", html_for="overlay-builder-route", style={"fontWeight": "bold"}),
        rx.el.select(
            *[rx.el.option(spec.label, value=route) for route, spec in OVERLAYS.items()],
            id="overlay-builder-route",
            value=OverlayAdminState.builder_route,
            on_change=OverlayAdminState.choose_overlay,
            data_testid="overlay-builder-route",
            style={"padding": "6px"},
        ),
        rx.text(
            "In OBS, make this browser source ",
            rx.el.strong(OverlayAdminState.obs_size, data_testid="overlay-obs-size"),
            ".",
        ),
        spacing="1",
    )


def _preview() -> rx.Component:
    box = OverlayAdminState.preview_box
    return rx.box(
        rx.el.iframe(
            id="overlay-preview",
            title="Overlay preview",
            data_testid="overlay-preview",
            style={
                "width": box["frame_width"],
                "height": box["frame_height"],
                "transform": box["transform"],
                "transformOrigin": "top left",
                "border": "0",
            },
        ),
        class_name="cozykart-checker",
        style={"width": box["width"], "height": box["height"], "overflow": "hidden", "borderRadius": "8px"},
    )


def _builder() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Overlay URL builder", size="5", as_="h2"),
            rx.script(src="/overlay_builder.js"),
            rx.vstack(
                rx.el.label("Overlay key", html_for=KEY_FIELD_ID, style={"fontWeight": "bold"}),
                rx.el.input(
                    id=KEY_FIELD_ID,
                    placeholder="Paste the key from an overlay URL you have, or make a new key",
                    auto_complete="off",
                    spell_check=False,
                    data_testid=KEY_FIELD_ID,
                    style={"width": "100%", "fontFamily": "monospace", "padding": "6px"},
                ),
                rx.text(
                    "It stays in this browser: it is never sent to the server from here.",
                    color=theme.TEXT_MUTED,
                    size="1",
                ),
                spacing="1",
                width="100%",
            ),
            _overlay_picker(),
            _look_fields(),
            rx.cond(
                OverlayAdminState.ignored != "",
                rx.text(
                    "Not valid, so left out of the URL: ",
                    OverlayAdminState.ignored,
                    color=theme.LIVE_RED,
                    data_testid="overlay-look-ignored",
                ),
            ),
            rx.button("Reset the style", variant="outline", on_click=OverlayAdminState.reset_look),
            rx.box(
                id="overlay-builder",
                data_route=OverlayAdminState.builder_route,
                data_query=OverlayAdminState.query,
                data_testid="overlay-builder",
            ),
            rx.hstack(
                rx.el.input(
                    id="overlay-builder-url",
                    read_only=True,
                    aria_label="Overlay URL",
                    data_testid="overlay-builder-url",
                    style={"flex": "1", "fontFamily": "monospace", "padding": "6px"},
                ),
                rx.button("Copy URL", id="overlay-copy-url", data_testid="overlay-copy-url"),
                width="100%",
            ),
            rx.button(
                "Show the live preview",
                id="overlay-preview-show",
                variant="outline",
                data_testid="overlay-preview-show",
            ),
            _preview(),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Overlay URL builder",
    )

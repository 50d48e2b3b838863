"""`/admin/overlays`: the OBS overlay key (made anew, shown once) and a test alert."""

from __future__ import annotations

import reflex as rx

from cozykart.services import overlays
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.live_pot import publish_test_alert
from cozykart.ui.service_call import call_service


def _check_admin(actor_id, uow, _settings) -> str:
    return overlays.check_overlay_admin(actor_id=actor_id, uow=uow)


# The new key reaches the admin's browser once, as the value of these two fields,
# and is kept in no var: a tab's state is held at rest by Reflex's state manager.
POT_URL_FIELD_ID = "overlay-pot-url"
ALERTS_URL_FIELD_ID = "overlay-alerts-url"
SUPPORTERS_URL_FIELD_ID = "overlay-supporters-url"


class OverlayAdminState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    urls_shown: bool = False

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
            rx.set_value(
                SUPPORTERS_URL_FIELD_ID, f"{origin}{routes.SUPPORTERS_OVERLAY}?key={key}&scope=race"
            ),
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
                    _url_row(
                        "Top supporters, 400 x 520 px (scope=race or scope=season)", SUPPORTERS_URL_FIELD_ID
                    ),
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
        spacing="4",
        width="100%",
    )

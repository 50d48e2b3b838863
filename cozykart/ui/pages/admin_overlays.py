"""`/admin/overlays`: the OBS overlay key (made anew, shown once) and a test alert."""

from __future__ import annotations

import reflex as rx

from cozykart.domain.errors import CozyKartError
from cozykart.services import overlays
from cozykart.ui import theme
from cozykart.ui.admin_layout import ADMIN_OVERLAYS_ROUTE, admin_call, admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.live_pot import publish_test_alert
from cozykart.ui.pages.overlays import ALERTS_ROUTE, POT_ROUTE


def _check_admin(actor_id, uow, settings) -> str:
    return overlays.check_overlay_admin(actor_id=actor_id, uow=uow, settings=settings)


class OverlayAdminState(AuthState):
    allowed: bool = False
    refusal: str = ""
    pot_url: str = ""
    alerts_url: str = ""

    @rx.event
    async def load(self):
        return await admin_load(self, _check_admin, lambda _name: None, hide=self._hide)

    def _hide(self) -> None:
        self.pot_url = self.alerts_url = ""

    @rx.event
    async def regenerate(self):
        try:
            key = await admin_call(
                self,
                lambda actor_id, uow, settings: overlays.regenerate_overlay_key(
                    actor_id=actor_id, uow=uow, settings=settings
                ),
            )
        except CozyKartError as error:
            return rx.toast.error(error.message)
        origin = f"{self.router.url.scheme}://{self.router.url.netloc}"
        self.pot_url = f"{origin}{POT_ROUTE}?key={key}"
        self.alerts_url = f"{origin}{ALERTS_ROUTE}?key={key}"
        return rx.toast.success("New overlay key made: the old overlay URLs no longer work.")

    @rx.event
    async def send_test_alert(self):
        try:
            name = await admin_call(self, _check_admin)
        except CozyKartError as error:
            return rx.toast.error(error.message)
        await publish_test_alert(name)
        return rx.toast.success("Test alert sent to every open alerts overlay.")


def _url_row(label: str, url: rx.Var[str], test_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, weight="bold"),
        rx.code(url, data_testid=test_id, word_break="break-all"),
        spacing="1",
        width="100%",
    )


@page
def overlays_admin_page() -> rx.Component:
    return admin_gate(OverlayAdminState.allowed, OverlayAdminState.refusal, ADMIN_OVERLAYS_ROUTE, _console())


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
                rx.button("Make a new overlay key", on_click=OverlayAdminState.regenerate,
                          data_testid="regenerate-overlay-key"),
                rx.cond(
                    OverlayAdminState.pot_url != "",
                    rx.vstack(
                        _url_row("Prize pool ticker", OverlayAdminState.pot_url, "overlay-pot-url"),
                        _url_row("Sale and tip alerts", OverlayAdminState.alerts_url, "overlay-alerts-url"),
                        spacing="3",
                        width="100%",
                    ),
                ),
                rx.button("Send a test alert", variant="outline", on_click=OverlayAdminState.send_test_alert,
                          data_testid="send-test-alert"),
                spacing="4",
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Overlay key",
        ),
        spacing="4",
        width="100%",
    )

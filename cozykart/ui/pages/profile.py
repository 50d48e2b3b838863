"""`/me`: a racer's own profile, where they set their Mario Kart Tour name."""

from __future__ import annotations

import reflex as rx

from cozykart.domain.identity import MKT_NAME_LENGTH_MAX
from cozykart.services import identity
from cozykart.ui import routes, theme
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.service_call import call_service


class ProfileState(AuthState):
    username: str = ""
    mkt_name: str = ""
    mkt_name_input: str = ""
    message: str = ""
    error: str = ""

    @rx.event
    async def load(self):
        viewer = await self._load_viewer()
        if viewer is None:
            return self._to_login()
        self.username = viewer.username
        self.mkt_name = self.mkt_name_input = viewer.mkt_name
        self.message = self.error = ""
        return None

    @rx.event
    def set_mkt_name_input(self, value: str):
        self.mkt_name_input = value[: MKT_NAME_LENGTH_MAX * 2]

    @rx.event
    async def save(self):
        self.message = self.error = ""
        wanted = self.mkt_name_input
        saved = await call_service(
            self, lambda racer_id, uow, _settings: identity.update_profile(racer_id, mkt_name=wanted, uow=uow)
        )
        if saved.refused:
            self.error = saved.message  # said once, under the field; what was typed stays
            return None
        self.mkt_name = self.mkt_name_input = saved.value.mkt_name
        self.message = "Saved."
        return rx.toast.success("Profile saved")


def _profile_card() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.image(
                    src=ProfileState.avatar_url,
                    alt=ProfileState.display_name,
                    width="64px",
                    height="64px",
                    border_radius="50%",
                ),
                rx.vstack(
                    rx.heading(ProfileState.display_name, size="6"),
                    rx.text("@", ProfileState.username, color=theme.TEXT_MUTED, size="2"),
                    spacing="1",
                ),
                align="center",
                spacing="3",
            ),
            rx.el.label("Mario Kart Tour name", html_for="mkt-name", weight="bold"),
            rx.hstack(
                rx.input(
                    id="mkt-name",
                    value=ProfileState.mkt_name_input,
                    on_change=ProfileState.set_mkt_name_input,
                    max_length=MKT_NAME_LENGTH_MAX,
                    placeholder="as it appears in the game",
                    data_testid="mkt-name-input",
                    width="100%",
                ),
                rx.button("Save", on_click=ProfileState.save, data_testid="mkt-name-save"),
                width="100%",
            ),
            rx.text(f"Up to {MKT_NAME_LENGTH_MAX} characters.", size="1", color=theme.TEXT_MUTED),
            rx.cond(
                ProfileState.message != "",
                rx.text(ProfileState.message, color="lightgreen", data_testid="profile-message"),
            ),
            rx.cond(
                ProfileState.error != "",
                rx.text(ProfileState.error, color=theme.LIVE_RED, role="alert", data_testid="profile-error"),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Your profile",
    )


@page(route=routes.PROFILE, title="Your profile", on_load=ProfileState.load)
def profile_page() -> rx.Component:
    return rx.cond(
        ProfileState.logged_in, _profile_card(), rx.text("Taking you to the login…", color=theme.TEXT_MUTED)
    )

"""`/me`: a racer's own profile: their Mario Kart Tour name, and where they want to be paid.

The payout destination is the racer's own: read and saved by the service for the
session's racer only (`services/payout_destinations.py`), never another's. A
refused save keeps what was typed and says why under the form.
"""

from __future__ import annotations

import reflex as rx

from cozykart.domain.identity import MKT_NAME_LENGTH_MAX
from cozykart.domain.ledger import PAYOUT_METHODS
from cozykart.domain.payout_destination import (
    ACCOUNT_HOLDER_LENGTH_MAX,
    EMAIL_LENGTH_MAX,
    IBAN_LENGTH_MAX,
    PayoutDestination,
    StripeConnection,
)
from cozykart.services import identity, payout_destinations, stripe_accounts
from cozykart.settings import load_settings
from cozykart.ui import routes, theme
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.service_call import call_service

EMAIL_METHODS = ("paypal", "gift_card")
IBAN_TYPED_MAX = IBAN_LENGTH_MAX + IBAN_LENGTH_MAX // 4  # with the spaces people type


class ProfileState(AuthState):
    username: str = ""
    mkt_name: str = ""
    mkt_name_input: str = ""
    message: str = ""
    error: str = ""
    # where to be paid: the saved destination in words, and the form
    destination_words: str = ""
    dest_method: str = ""
    dest_email: str = ""
    dest_holder: str = ""
    dest_iban: str = ""
    dest_message: str = ""
    dest_error: str = ""
    # the racer's connected Stripe account (only when this site pays through Stripe)
    stripe_enabled: bool = False
    stripe_connected: bool = False
    stripe_ready: bool = False
    stripe_words: str = ""
    stripe_error: str = ""
    stripe_busy: bool = False

    def _show_stripe(self, connection: StripeConnection | None) -> None:
        self.stripe_connected = connection is not None
        self.stripe_ready = connection is not None and connection.can_receive_transfers
        self.stripe_words = connection.words if connection is not None else ""

    def _show_destination(self, destination: PayoutDestination | None) -> None:
        self.destination_words = destination.words if destination else ""
        self.dest_method = destination.method if destination else ""
        self.dest_email = (destination.email or "") if destination else ""
        self.dest_holder = (destination.account_holder or "") if destination else ""
        self.dest_iban = (destination.iban or "") if destination else ""

    @rx.event
    async def load(self):
        viewer = await self._load_viewer()
        if viewer is None:
            return self._to_login()
        self.username = viewer.username
        self.mkt_name = self.mkt_name_input = viewer.mkt_name
        self.message = self.error = self.dest_message = self.dest_error = ""
        saved = await call_service(
            self,
            lambda racer_id, uow, _settings: payout_destinations.my_payout_destination(racer_id, uow=uow),
        )
        if saved.refused:
            self.dest_error = saved.message
            return saved.toast()
        self._show_destination(saved.value)
        return await self._load_stripe()

    async def _load_stripe(self):
        """The Stripe account as Stripe says now when the racer comes back from it; a new link on a refresh."""
        self.stripe_error, self.stripe_busy = "", False
        self.stripe_enabled = bool(load_settings().stripe_api_key)
        if not self.stripe_enabled:
            self._show_stripe(None)
            return None
        back = str(self.router.url.query_parameters.get("stripe", "") or "")
        if back == "refresh":  # the link expired or was used: a new one, straight away
            return await self._to_stripe()
        read = await call_service(
            self,
            lambda racer_id, uow, _settings: (
                stripe_accounts.refresh_my_stripe_connection(racer_id, uow=uow)
                if back == "return"
                else stripe_accounts.my_stripe_connection(racer_id, uow=uow)
            ),
        )
        if read.refused:
            self.stripe_error = read.message
            return None
        self._show_stripe(read.value)
        return None

    async def _to_stripe(self):
        url = self.router.url
        site_url = f"{url.scheme}://{url.netloc}"
        started = await call_service(
            self,
            lambda racer_id, uow, _settings: stripe_accounts.start_onboarding(
                racer_id, site_url=site_url, uow=uow
            ),
        )
        self.stripe_busy = False
        if started.refused:
            self.stripe_error = started.message
            return started.toast()
        return rx.redirect(started.value)  # Stripe's host: a full page load in this tab

    @rx.event
    async def connect_stripe(self):
        if self.stripe_busy:
            return None
        self.stripe_error, self.stripe_busy = "", True
        return await self._to_stripe()

    @rx.event
    async def use_stripe(self):
        self.dest_message = self.dest_error = ""
        saved = await call_service(
            self, lambda racer_id, uow, _settings: stripe_accounts.use_stripe_destination(racer_id, uow=uow)
        )
        if saved.refused:
            self.dest_error = saved.message
            return None
        self._show_destination(saved.value)
        self.dest_message = "Saved: payouts you ask for from now on go to your Stripe account."
        return rx.toast.success("Payout destination saved")

    @rx.event
    def set_dest_method(self, value: str):
        self.dest_method = value if value in PAYOUT_METHODS else ""
        self.dest_message = self.dest_error = ""

    @rx.event
    def set_dest_email(self, value: str):
        self.dest_email = str(value)[:EMAIL_LENGTH_MAX]

    @rx.event
    def set_dest_holder(self, value: str):
        self.dest_holder = str(value)[: ACCOUNT_HOLDER_LENGTH_MAX * 2]

    @rx.event
    def set_dest_iban(self, value: str):
        self.dest_iban = str(value)[:IBAN_TYPED_MAX]

    @rx.event
    async def save_destination(self):
        self.dest_message = self.dest_error = ""
        method, email, holder, iban = self.dest_method, self.dest_email, self.dest_holder, self.dest_iban
        saved = await call_service(
            self,
            lambda racer_id, uow, _settings: payout_destinations.set_payout_destination(
                racer_id,
                method,
                email=email if method in EMAIL_METHODS else None,
                account_holder=holder if method == "bank" else None,
                iban=iban if method == "bank" else None,
                uow=uow,
            ),
        )
        if saved.refused:
            self.dest_error = saved.message  # what was typed stays, to be corrected
            return None
        self._show_destination(saved.value)
        self.dest_message = "Saved: payouts you ask for from now on go there."
        return rx.toast.success("Payout destination saved")

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


def _method_option(item: tuple[str, str]) -> rx.Component:
    return rx.el.option(item[1], value=item[0])


def _dest_input(label: str, field_id: str, value, on_change, max_length: int, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id, size="2"),
        rx.input(
            id=field_id,
            value=value,
            on_change=on_change,
            max_length=max_length,
            data_testid=field_id,
            width="100%",
            **props,
        ),
        spacing="1",
        width="100%",
    )


def _dest_fields() -> rx.Component:
    method = ProfileState.dest_method
    return rx.fragment(
        rx.cond(
            (method == "paypal") | (method == "gift_card"),
            _dest_input(
                rx.cond(method == "paypal", "PayPal email", "Email for the gift card"),
                "dest-email",
                ProfileState.dest_email,
                ProfileState.set_dest_email,
                EMAIL_LENGTH_MAX,
                type="email",
                auto_complete="email",
            ),
        ),
        rx.cond(
            method == "bank",
            rx.vstack(
                _dest_input(
                    "Account holder",
                    "dest-holder",
                    ProfileState.dest_holder,
                    ProfileState.set_dest_holder,
                    ACCOUNT_HOLDER_LENGTH_MAX,
                    auto_complete="name",
                ),
                _dest_input(
                    "IBAN",
                    "dest-iban",
                    ProfileState.dest_iban,
                    ProfileState.set_dest_iban,
                    IBAN_TYPED_MAX,
                    placeholder="DE89 3704 0044 0532 0130 00",
                ),
                width="100%",
            ),
        ),
    )


def _stripe_part() -> rx.Component:
    """Connect a Stripe Express account (Stripe's own pages), then choose it as where to be paid."""
    return rx.vstack(
        rx.heading("Stripe", size="3", as_="h3"),
        rx.text(
            rx.cond(
                ProfileState.stripe_connected,
                ProfileState.stripe_words,
                "Get payouts straight to your bank through Stripe: connect an account on Stripe's site.",
            ),
            role="status",
            data_testid="stripe-status",
        ),
        rx.hstack(
            rx.button(
                rx.cond(ProfileState.stripe_connected, "Continue Stripe set-up", "Connect with Stripe"),
                on_click=ProfileState.connect_stripe,
                loading=ProfileState.stripe_busy,
                variant=rx.cond(ProfileState.stripe_ready, "soft", "solid"),
                data_testid="stripe-connect",
            ),
            rx.cond(
                ProfileState.stripe_ready,
                rx.button(
                    "Get paid by Stripe",
                    on_click=ProfileState.use_stripe,
                    color_scheme="green",
                    data_testid="stripe-use",
                ),
            ),
            spacing="2",
            wrap="wrap",
        ),
        rx.cond(
            ProfileState.stripe_error != "",
            rx.text(
                ProfileState.stripe_error, color=theme.LIVE_RED, role="alert", data_testid="stripe-error"
            ),
        ),
        spacing="2",
        width="100%",
        padding_top="0.5rem",
        border_top=f"1px solid {theme.PANEL_BORDER}",
    )


def _destination_card() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Where to be paid", size="5", as_="h2"),
            rx.text(
                rx.cond(
                    ProfileState.destination_words != "",
                    "Now: " + ProfileState.destination_words,
                    "Not set yet: say where before you ask for a payout.",
                ),
                color=theme.TEXT_MUTED,
                data_testid="dest-current",
            ),
            rx.el.label("Method", html_for="dest-method", weight="bold"),
            rx.el.select(
                rx.el.option("Choose…", value="", disabled=True),
                *[_method_option(item) for item in PAYOUT_METHODS.items()],
                id="dest-method",
                value=ProfileState.dest_method,
                on_change=ProfileState.set_dest_method,
                style=theme.SELECT_STYLE,
                data_testid="dest-method",
            ),
            _dest_fields(),
            rx.button(
                "Save where to be paid", on_click=ProfileState.save_destination, data_testid="dest-save"
            ),
            rx.cond(
                ProfileState.dest_error != "",
                rx.text(
                    ProfileState.dest_error, color=theme.LIVE_RED, role="alert", data_testid="dest-error"
                ),
            ),
            rx.cond(
                ProfileState.dest_message != "",
                rx.text(
                    ProfileState.dest_message, color="lightgreen", role="status", data_testid="dest-message"
                ),
            ),
            rx.cond(ProfileState.stripe_enabled, _stripe_part()),
            rx.text(
                "Only you and the league's admins see this. Each payout request keeps the destination "
                "in force when you asked.",
                size="1",
                color=theme.TEXT_MUTED,
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        margin_top="1rem",
        aria_label="Where to be paid",
    )


@page(route=routes.PROFILE, title="Your profile", on_load=ProfileState.load)
def profile_page() -> rx.Component:
    return rx.cond(
        ProfileState.logged_in,
        rx.box(_profile_card(), _destination_card()),
        rx.text("Taking you to the login…", color=theme.TEXT_MUTED),
    )

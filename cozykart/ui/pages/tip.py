"""`/tip`: tip the DJ and request a song (Stripe Checkout; a labelled demo in dev mode only).

Anyone may tip, logged in or not. The handler reads the form, calls the tips
service once, and either sends the fan to Stripe's checkout page or, in demo
mode (COZYKART_DEMO_TIPS=1, dev mode), thanks them: the service has already
signed the webhook Stripe would send and put it through the inbox, and open
dashboards are told (like the webhook route does after a real tip). Without
Stripe Checkout (and outside the demo) the page says tips are unavailable, and
the service refuses a tip whatever the browser sends.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

import reflex as rx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.money import AMOUNT_TEXT_LENGTH_MAX, format_cents, parse_amount_cents
from cozykart.domain.payments import InboxStatus
from cozykart.services import tips
from cozykart.services.tips import TipOptions
from cozykart.settings import load_settings
from cozykart.ui import live_pot, routes, theme
from cozykart.ui.layout import page
from cozykart.ui.service_call import call_service
from cozykart.ui.song_queue import UpNextState, up_next_panel

CUSTOM = "custom"
logger = logging.getLogger("cozykart.tips")


@dataclasses.dataclass
class PresetView:
    value: str = ""
    label: str = ""


@dataclasses.dataclass
class DjView:
    discord_id: str = ""
    name: str = ""
    avatar_url: str = ""


def _new_key() -> str:
    return f"web:{uuid.uuid4().hex}"


class TipState(rx.State):
    loaded: bool = False
    mode: str = ""
    currency: str = "USD"
    djs: list[DjView] = []
    dj_choice: str = ""
    presets: list[PresetView] = []
    amount_choice: str = ""
    custom_amount: str = ""
    song: str = ""
    message: str = ""
    fan_name: str = ""
    limits: str = ""
    error: str = ""
    thanks: str = ""
    notice: str = ""
    sending: bool = False
    _key: str = ""

    @rx.event
    async def load(self):
        options = await call_service(
            self, lambda _anyone, uow, _settings: tips.tip_options(uow=uow), anyone=True
        )
        if options.refused:
            self.error = options.message
            return None
        self._show(options.value)
        query = self.router.url.query_parameters
        self.thanks = self.notice = ""
        if query.get("tipped"):
            self.thanks = "Thank you! Your tip is on its way to the DJ."
        elif query.get("cancelled"):
            self.notice = "Checkout cancelled: nothing was charged."
        return None

    def _show(self, options: TipOptions) -> None:
        self.mode = options.mode
        self.currency = options.currency
        self.djs = [DjView(dj.discord_id, dj.display_name, dj.avatar_url) for dj in options.djs]
        if self.dj_choice not in {dj.discord_id for dj in options.djs}:
            self.dj_choice = options.djs[0].discord_id if options.djs else ""
        self.presets = [
            PresetView(str(cents), format_cents(cents, options.currency)) for cents in options.presets_cents
        ]
        if not self.amount_choice and len(options.presets_cents) > 1:
            self.amount_choice = str(options.presets_cents[1])
        self.limits = (
            f"Any amount from {format_cents(options.tip_cents_min, options.currency)} "
            f"to {format_cents(options.tip_cents_max, options.currency)}."
        )
        self._key = self._key or _new_key()
        self.loaded = True

    @rx.event
    def choose_amount(self, value: str):
        self.amount_choice = value
        self.error = ""

    @rx.event
    def set_custom_amount(self, value: str):
        self.custom_amount = value[:AMOUNT_TEXT_LENGTH_MAX]
        self.amount_choice = CUSTOM
        self.error = ""

    @rx.event
    def set_dj_choice(self, value: str):
        self.dj_choice = value

    @rx.event
    def set_song(self, value: str):
        self.song = value[: tips.SONG_LENGTH_MAX * 2]

    @rx.event
    def set_message(self, value: str):
        self.message = value[: tips.TIP_MESSAGE_LENGTH_MAX * 2]

    @rx.event
    def set_fan_name(self, value: str):
        self.fan_name = value[: tips.TIP_FAN_NAME_LENGTH_MAX * 2]

    @rx.event
    def tip_again(self):
        self.thanks = self.notice = self.error = ""

    def _amount_text(self) -> tuple[str, str, frozenset[str]]:
        """What `_amount_cents` reads: the chosen preset (or CUSTOM), the typed amount, the presets."""
        return self.amount_choice, self.custom_amount, frozenset(preset.value for preset in self.presets)

    @rx.event
    async def send_tip(self):
        if self.sending:
            return
        self.error = self.thanks = self.notice = ""
        settings = load_settings()
        url = self.router.url
        site_url = f"{url.scheme}://{url.netloc}"
        self.sending = True
        yield
        amount = self._amount_text()
        key, dj, song, message, fan_name = self._key, self.dj_choice, self.song, self.message, self.fan_name
        outcome = await call_service(
            self,
            lambda _anyone, uow, _settings: tips.start_tip(
                dj_discord_id=dj,
                tip_cents=_amount_cents(*amount),
                song=song,
                message=message,
                fan_name=fan_name,
                key=key,
                site_url=site_url,
                uow=uow,
            ),
            anyone=True,
        )
        self.sending = False
        if outcome.refused:
            self.error = outcome.message  # said once, beside the form's fields; what was typed stays
            return
        started = outcome.value
        self._key = _new_key()
        if started.checkout_url:
            yield rx.redirect(started.checkout_url)  # another host: a full page load in this tab
            return
        money = format_cents(started.tip_cents, settings.currency)
        if started.inbox_status == InboxStatus.APPLIED:
            await _tell_viewers()
            self.thanks = f"Thank you! DJ {started.dj_name} got your {money} tip (demo: no card was charged)."
        else:
            self.thanks = f"Your {money} tip is recorded and waits for an admin to apply it (demo)."
        self.song = self.message = self.custom_amount = ""
        yield rx.toast.success(self.thanks)


def _amount_cents(choice: str, custom_amount: str, presets: frozenset[str]) -> int:
    """The tip in cents: the typed amount for CUSTOM, else one of the presets offered."""
    if choice == CUSTOM:
        return parse_amount_cents(custom_amount)
    if choice not in presets:
        raise InvalidInput("Pick an amount.")
    return int(choice)


async def _tell_viewers() -> None:
    """Show the demo tip on every open dashboard, as the webhook route does for a real one."""
    try:
        await live_pot.publish()
    except Exception:  # the tip is in the ledger; viewers catch up on their next load
        logger.exception("pushing the demo tip to viewers failed")


# --- components ---------------------------------------------------------------


def _demo_banner() -> rx.Component:
    return rx.callout(
        "Demo mode: no card is charged. Your tip still travels the real path: a signed Stripe "
        "webhook, the webhook inbox, then the ledger.",
        icon="flask-conical",
        color_scheme="amber",
        data_testid="tip-demo-banner",
        width="100%",
    )


def _preset_button(preset: PresetView) -> rx.Component:
    chosen = TipState.amount_choice == preset.value
    return rx.button(
        preset.label,
        on_click=TipState.choose_amount(preset.value),
        variant=rx.cond(chosen, "solid", "outline"),
        color_scheme="amber",
        size="3",
        aria_pressed=rx.cond(chosen, "true", "false"),
        data_testid="tip-preset",
    )


def _field(label: str, field_id: str, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id, style={"font_weight": "bold"}),
        control,
        spacing="1",
        width="100%",
    )


def _dj_option(dj: DjView) -> rx.Component:
    return rx.el.option(dj.name, value=dj.discord_id)


def _amount_fieldset() -> rx.Component:
    """The presets and an "Other amount" field, with the limits under them."""
    return rx.el.fieldset(
        rx.el.legend("Amount", style={"font_weight": "bold", "margin_bottom": "0.4rem"}),
        rx.hstack(
            rx.foreach(TipState.presets, _preset_button),
            rx.input(
                value=TipState.custom_amount,
                on_change=TipState.set_custom_amount,
                placeholder="Other amount",
                aria_label="Other amount",
                input_mode="decimal",
                max_length=AMOUNT_TEXT_LENGTH_MAX,
                data_testid="tip-custom",
                width="9rem",
                size="3",
            ),
            wrap="wrap",
            spacing="2",
            align="center",
        ),
        rx.text(TipState.limits, size="1", color=theme.TEXT_MUTED),
        style={"border": "none", "padding": "0", "margin": "0", "width": "100%"},
    )


def _dj_field() -> rx.Component:
    return _field(
        "DJ",
        "tip-dj",
        rx.el.select(
            rx.foreach(TipState.djs, _dj_option),
            id="tip-dj",
            value=TipState.dj_choice,
            on_change=TipState.set_dj_choice,
            data_testid="tip-dj",
            style={
                "padding": "0.45rem",
                "border_radius": "8px",
                "background": theme.INK,
                "color": theme.TEXT,
                "border": f"1px solid {theme.PANEL_BORDER}",
            },
        ),
    )


def _song_field() -> rx.Component:
    return _field(
        "Song request",
        "tip-song",
        rx.input(
            id="tip-song",
            value=TipState.song,
            on_change=TipState.set_song,
            max_length=tips.SONG_LENGTH_MAX,
            placeholder="Coconut Mall",
            data_testid="tip-song",
            width="100%",
        ),
    )


def _message_field() -> rx.Component:
    return _field(
        "Message for the DJ",
        "tip-message",
        rx.text_area(
            id="tip-message",
            value=TipState.message,
            on_change=TipState.set_message,
            max_length=tips.TIP_MESSAGE_LENGTH_MAX,
            placeholder="Shout-out to the drift kings!",
            data_testid="tip-message",
            width="100%",
        ),
    )


def _fan_name_field() -> rx.Component:
    return _field(
        "Your name (shown with the tip)",
        "tip-fan-name",
        rx.input(
            id="tip-fan-name",
            value=TipState.fan_name,
            on_change=TipState.set_fan_name,
            max_length=tips.TIP_FAN_NAME_LENGTH_MAX,
            placeholder="Anonymous fan",
            data_testid="tip-fan-name",
            width="100%",
        ),
    )


def _send_button() -> rx.Component:
    return rx.button(
        rx.cond(TipState.mode == tips.MODE_DEMO, "Send tip (demo)", "Continue to payment"),
        on_click=TipState.send_tip,
        loading=TipState.sending,
        size="3",
        color_scheme="amber",
        data_testid="tip-send",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.cond(TipState.mode == tips.MODE_DEMO, _demo_banner()),
        _dj_field(),
        _amount_fieldset(),
        _song_field(),
        _message_field(),
        _fan_name_field(),
        rx.cond(
            TipState.error != "",
            rx.text(TipState.error, color=theme.LIVE_RED, role="alert", data_testid="tip-error"),
        ),
        _send_button(),
        spacing="4",
        width="100%",
    )


def _thanks() -> rx.Component:
    return rx.vstack(
        rx.text(
            TipState.thanks,
            size="4",
            weight="bold",
            color=theme.GOLD,
            role="status",
            data_testid="tip-thanks",
        ),
        rx.button("Tip again", on_click=TipState.tip_again, variant="outline"),
        spacing="3",
    )


def _body() -> rx.Component:
    return rx.cond(
        TipState.mode == tips.MODE_OFF,
        rx.vstack(
            rx.text(
                "Tips are unavailable here right now. Come back during the next stream!",
                data_testid="tip-off",
            ),
            rx.text(
                "For the operator: set STRIPE_API_KEY to take tips through Stripe Checkout "
                "(COZYKART_DEMO_TIPS=1 enables demo tips in dev mode only).",
                size="1",
                color=theme.TEXT_MUTED,
            ),
            spacing="2",
        ),
        rx.cond(
            TipState.djs.length() == 0,
            rx.text("No DJ is on the decks right now, so tips are closed.", data_testid="tip-no-dj"),
            rx.cond(TipState.thanks != "", _thanks(), _form()),
        ),
    )


@page(route=routes.TIP, title="Tip the DJ", on_load=[TipState.load, UpNextState.join])
def tip_page() -> rx.Component:
    return rx.vstack(_tip_panel(), rx.box(up_next_panel(), max_width="36rem", width="100%"), spacing="4")


def _tip_panel() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Tip the DJ", size="7", color=theme.GOLD),
            rx.text("Request a song, send a message, keep the music going.", color=theme.TEXT_MUTED),
            rx.cond(
                TipState.notice != "",
                rx.callout(TipState.notice, icon="info", color_scheme="gray", width="100%"),
            ),
            rx.cond(TipState.loaded, _body(), rx.text("Loading…", color=theme.TEXT_MUTED)),
            spacing="4",
            width="100%",
            max_width="36rem",
        ),
        style=theme.panel_style,
        aria_label="Tip the DJ",
    )

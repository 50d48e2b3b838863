"""The Live Pot, pushed to every open dashboard and overlay.

`LivePotState` is an `rx.SharedState`: each viewer links it to one token
(`POT_TOKEN`) when the page loads and is reseeded from the database then; the
database stays the truth. When money moves (a webhook applied), `publish` reads
the pot again and writes it into the state of the shared token through
`app.modify_state`, and Reflex fans the change out to every linked viewer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets

import reflex as rx

from cozykart.domain.money import format_cents
from cozykart.services import default_uow
from cozykart.services.pot import LivePot, live_pot
from cozykart.settings import load_settings

POT_TOKEN = "cozykart-live-pot"  # Reflex forbids "_" in a shared token
_app: rx.App | None = None


@dataclasses.dataclass
class FeedView:
    key: str = ""
    kind: str = ""
    headline: str = ""
    message: str = ""
    amount: str = ""
    at: str = ""


def _feed_view(line, currency: str) -> FeedView:
    if line.kind == "tip":
        headline = f"{line.fan_name} tipped the DJ for {line.what}"
    else:
        headline = f"{line.fan_name} bought {line.what}"
    return FeedView(
        key=str(line.payment_id),
        kind=line.kind,
        headline=headline,
        message=line.message or "",
        amount=format_cents(line.amount_cents, currency),
        at=line.occurred_at.isoformat(),
    )


class LivePotState(rx.SharedState):
    has_race: bool = False
    race_name: str = ""
    pot_cents: int = 0
    pot_text: str = format_cents(0)
    # Grows each time the pot grows: the ticker is keyed on it, so its
    # celebration animation plays again on every increase.
    increase_count: int = 0
    feed: list[FeedView] = []
    # The newest alert for the OBS alerts overlay: the newest sale or tip, or a test alert.
    alert: FeedView = FeedView()

    def _show(self, pot: LivePot) -> None:
        if pot.pot_cents > self.pot_cents:
            self.increase_count += 1
        self.has_race = pot.race is not None
        self.race_name = pot.race.name if pot.race else ""
        self.pot_cents = pot.pot_cents
        self.pot_text = format_cents(pot.pot_cents, pot.currency)
        self.feed = [_feed_view(line, pot.currency) for line in pot.feed]
        if self.feed and self.feed[0].key != self.alert.key:
            self.alert = self.feed[0]

    @rx.event
    async def join(self):
        """Link this viewer to the shared pot and reseed it from the database."""
        linked = await self._link_to(POT_TOKEN)
        linked._show(await read_pot())


async def read_pot() -> LivePot:
    settings = load_settings()
    return await asyncio.to_thread(lambda: live_pot(uow=default_uow(settings), settings=settings))


def attach(app: rx.App) -> None:
    """Remember the running app: `publish` writes the shared state through it."""
    global _app
    _app = app


_publishing = asyncio.Lock()
_publish_wanted = False


async def publish() -> None:
    """Push the pot, as the database has it now, to every linked viewer.

    Pushes coalesce: while one runs, any number of further requests make exactly
    one more run after it, which reads the newest pot. A burst of sales costs a
    few pushes, not one each, and the last push always shows the last sale.
    """
    global _publish_wanted
    _publish_wanted = True
    if _publishing.locked():
        return
    async with _publishing:
        while _publish_wanted:
            _publish_wanted = False
            await _push_pot()


async def _push_pot() -> None:
    assert _app is not None, "live_pot.attach(app) is called when the app is built"
    pot = await read_pot()
    async with _app.modify_state(rx.BaseStateToken(ident=POT_TOKEN, cls=LivePotState)) as root:
        state = await root.get_state(LivePotState)
        state._show(pot)


async def publish_test_alert(sent_by: str) -> None:
    """Show a test alert on every open alerts overlay; nothing is recorded anywhere."""
    assert _app is not None, "live_pot.attach(app) is called when the app is built"
    alert = FeedView(
        key=f"test-{secrets.token_hex(6)}",
        kind="test",
        headline=f"Test alert from {sent_by}: the overlay is connected",
        amount=format_cents(0),
    )
    async with _app.modify_state(rx.BaseStateToken(ident=POT_TOKEN, cls=LivePotState)) as root:
        state = await root.get_state(LivePotState)
        state.alert = alert


# --- components ----------------------------------------------------------------


def pot_ticker(*, overlay: bool = False) -> rx.Component:
    """The gold Live Pot ticker: the live race's prize pool."""
    return rx.box(
        rx.text("RACER PRIZE POOL", weight="bold", size="2", letter_spacing="0.12em"),
        rx.text(
            LivePotState.pot_text,
            key=LivePotState.increase_count,
            class_name="cozykart-pot-amount",
            font_family="ui-monospace, 'SFMono-Regular', Menlo, monospace",
            font_size="2.4rem",
            font_weight="800",
            data_testid="pot-amount",
        ),
        rx.text(
            rx.cond(
                LivePotState.has_race,
                "Buy a shirt now to increase the pot!",
                "The pot opens when the next race starts.",
            ),
            size="2",
        ),
        class_name="cozykart-ticker",
        background="linear-gradient(135deg, #ffd700, #ffae00)",
        color="#000",
        padding="1rem 1.25rem",
        border_radius="14px",
        box_shadow="0 0 20px rgba(255, 215, 0, 0.5)",
        text_align="center",
        width="100%" if not overlay else "auto",
        role="status",
        aria_live="polite",
        aria_label="Racer prize pool",
        data_testid="pot-ticker",
    )


def _feed_line(line: FeedView) -> rx.Component:
    return rx.hstack(
        rx.icon(rx.cond(line.kind == "tip", "music", "shirt"), size=18, color="#ffd700", aria_hidden="true"),
        rx.vstack(
            rx.text(line.headline, size="2", weight="medium"),
            rx.cond(line.message != "", rx.text("“", line.message, "”", size="1", color="#b8b4d6")),
            spacing="0",
            align="start",
        ),
        rx.spacer(),
        rx.text(line.amount, weight="bold", color="#ffd700", size="2"),
        align="center",
        width="100%",
        padding_y="0.35rem",
        border_bottom="1px solid #2e2a4a",
        data_testid="feed-line",
    )


def sales_feed() -> rx.Component:
    """Recent sales and tips, newest first."""
    return rx.vstack(
        rx.heading("Recent sales and tips", size="4"),
        rx.cond(
            LivePotState.feed.length() > 0,
            rx.vstack(rx.foreach(LivePotState.feed, _feed_line), spacing="0", width="100%"),
            rx.text("No sales yet tonight: be the first!", color="#b8b4d6", size="2"),
        ),
        spacing="2",
        width="100%",
    )

"""`/wallet`: a racer's own money — balances, the history in words, a payout request, CSV.

Every handler runs its service through `call_service`, which re-derives the racer from the backend session;
nothing the browser sends names whose wallet this is. Amounts are read with
`parse_amount_cents` and shown with `format_cents`; the rules (threshold, funds
available, debt) are the payout service's, and its message is what the racer sees.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import reflex as rx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.ids import parse_record_id
from cozykart.domain.instants import iso_instant
from cozykart.domain.ledger import PAID_BY_WORDS, PayoutStatus
from cozykart.domain.money import AMOUNT_TEXT_LENGTH_MAX, format_cents, parse_amount_cents
from cozykart.services import payouts
from cozykart.services.reads import statement, wallet_view
from cozykart.services.reads.wallet_view import RacerPayout, WalletPage
from cozykart.settings import load_settings
from cozykart.ui import routes, theme
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_WITH_YEAR, local_time
from cozykart.ui.service_call import call_service

KIND_LABELS = {
    "COMMISSION": "Race pot share",
    "TIP": "DJ tip",
    "PAYOUT_REQUEST": "Payout requested",
    "PAYOUT": "Paid out",
    "PAYOUT_RELEASED": "Payout returned",
    "REFUND_CLAWBACK": "Refund taken back",
    "ADJUSTMENT": "Adjustment",
}


@dataclasses.dataclass
class HistoryLineView:
    posting_id: int = 0
    when: str = ""
    kind: str = ""
    description: str = ""
    amount: str = ""
    credit: bool = True
    balance_after: str = ""
    on_hold_until: str = ""


@dataclasses.dataclass
class PayoutStatusView:
    """A payout's line: its words around the instant it names (`at`, iso_instant, shown in the viewer's zone).

    `detail_after` starts with its own separator (" by", ":", ",")."""

    payout_id: int = 0
    amount: str = ""
    status: str = ""
    detail_before: str = ""
    at: str = ""
    detail_after: str = ""


def _payout_detail(payout: RacerPayout) -> tuple[str, str, str]:
    if payout.status == PayoutStatus.PAID:
        method = PAID_BY_WORDS.get(payout.method or "", payout.method or "")
        return "paid", iso_instant(payout.decided_at), f" by {method} (ref {payout.reference or '-'})"
    if payout.status == PayoutStatus.REJECTED:
        return (
            "rejected",
            iso_instant(payout.decided_at),
            f": {payout.reason or ''} (the money went back to your wallet)",
        )
    if payout.status == PayoutStatus.CANCELLED:
        return "cancelled by you", iso_instant(payout.decided_at), " (the money went back to your wallet)"
    return "requested", iso_instant(payout.requested_at), ", waiting for an admin"


def _new_key() -> str:
    return f"web:{uuid.uuid4().hex}"


STATEMENT_YEARS_SHOWN = 5  # this year's statement and the four before
STATEMENT_YEAR_TEXT_MAX = 4


def _statement_years() -> list[str]:
    this_year = datetime.now(UTC).year
    return [str(this_year - back) for back in range(STATEMENT_YEARS_SHOWN)]


class WalletState(AuthState):
    loaded: bool = False
    load_error: str = ""
    available: str = ""
    held: str = ""
    in_payout: str = ""
    debt: str = ""
    has_debt: bool = False
    lifetime_earned: str = ""
    taken_back: str = ""
    has_taken_back: bool = False
    paid_out: str = ""
    threshold: str = ""
    progress_percent: int = 0
    threshold_reached: bool = False
    lines: list[HistoryLineView] = []
    my_payouts: list[PayoutStatusView] = []
    has_more: bool = False
    amount_input: str = ""
    statement_year: str = str(datetime.now(UTC).year)
    statement_years: list[str] = _statement_years()
    form_error: str = ""
    form_message: str = ""
    _payout_key: str = ""

    @rx.event
    async def load(self):
        viewer = await self._load_viewer()
        if viewer is None:
            return self._to_login()
        if not self._payout_key:
            self._payout_key = _new_key()
        self.statement_years = _statement_years()  # read at each load: a server may run past New Year
        if self.statement_year not in self.statement_years:
            self.statement_year = self.statement_years[0]
        return await self._read(append=False)

    @rx.event
    async def load_older(self):
        return await self._read(append=True)

    async def _read(self, *, append: bool):
        before = self.lines[-1].posting_id if append and self.lines else None
        wallet = await call_service(
            self,
            lambda racer_id, uow, settings: wallet_view.wallet_page(
                racer_id, before_posting_id=before, uow=uow
            ),
        )
        if wallet.refused:
            self.load_error = wallet.message
            return wallet.toast()
        self._show(wallet.value, append=append)
        return None

    def _show(self, wallet: WalletPage, *, append: bool) -> None:
        summary = wallet.summary

        def money(cents: int) -> str:
            return format_cents(cents, summary.currency)

        self.available = money(summary.available_cents)
        self.held = money(summary.held_cents)
        self.in_payout = money(summary.in_payout_cents)
        self.debt = money(summary.debt_cents)
        self.has_debt = summary.debt_cents > 0
        self.lifetime_earned = money(summary.lifetime_earned_cents)
        self.taken_back = money(summary.refunds_taken_back_cents)
        self.has_taken_back = summary.refunds_taken_back_cents > 0
        self.paid_out = money(summary.paid_out_cents)
        self.threshold = money(summary.payout_min_cents)
        self.progress_percent = summary.threshold_progress_bps // 100  # floored, for the bar only
        self.threshold_reached = summary.available_cents >= summary.payout_min_cents and not self.has_debt
        lines = [
            HistoryLineView(
                posting_id=line.posting_id,
                when=iso_instant(line.recorded_at),
                kind=KIND_LABELS.get(line.kind, line.kind.replace("_", " ").capitalize()),
                description=line.description,
                amount=("+" if line.amount_cents > 0 else "") + money(line.amount_cents),
                credit=line.amount_cents >= 0,
                balance_after=money(line.balance_after_cents),
                on_hold_until=(
                    iso_instant(line.available_at)
                    if line.available_at is not None and _aware(line.available_at) > wallet.read_at
                    else ""
                ),
            )
            for line in wallet.lines
        ]
        self.lines = (self.lines + lines) if append else lines
        self.my_payouts = [
            PayoutStatusView(
                payout.payout_id, money(payout.amount_cents), payout.status, *_payout_detail(payout)
            )
            for payout in wallet.payouts
        ]
        self.has_more = wallet.has_more
        self.load_error = ""
        self.loaded = True

    @rx.event
    def set_amount_input(self, value: str):
        self.amount_input = value[:AMOUNT_TEXT_LENGTH_MAX]
        self.form_error = ""

    @rx.event
    async def request_payout(self):
        self.form_error = self.form_message = ""
        amount_text, key = self.amount_input, self._payout_key or _new_key()

        def request(racer_id, uow, settings) -> tuple[int, int]:
            amount_cents = parse_amount_cents(amount_text)
            return amount_cents, payouts.request_payout(racer_id, amount_cents, key=key, uow=uow)

        requested = await call_service(self, request)
        if requested.refused:
            self.form_error = requested.message
            return requested.toast()
        amount_cents, payout_id = requested.value
        self._payout_key = _new_key()  # the next request is a new one; a double click was the same
        self.amount_input = ""
        self.form_message = (
            f"Payout #{payout_id} of {format_cents(amount_cents, load_settings().currency)} requested: "
            "an admin will pay it soon."
        )
        return [rx.toast.success(f"Payout #{payout_id} requested"), WalletState.load_newest]

    @rx.event
    async def cancel_payout(self, raw_payout_id: str):
        """Withdraw one of the racer's own pending requests (the service checks whose it is)."""
        self.form_error = self.form_message = ""

        def cancel(racer_id, uow, settings):
            payout_id = parse_record_id(raw_payout_id)
            if payout_id is None:
                raise InvalidInput("Choose one of your pending payouts to cancel.")
            return payouts.cancel_payout(racer_id, payout_id, uow=uow)

        cancelled = await call_service(self, cancel)
        if cancelled.refused:
            self.form_error = cancelled.message
            return cancelled.toast()
        payout_id = cancelled.value.payout_id
        self.form_message = f"Payout #{payout_id} cancelled: the money is back in your wallet."
        return [rx.toast.success(f"Payout #{payout_id} cancelled"), WalletState.load_newest]

    @rx.event
    async def load_newest(self):
        return await self._read(append=False)

    @rx.event
    def set_statement_year(self, value: str):
        self.statement_year = str(value)[:STATEMENT_YEAR_TEXT_MAX]

    @rx.event
    async def download_statement(self):
        """The racer's own yearly statement (for taxes) as CSV; the year is checked by the service."""
        year = self.statement_year
        made = await call_service(
            self,
            lambda racer_id, uow, settings: statement.statement_csv(
                [statement.racer_statement(racer_id, year, uow=uow)], with_racer=False
            ),
        )
        if made.refused:
            return made.toast()
        return rx.download(data=made.value, filename=f"cozykart-statement-{year}.csv", mime_type="text/csv")

    @rx.event
    async def download_csv(self):
        csv = await call_service(
            self, lambda racer_id, uow, settings: wallet_view.wallet_csv(racer_id, uow=uow)
        )
        if csv.refused:
            return csv.toast()
        return rx.download(data=csv.value, filename="cozykart-wallet.csv", mime_type="text/csv")


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


# --- components ---------------------------------------------------------------


def _statement_download() -> rx.Component:
    return rx.hstack(
        rx.el.select(
            rx.foreach(WalletState.statement_years, lambda year: rx.el.option(year, value=year)),
            value=WalletState.statement_year,
            on_change=WalletState.set_statement_year,
            aria_label="Statement year",
            style=theme.SELECT_STYLE,
            data_testid="statement-year",
        ),
        rx.button(
            rx.icon("file-text", size=16, aria_hidden="true"),
            "Yearly statement (CSV)",
            on_click=WalletState.download_statement,
            variant="outline",
            title="Earned by kind, tip fees, refunds taken back and paid out by method, per month (UTC): for taxes",
            data_testid="statement-csv",
        ),
        spacing="2",
        align="center",
    )


def _figure(label: str, value: rx.Var[str], test_id: str, *, big: bool = False, color: str = theme.TEXT):
    return rx.vstack(
        rx.text(label, size="2", color=theme.TEXT_MUTED),
        rx.text(value, size="7" if big else "5", weight="bold", color=color, data_testid=test_id),
        spacing="1",
        padding="0.9rem 1rem",
        border_radius="12px",
        background="rgba(255,255,255,0.04)",
        min_width="9rem",
        flex="1",
    )


def _balances() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Your wallet", size="6"),
            rx.flex(
                _figure(
                    "Available to cash out",
                    WalletState.available,
                    "wallet-available",
                    big=True,
                    color=theme.GOLD,
                ),
                _figure("On hold", WalletState.held, "wallet-held"),
                _figure("In payout", WalletState.in_payout, "wallet-in-payout"),
                rx.cond(
                    WalletState.has_debt,
                    _figure("You owe", WalletState.debt, "wallet-debt", color=theme.LIVE_RED),
                ),
                _figure("Lifetime earnings", WalletState.lifetime_earned, "wallet-lifetime"),
                rx.cond(
                    WalletState.has_taken_back,
                    _figure(
                        "Refunds taken back",
                        WalletState.taken_back,
                        "wallet-taken-back",
                        color=theme.LIVE_RED,
                    ),
                ),
                _figure("Paid out", WalletState.paid_out, "wallet-paid-out"),
                wrap="wrap",
                gap="0.75rem",
                width="100%",
            ),
            rx.cond(
                WalletState.has_debt,
                rx.text(
                    "Refunded sales left you owing the league; new earnings clear the debt before you can "
                    "cash out.",
                    color=theme.LIVE_RED,
                    size="2",
                ),
            ),
            rx.text(
                "Earnings stay on hold for a few days (so refunds can still be taken back), then become "
                "available.",
                size="1",
                color=theme.TEXT_MUTED,
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Balances",
    )


def _my_payout(payout: PayoutStatusView) -> rx.Component:
    return rx.hstack(
        rx.text("#", payout.payout_id, color=theme.TEXT_MUTED, size="2"),
        rx.text(payout.amount, weight="bold", size="2"),
        rx.badge(
            payout.status,
            color_scheme=rx.match(
                payout.status,
                (PayoutStatus.PAID, "green"),
                (PayoutStatus.REJECTED, "red"),
                (PayoutStatus.CANCELLED, "gray"),
                "amber",
            ),
        ),
        rx.text(
            payout.detail_before,
            " ",
            local_time(payout.at, pattern=LOCAL_WITH_YEAR),
            payout.detail_after,
            size="1",
            color=theme.TEXT_MUTED,
        ),
        rx.cond(
            payout.status == PayoutStatus.PENDING,
            rx.button(
                "Cancel request",
                on_click=WalletState.cancel_payout(payout.payout_id.to_string()),
                size="1",
                variant="soft",
                color_scheme="gray",
                aria_label="Cancel payout request #" + payout.payout_id.to_string(),
                data_testid="payout-cancel",
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
        data_testid="my-payout",
    )


def _payout_threshold() -> rx.Component:
    return rx.text(
        rx.cond(
            WalletState.threshold_reached,
            rx.text.span("You can request a payout now (from ", WalletState.threshold, ")."),
            rx.text.span(
                WalletState.available, " of the ", WalletState.threshold, " you need before you can cash out."
            ),
        ),
        size="2",
        data_testid="wallet-threshold",
    )


def _payout_amount_row() -> rx.Component:
    return rx.hstack(
        rx.input(
            id="payout-amount",
            value=WalletState.amount_input,
            on_change=WalletState.set_amount_input,
            placeholder="20.00",
            input_mode="decimal",
            max_length=AMOUNT_TEXT_LENGTH_MAX,
            data_testid="payout-amount",
            width="12rem",
        ),
        rx.button(
            "Request payout",
            on_click=WalletState.request_payout,
            color_scheme="amber",
            data_testid="payout-request",
        ),
        align="center",
        wrap="wrap",
    )


def _my_payouts() -> rx.Component:
    return rx.cond(
        WalletState.my_payouts.length() > 0,
        rx.vstack(
            rx.text("Your payouts", weight="bold", size="2"),
            rx.foreach(WalletState.my_payouts, _my_payout),
            spacing="1",
            width="100%",
        ),
    )


def _payout_form() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Cash out", size="4", as_="h2"),
            _payout_threshold(),
            rx.progress(
                value=WalletState.progress_percent,
                max=100,
                color_scheme="amber",
                aria_label="Progress to the payout threshold",
                width="100%",
            ),
            rx.el.label("Amount to cash out", html_for="payout-amount", style={"font_weight": "bold"}),
            _payout_amount_row(),
            rx.cond(
                WalletState.form_error != "",
                rx.text(
                    WalletState.form_error, color=theme.LIVE_RED, role="alert", data_testid="payout-error"
                ),
            ),
            _my_payouts(),
            rx.cond(
                WalletState.form_message != "",
                rx.text(
                    WalletState.form_message, color="lightgreen", role="status", data_testid="payout-message"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Cash out",
    )


def _history_line(line: HistoryLineView) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.badge(line.kind, variant="soft", color_scheme="gray", high_contrast=True),
                rx.text(local_time(line.when, pattern=LOCAL_WITH_YEAR), size="1", color=theme.TEXT_MUTED),
                rx.cond(
                    line.on_hold_until != "",
                    rx.badge(
                        "on hold until ",
                        local_time(line.on_hold_until, pattern=LOCAL_WITH_YEAR, testid="hold-until"),
                        color_scheme="amber",
                        variant="outline",
                    ),
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            rx.text(line.description, size="2"),
            spacing="1",
            align="start",
            flex="1",
        ),
        rx.vstack(
            rx.text(line.amount, weight="bold", color=rx.cond(line.credit, "lightgreen", theme.LIVE_RED)),
            rx.text("balance ", line.balance_after, size="1", color=theme.TEXT_MUTED),
            spacing="1",
            align="end",
        ),
        width="100%",
        padding_y="0.6rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="wallet-line",
    )


def _history() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.heading("History", size="4", as_="h2"),
                rx.spacer(),
                rx.button(
                    rx.icon("download", size=16, aria_hidden="true"),
                    "Download CSV",
                    on_click=WalletState.download_csv,
                    variant="outline",
                    data_testid="wallet-csv",
                ),
                _statement_download(),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.cond(
                WalletState.lines.length() > 0,
                rx.vstack(rx.foreach(WalletState.lines, _history_line), spacing="0", width="100%"),
                rx.text(
                    "Nothing yet: race while fans shop, and your share of the pot lands here.",
                    color=theme.TEXT_MUTED,
                ),
            ),
            rx.cond(
                WalletState.has_more,
                rx.button(
                    "Show older", on_click=WalletState.load_older, variant="soft", data_testid="wallet-older"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="History",
    )


@page(route=routes.WALLET, title="Your wallet", on_load=WalletState.load)
def wallet_page() -> rx.Component:
    return rx.cond(
        WalletState.loaded,
        rx.vstack(_balances(), _payout_form(), _history(), spacing="4", width="100%"),
        rx.text(
            rx.cond(WalletState.load_error != "", WalletState.load_error, "Opening your wallet…"),
            color=theme.TEXT_MUTED,
        ),
    )

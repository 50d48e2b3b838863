"""`/races/[id]`: a race's public receipt — results, the pot and who got what, the money that fed it.

Every figure is the read model's (`services/reads/race_receipt.py`), summed from
the ledger; the page only formats cents and names. Fans are named as on the
Watch feed; times show in the viewer's zone (`ui/local_time.py`).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from cozykart.domain.errors import NotFound
from cozykart.domain.ids import parse_record_id
from cozykart.domain.instants import iso_instant
from cozykart.domain.league import RaceStatus
from cozykart.domain.money import format_cents
from cozykart.services.reads.race_receipt import RaceReceipt, race_receipt
from cozykart.ui import routes, theme
from cozykart.ui.layout import page
from cozykart.ui.league_components import header_cell, number_cell, scrolling_table
from cozykart.ui.local_time import local_time
from cozykart.ui.pages.racer import RACE_STATUS_LABELS
from cozykart.ui.service_call import call_service

REVERSAL_LABELS = {"refunded": "refunded", "disputed": "chargeback open"}


@dataclasses.dataclass
class ResultRow:
    place: str = ""
    racer_name: str = ""
    racer_href: str = ""
    points: str = ""
    distributed: str = ""
    fixed: str = ""
    taken_back: str = ""
    share: str = ""


@dataclasses.dataclass
class PaymentRow:
    at: str = ""  # iso_instant
    fan_name: str = ""
    what: str = ""
    amount: str = ""
    into_pot: str = ""
    taken_back: str = ""
    reversal: str = ""


@dataclasses.dataclass
class ReversalRow:
    at: str = ""
    what: str = ""
    item: str = ""
    returned: str = ""
    pot_change: str = ""


@dataclasses.dataclass
class FixRow:
    at: str = ""
    racer_name: str = ""
    change: str = ""
    reason: str = ""
    by_name: str = ""


def _place(position: int | None, dnf: bool, status: str) -> str:
    if dnf:
        return "DNF"
    if position is None:
        return "—" if status != RaceStatus.FINAL else "DNF"
    return f"#{position}"


def _signed(cents: int, currency: str) -> str:
    return ("+" if cents > 0 else "") + format_cents(cents, currency) if cents else "—"


class RaceReceiptState(rx.State):
    loaded: bool = False
    found: bool = False
    not_found_message: str = ""
    name: str = ""
    status: str = ""
    is_final: bool = False
    season_name: str = ""
    split_words: str = ""
    started_at: str = ""
    ended_at: str = ""
    finalized_at: str = ""
    pot: str = ""
    pot_in: str = ""
    taken_back: str = ""
    reinstated: str = ""
    shares: str = ""
    undistributed: str = ""
    adds_up: str = ""
    results: list[ResultRow] = []
    sales: list[PaymentRow] = []
    tips: list[PaymentRow] = []
    reversals: list[ReversalRow] = []
    fixes: list[FixRow] = []

    @rx.event
    async def load(self):
        self.loaded = False
        raw = str(self.router.page.params.get(routes.Slugs.RACE, "") or "")
        race_id = parse_record_id(raw)
        if race_id is None:
            self._show_missing(f"There is no race {raw!r}.")
            return None
        receipt = await call_service(
            self,
            lambda _anyone, uow, _settings: race_receipt(race_id, uow=uow, now=datetime.now(UTC)),
            anyone=True,
        )
        if receipt.refused:
            self._show_missing(receipt.message)
            return None if isinstance(receipt.error, NotFound) else receipt.toast()
        self._show(receipt.value)
        return None

    def _show_missing(self, message: str) -> None:
        self.loaded = True
        self.found = False
        self.not_found_message = message
        self.results, self.sales, self.tips, self.reversals, self.fixes = [], [], [], [], []

    def _show(self, receipt: RaceReceipt) -> None:
        money = lambda cents: format_cents(cents, receipt.currency)  # noqa: E731
        self.loaded = self.found = True
        self.not_found_message = ""
        self.name = receipt.name
        self.status = RACE_STATUS_LABELS.get(receipt.status, receipt.status)
        self.is_final = receipt.status == RaceStatus.FINAL
        self.season_name = receipt.season_name or ""
        self.split_words = receipt.split_words
        self.started_at = iso_instant(receipt.started_at)
        self.ended_at = iso_instant(receipt.ended_at)
        self.finalized_at = iso_instant(receipt.finalized_at)
        self.pot = money(receipt.pot_cents)
        self.pot_in = money(receipt.pot_in_cents)
        self.taken_back = money(receipt.taken_back_cents)
        self.reinstated = money(receipt.reinstated_cents)
        self.shares = money(receipt.shares_cents)
        self.undistributed = money(receipt.undistributed_cents)
        self.adds_up = (
            f"Shares {money(receipt.shares_cents)} + still in the pot {money(receipt.undistributed_cents)}"
            f" = the pot {money(receipt.pot_cents)}"
        )
        self.results = [
            ResultRow(
                place=_place(result.position, result.dnf, receipt.status),
                racer_name=result.name,
                racer_href=routes.racer_path(result.racer_id),
                points=str(result.points) if result.points is not None else "—",
                distributed=money(result.distributed_cents),
                fixed=_signed(result.fixed_cents, receipt.currency),
                taken_back=_signed(-result.taken_back_cents, receipt.currency),
                share=money(result.share_cents),
            )
            for result in receipt.results
        ]
        self._show_money(receipt)

    def _show_money(self, receipt: RaceReceipt) -> None:
        money = lambda cents: format_cents(cents, receipt.currency)  # noqa: E731
        self.sales, self.tips = (
            [
                PaymentRow(
                    at=iso_instant(line.occurred_at),
                    fan_name=line.fan_name,
                    what=line.what,
                    amount=money(line.gross_cents),
                    into_pot=money(line.into_pot_cents),
                    taken_back=_signed(-line.taken_back_cents, receipt.currency),
                    reversal=REVERSAL_LABELS.get(line.reversal, line.reversal),
                )
                for line in lines
            ]
            for lines in (receipt.sales, receipt.tips)
        )
        self.reversals = [
            ReversalRow(
                at=iso_instant(line.occurred_at),
                what=line.what,
                item=line.item,
                returned=money(line.returned_cents),
                pot_change=_signed(line.pot_cents, receipt.currency),
            )
            for line in receipt.reversals
        ]
        self.fixes = [
            FixRow(
                at=iso_instant(fix.fixed_at),
                racer_name=fix.racer_name,
                change=f"{fix.old} → {fix.new}",
                reason=fix.reason,
                by_name=fix.by_name,
            )
            for fix in receipt.fixes
        ]


def _panel(title: str, *children: rx.Component, label: str | None = None) -> rx.Component:
    return rx.el.section(
        rx.vstack(rx.heading(title, size="4", as_="h2"), *children, spacing="3", width="100%"),
        style=theme.panel_style,
        aria_label=label or title,
    )


def _when(label: str, iso) -> rx.Component:
    return rx.cond(
        iso != "",
        rx.text(
            label, " ", local_time(iso, testid=f"race-{label.lower()}"), size="2", color=theme.TEXT_MUTED
        ),
    )


def _header() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.heading(RaceReceiptState.name, size="7", data_testid="receipt-race-name"),
                rx.badge(RaceReceiptState.status, size="2", data_testid="receipt-status"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.cond(RaceReceiptState.season_name != "", rx.text(RaceReceiptState.season_name, size="2")),
            rx.flex(
                _when("Started", RaceReceiptState.started_at),
                _when("Ended", RaceReceiptState.ended_at),
                _when("Final", RaceReceiptState.finalized_at),
                spacing="4",
                wrap="wrap",
            ),
            spacing="2",
            width="100%",
        ),
        style=theme.league_panel_style,
        aria_label="Race",
    )


def _figure(label: str, value, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=theme.TEXT_MUTED),
        rx.text(value, size="5", weight="bold", color=theme.GOLD, data_testid=testid),
        spacing="0",
        padding="0.5rem 0.75rem",
        border_radius="12px",
        background="rgba(255,255,255,0.04)",
        min_width="8rem",
    )


def _pot() -> rx.Component:
    return _panel(
        "The pot",
        rx.flex(
            _figure("Into the pot from sales", RaceReceiptState.pot_in, "receipt-pot-in"),
            _figure("Taken back (refunds, chargebacks)", RaceReceiptState.taken_back, "receipt-taken-back"),
            _figure("Reinstated (chargebacks won)", RaceReceiptState.reinstated, "receipt-reinstated"),
            _figure("The pot", RaceReceiptState.pot, "receipt-pot"),
            wrap="wrap",
            spacing="3",
        ),
        rx.hstack(
            rx.icon("circle_check", size=18, color=theme.MINT, aria_hidden="true"),
            rx.text(RaceReceiptState.adds_up, size="2", data_testid="receipt-adds-up"),
            align="center",
        ),
        rx.text("How it is split: ", RaceReceiptState.split_words, size="2", data_testid="receipt-split"),
        rx.cond(
            ~RaceReceiptState.is_final,
            rx.text(
                "The race is not final yet: the pot is shared when its results are.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
        ),
    )


def _results() -> rx.Component:
    return _panel(
        "Results and shares",
        rx.cond(
            RaceReceiptState.results.length() > 0,
            scrolling_table(
                header_cell("Place"),
                header_cell("Racer"),
                header_cell("Points", numeric=True),
                header_cell("From the pot", numeric=True),
                header_cell("Fixes", numeric=True),
                header_cell("Taken back", numeric=True),
                header_cell("Share", numeric=True),
                body=rx.foreach(
                    RaceReceiptState.results,
                    lambda row: rx.table.row(
                        rx.table.cell(rx.text(row.place, weight="bold")),
                        rx.table.row_header_cell(rx.link(row.racer_name, href=row.racer_href)),
                        number_cell(row.points),
                        number_cell(row.distributed),
                        number_cell(row.fixed),
                        number_cell(row.taken_back),
                        number_cell(rx.text(row.share, weight="bold", color=theme.GOLD)),
                        data_testid="receipt-result",
                    ),
                ),
                testid="receipt-results",
            ),
            rx.text("No racers.", color=theme.TEXT_MUTED),
        ),
    )


def _payments(title: str, rows, empty: str, *, tips: bool) -> rx.Component:
    headers = ["When", "Fan", "Song" if tips else "Item", "Amount"]
    headers += [] if tips else ["Into the pot", "Taken back"]
    return _panel(
        title,
        rx.cond(
            tips, rx.text("Tips are the DJ's: they never go into the pot.", size="2", color=theme.TEXT_MUTED)
        ),
        rx.cond(
            rows.length() > 0,
            scrolling_table(
                *[header_cell(label, numeric=n >= 3) for n, label in enumerate(headers)],
                body=rx.foreach(
                    rows,
                    lambda row: rx.table.row(
                        rx.table.cell(local_time(row.at, pattern="HH:mm:ss"), white_space="nowrap"),
                        rx.table.cell(row.fan_name),
                        rx.table.cell(
                            row.what,
                            rx.cond(
                                row.reversal != "",
                                rx.badge(row.reversal, color_scheme="red", margin_left="0.4rem"),
                            ),
                        ),
                        number_cell(row.amount),
                        *([] if tips else [number_cell(row.into_pot), number_cell(row.taken_back)]),
                        data_testid="receipt-tip" if tips else "receipt-sale",
                    ),
                ),
                testid="receipt-tips" if tips else "receipt-sales",
            ),
            rx.text(empty, color=theme.TEXT_MUTED),
        ),
    )


def _reversals() -> rx.Component:
    return rx.cond(
        RaceReceiptState.reversals.length() > 0,
        _panel(
            "Refunds and chargebacks",
            scrolling_table(
                header_cell("When"),
                header_cell("What"),
                header_cell("Item"),
                header_cell("Back to the fan", numeric=True),
                header_cell("The pot", numeric=True),
                body=rx.foreach(
                    RaceReceiptState.reversals,
                    lambda row: rx.table.row(
                        rx.table.cell(local_time(row.at), white_space="nowrap"),
                        rx.table.cell(row.what),
                        rx.table.cell(row.item),
                        number_cell(row.returned),
                        number_cell(row.pot_change),
                        data_testid="receipt-reversal",
                    ),
                ),
                testid="receipt-reversals",
            ),
        ),
    )


def _fixes() -> rx.Component:
    return rx.cond(
        RaceReceiptState.fixes.length() > 0,
        _panel(
            "Result fixes",
            scrolling_table(
                header_cell("When"),
                header_cell("Racer"),
                header_cell("Result"),
                header_cell("Why"),
                header_cell("By"),
                body=rx.foreach(
                    RaceReceiptState.fixes,
                    lambda row: rx.table.row(
                        rx.table.cell(local_time(row.at), white_space="nowrap"),
                        rx.table.cell(row.racer_name),
                        rx.table.cell(row.change, white_space="nowrap"),
                        rx.table.cell(row.reason),
                        rx.table.cell(row.by_name),
                        data_testid="receipt-fix",
                    ),
                ),
                testid="receipt-fixes",
            ),
        ),
    )


def _missing() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.icon("flag_off", size=36, color=theme.TEXT_MUTED, aria_hidden="true"),
            rx.heading("No such race", size="6", data_testid="race-missing"),
            rx.text(RaceReceiptState.not_found_message, color=theme.TEXT_MUTED),
            rx.link("See the standings", href=routes.STANDINGS),
            align="center",
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
    )


@page(route=routes.RACE, title="Race receipt", on_load=RaceReceiptState.load)
def race_page() -> rx.Component:
    return rx.cond(
        RaceReceiptState.loaded,
        rx.cond(
            RaceReceiptState.found,
            rx.vstack(
                _header(),
                _pot(),
                _results(),
                _payments(
                    "Sales that fed the pot",
                    RaceReceiptState.sales,
                    "No merch was sold while the race was live.",
                    tips=False,
                ),
                _payments(
                    "Tips to the DJ during the race",
                    RaceReceiptState.tips,
                    "No tips during the race.",
                    tips=True,
                ),
                _reversals(),
                _fixes(),
                spacing="4",
                width="100%",
            ),
            _missing(),
        ),
        rx.text("Loading the race…", color=theme.TEXT_MUTED),
    )

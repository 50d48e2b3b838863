"""`/admin/statements`: every racer's yearly statement, for the league's taxes, with a CSV of it all.

Read-only. `statement.league_statement` refuses anyone who is not an admin; the
year is checked by the service whatever the browser sent.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.money import format_cents
from cozykart.services.reads import statement
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.league_components import header_cell, number_cell, scrolling_table
from cozykart.ui.service_call import call_service

YEAR_TEXT_MAX = 4


@dataclasses.dataclass
class StatementRowView:
    racer_id: int = 0
    name: str = ""
    href: str = ""  # the racer's public profile
    earned: str = ""
    tip_fees: str = ""
    taken_back: str = ""
    net: str = ""
    paid_out: str = ""


class StatementsAdminState(AuthState):
    allowed: bool = False
    refusal: str = ""
    year: str = str(datetime.now(UTC).year)
    shown_year: str = ""
    rows: list[StatementRowView] = []
    error: str = ""

    @rx.event
    async def load(self):
        return await admin_load(self, self._work(), self._show, hide=self._hide)

    @rx.event
    def set_year(self, value: str):
        self.year = str(value)[:YEAR_TEXT_MAX]

    @rx.event
    async def show_year(self):
        try:  # a year typed wrong is said beside the field; the service checks it again
            statement.require_year(self.year)
        except InvalidInput as error:
            self.error = error.message
            return None
        self.error = ""
        return await admin_load(self, self._work(), self._show, hide=self._hide, on_load=False)

    def _work(self):
        year = self.year
        return lambda actor_id, uow, settings: (year, statement.league_statement(actor_id, year, uow=uow))

    def _hide(self) -> None:
        self.rows = []

    def _show(self, shown) -> None:
        year, statements = shown
        self.shown_year = str(year)

        def money(cents: int, currency: str) -> str:
            return format_cents(cents, currency)

        rows = []
        for one in statements:
            total = one.total
            earned = (
                total.race_shares + total.tips_gross + total.result_fixes + total.adjustments + total.won_back
            )
            rows.append(
                StatementRowView(
                    racer_id=one.racer_id,
                    name=one.name,
                    href=routes.racer_path(one.racer_id),
                    earned=money(earned, one.currency),
                    tip_fees=money(total.tip_fees, one.currency),
                    taken_back=money(total.taken_back, one.currency),
                    net=money(total.net_earned, one.currency),
                    paid_out=money(total.paid_out_total, one.currency),
                )
            )
        self.rows = rows

    @rx.event
    async def download(self):
        year = self.year
        made = await call_service(
            self,
            lambda actor_id, uow, settings: statement.statement_csv(
                statement.league_statement(actor_id, year, uow=uow), with_racer=True
            ),
        )
        if made.refused:
            return made.toast()
        return rx.download(data=made.value, filename=f"cozykart-statements-{year}.csv", mime_type="text/csv")


def _row(row: StatementRowView) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row.name, href=row.href)),
        number_cell(row.earned),
        number_cell(row.tip_fees),
        number_cell(row.taken_back),
        number_cell(rx.text(row.net, weight="bold")),
        number_cell(row.paid_out),
        data_testid="statement-row",
    )


def _console() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Yearly statements", size="5", as_="h1"),
            rx.text(
                "What each racer earned in a calendar year (UTC), by kind, less tip fees and refunds taken "
                "back, and what was paid out: the figures for taxes. The CSV has every month and each "
                "payout method.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            rx.hstack(
                rx.el.label("Year", html_for="statement-year"),
                rx.input(
                    id="statement-year",
                    value=StatementsAdminState.year,
                    on_change=StatementsAdminState.set_year,
                    max_length=YEAR_TEXT_MAX,
                    width="6rem",
                    input_mode="numeric",
                    data_testid="statement-year",
                ),
                rx.button("Show", on_click=StatementsAdminState.show_year, data_testid="statement-show"),
                rx.button(
                    rx.icon("download", size=16, aria_hidden="true"),
                    "Download CSV",
                    on_click=StatementsAdminState.download,
                    variant="outline",
                    data_testid="statements-csv",
                ),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(
                StatementsAdminState.error != "",
                rx.text(
                    StatementsAdminState.error,
                    color=theme.LIVE_RED,
                    role="alert",
                    data_testid="statement-error",
                ),
            ),
            rx.cond(
                StatementsAdminState.rows.length() > 0,
                scrolling_table(
                    header_cell("Racer"),
                    header_cell("Earned", numeric=True),
                    header_cell("Tip fees", numeric=True),
                    header_cell("Refunds taken back", numeric=True),
                    header_cell("Net", numeric=True),
                    header_cell("Paid out", numeric=True),
                    body=rx.foreach(StatementsAdminState.rows, _row),
                    testid="statements-table",
                ),
                rx.text(
                    "No earnings or payouts in ",
                    StatementsAdminState.shown_year,
                    ".",
                    data_testid="statements-empty",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Yearly statements",
    )


@page(route=routes.ADMIN_STATEMENTS, title="Yearly statements", on_load=StatementsAdminState.load)
def admin_statements_page() -> rx.Component:
    return admin_gate(
        StatementsAdminState.allowed, StatementsAdminState.refusal, routes.ADMIN_STATEMENTS, _console()
    )

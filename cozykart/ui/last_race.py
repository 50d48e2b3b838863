"""The lobby's "Last race" block: the last final race's results and shares, linked to its receipt.

It loads itself when it mounts (the lobby page's own on_load is the board's),
from the same read model as `/races/[id]`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.domain.money import format_cents
from cozykart.services.reads.race_receipt import RaceReceipt, last_race_receipt
from cozykart.ui import routes, theme
from cozykart.ui.league_components import header_cell, number_cell, scrolling_table
from cozykart.ui.local_time import local_time
from cozykart.ui.service_call import call_service


@dataclasses.dataclass
class LastRaceRow:
    place: str = ""
    racer_name: str = ""
    racer_href: str = ""
    points: str = ""
    share: str = ""


class LastRaceState(rx.State):
    has_race: bool = False
    name: str = ""
    finalized_at: str = ""  # iso_instant
    pot: str = ""
    href: str = ""
    rows: list[LastRaceRow] = []

    @rx.event
    async def load(self):
        outcome = await call_service(
            self,
            lambda _anyone, uow, _settings: last_race_receipt(uow=uow, now=datetime.now(UTC)),
            anyone=True,
        )
        if outcome.refused:
            return outcome.toast()
        self._show(outcome.value)
        return None

    def _show(self, receipt: RaceReceipt | None) -> None:
        self.has_race = receipt is not None
        if receipt is None:
            self.rows = []
            return
        self.name = receipt.name
        self.finalized_at = iso_instant(receipt.finalized_at)
        self.pot = format_cents(receipt.pot_cents, receipt.currency)
        self.href = routes.race_path(receipt.race_id)
        self.rows = [
            LastRaceRow(
                place="DNF" if result.dnf or result.position is None else f"#{result.position}",
                racer_name=result.name,
                racer_href=routes.racer_path(result.racer_id),
                points=str(result.points or 0),
                share=format_cents(result.share_cents, receipt.currency),
            )
            for result in receipt.results
        ]


def last_race() -> rx.Component:
    """The block; nothing until a race is final."""
    return rx.box(
        rx.cond(
            LastRaceState.has_race,
            rx.el.section(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Last race: ", LastRaceState.name, size="4", as_="h2"),
                        rx.text(
                            "final ", local_time(LastRaceState.finalized_at), size="2", color=theme.TEXT_MUTED
                        ),
                        align="baseline",
                        spacing="3",
                        wrap="wrap",
                    ),
                    scrolling_table(
                        header_cell("Place"),
                        header_cell("Racer"),
                        header_cell("Points", numeric=True),
                        header_cell("Share", numeric=True),
                        body=rx.foreach(
                            LastRaceState.rows,
                            lambda row: rx.table.row(
                                rx.table.cell(rx.text(row.place, weight="bold")),
                                rx.table.row_header_cell(rx.link(row.racer_name, href=row.racer_href)),
                                number_cell(row.points),
                                number_cell(rx.text(row.share, color=theme.GOLD, weight="bold")),
                                data_testid="last-race-row",
                            ),
                        ),
                        testid="last-race-results",
                    ),
                    rx.link(
                        "The race's receipt: the pot (",
                        LastRaceState.pot,
                        "), every share and the sales that fed it →",
                        href=LastRaceState.href,
                        data_testid="last-race-receipt-link",
                    ),
                    spacing="3",
                    width="100%",
                ),
                style=theme.panel_style,
                aria_label="Last race",
                data_testid="last-race",
            ),
        ),
        on_mount=LastRaceState.load,
        width="100%",
    )

"""`/admin/outbox`: Discord announcements — what was sent, what waits, what failed; send again.

The list is read through `outbox.outbox_console` and a resend through
`outbox.resend`; both refuse anyone who is not an admin.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.discord_messages import OutboxStatus
from cozykart.services import outbox
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import (
    StatusFilter,
    StatusFilteredAdmin,
    admin_gate,
    admin_time,
    status_filter_button,
    status_filters,
)
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_SECONDS, local_time
from cozykart.ui.service_call import call_service

STATUS_COLORS = {OutboxStatus.SENT: "green", OutboxStatus.PENDING: "amber", OutboxStatus.FAILED: "red"}


@dataclasses.dataclass
class OutboxRowView:
    outbox_id: int = 0
    kind: str = ""
    summary: str = ""
    status: str = ""
    color: str = "gray"
    attempts: int = 0
    error: str = ""
    created: str = ""
    next_try: str = ""
    resendable: bool = False


class OutboxAdminState(StatusFilteredAdmin, AuthState):
    rows: list[OutboxRowView] = []

    def _statuses(self) -> tuple[str, ...]:
        return tuple(OutboxStatus)

    def _read_status(self, status: str | None):
        return lambda actor_id, uow, _settings: outbox.outbox_console(actor_id, status=status, uow=uow)

    def _show(self, console) -> None:
        self.filters = status_filters(console.counts, tuple(OutboxStatus))
        self.rows = [
            OutboxRowView(
                outbox_id=row.outbox_id,
                kind=row.kind,
                summary=row.summary,
                status=row.status,
                color=STATUS_COLORS.get(row.status, "gray"),
                attempts=row.attempts,
                error=row.last_error or "",
                created=admin_time(row.created_at),
                next_try=admin_time(row.next_attempt_at),
                resendable=row.status == OutboxStatus.FAILED,
            )
            for row in console.rows
        ]

    @rx.event
    async def resend(self, outbox_id: int):
        try:
            resent = await call_service(
                self,
                lambda actor_id, uow, _settings: outbox.resend(int(outbox_id), actor_id=actor_id, uow=uow),
            )
        except (TypeError, ValueError):
            return rx.toast.error("That is not an announcement.")
        if resent.refused:
            return resent.toast()
        return [
            rx.toast.success(f"Announcement #{resent.value.outbox_id} will be sent again"),
            OutboxAdminState.reload,
        ]


def _filter_button(option: StatusFilter) -> rx.Component:
    return status_filter_button(
        option,
        current=OutboxAdminState.status_filter,
        on_click=OutboxAdminState.show_status,
        testid="outbox-filter",
    )


def _row(row: OutboxRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("#", row.outbox_id)),
        rx.table.cell(
            rx.vstack(rx.text(row.summary), rx.text(row.kind, size="1", color=theme.TEXT_MUTED), spacing="1")
        ),
        rx.table.cell(rx.badge(row.status, color_scheme=row.color)),
        rx.table.cell(rx.text(row.attempts)),
        rx.table.cell(
            rx.vstack(
                rx.text(row.error, size="1", color=theme.LIVE_RED),
                rx.cond(
                    row.next_try != "",
                    rx.text(
                        "next try ",
                        local_time(row.next_try, pattern=LOCAL_SECONDS),
                        size="1",
                        color=theme.TEXT_MUTED,
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(local_time(row.created, pattern=LOCAL_SECONDS), size="1")),
        rx.table.cell(
            rx.cond(
                row.resendable,
                rx.button(
                    "Send again",
                    on_click=OutboxAdminState.resend(row.outbox_id),
                    size="1",
                    data_testid="outbox-resend",
                ),
            )
        ),
        data_testid="outbox-row",
    )


def _outbox() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Discord announcements", size="5", as_="h1"),
            rx.text(
                "Race starts, results, tips, cash-outs and champions, in the order they happened. Failed "
                "sends are retried on their own; after the last try they wait here to be sent again.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            rx.hstack(rx.foreach(OutboxAdminState.filters, _filter_button), spacing="2", wrap="wrap"),
            rx.cond(
                OutboxAdminState.rows.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(name)
                                    for name in (
                                        "#",
                                        "Announcement",
                                        "Status",
                                        "Tries",
                                        "Error",
                                        "Queued",
                                        "",
                                    )
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(OutboxAdminState.rows, _row)),
                        size="1",
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.text("No announcements here.", color=theme.TEXT_MUTED, data_testid="outbox-empty"),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Discord announcements",
    )


@page(route=routes.ADMIN_OUTBOX, title="Discord outbox", on_load=OutboxAdminState.load)
def admin_outbox_page() -> rx.Component:
    return admin_gate(OutboxAdminState.allowed, OutboxAdminState.refusal, routes.ADMIN_OUTBOX, _outbox())

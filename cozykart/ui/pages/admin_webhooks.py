"""`/admin/webhooks`: the webhook inbox — every verified event, its status and error; replay.

The list is read through `money_admin.webhook_inbox` and a replay through
`webhooks.replay`; both refuse anyone who is not an admin.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.payments import RETRYABLE_INBOX_STATUSES, InboxStatus
from cozykart.services import money_admin, webhooks
from cozykart.services.money_admin import InboxView
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

STATUS_COLORS = {
    InboxStatus.APPLIED: "green",
    InboxStatus.FAILED: "red",
    InboxStatus.WAITING: "amber",
    InboxStatus.FLAGGED: "orange",
    InboxStatus.IGNORED: "gray",
}


PARKED_NOTE = "Not retried on its own (it would fail the same way): fix the cause, then replay."


@dataclasses.dataclass
class InboxRowView:
    inbox_id: int = 0
    provider: str = ""
    event_id: str = ""
    event_type: str = ""
    fact_kind: str = ""
    status: str = ""
    color: str = "gray"
    attempts: int = 0
    error: str = ""
    received: str = ""
    next_try: str = ""
    replayable: bool = False
    parked: bool = False  # failed and not retried on its own (a permanent failure): an admin's to fix


class InboxAdminState(StatusFilteredAdmin, AuthState):
    rows: list[InboxRowView] = []

    def _statuses(self) -> tuple[str, ...]:
        return tuple(money_admin.INBOX_STATUSES)

    def _read_status(self, status: str | None):
        return lambda actor_id, uow, settings: money_admin.webhook_inbox(actor_id, status=status, uow=uow)

    def _show(self, view: InboxView) -> None:
        self.filters = status_filters(view.counts, money_admin.INBOX_STATUSES)
        self.rows = [
            InboxRowView(
                inbox_id=row.inbox_id,
                provider=row.provider,
                event_id=row.event_id,
                event_type=row.event_type,
                fact_kind=row.fact_kind,
                status=row.status,
                color=STATUS_COLORS.get(row.status, "gray"),
                attempts=row.attempts,
                error=row.last_error or "",
                received=admin_time(row.received_at),
                next_try=admin_time(row.next_attempt_at),
                replayable=row.status in RETRYABLE_INBOX_STATUSES,
                parked=row.parked,
            )
            for row in view.rows
        ]

    @rx.event
    async def replay(self, inbox_id: int):
        try:
            replayed = await call_service(
                self,
                lambda actor_id, uow, _settings: webhooks.replay(int(inbox_id), actor_id=actor_id, uow=uow),
            )
        except (TypeError, ValueError):
            return rx.toast.error("That is not an inbox event.")
        if replayed.refused:
            return replayed.toast()
        row = replayed.value
        toast = (
            rx.toast.success(f"Event #{row.inbox_id} applied")
            if row.status == InboxStatus.APPLIED
            else rx.toast.warning(f"Event #{row.inbox_id} is {row.status}: {row.last_error or ''}")
        )
        return [toast, InboxAdminState.reload]


def _filter_button(option: StatusFilter) -> rx.Component:
    return status_filter_button(
        option,
        current=InboxAdminState.status_filter,
        on_click=InboxAdminState.show_status,
        testid="inbox-filter",
    )


def _row(row: InboxRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("#", row.inbox_id)),
        rx.table.cell(
            rx.vstack(rx.text(row.provider, weight="bold"), rx.code(row.event_id, size="1"), spacing="1")
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(row.event_type), rx.text(row.fact_kind, size="1", color=theme.TEXT_MUTED), spacing="1"
            )
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
                rx.cond(
                    row.parked, rx.text(PARKED_NOTE, size="1", weight="bold", data_testid="inbox-parked")
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.text(local_time(row.received, pattern=LOCAL_SECONDS), size="1")),
        rx.table.cell(
            rx.cond(
                row.replayable,
                rx.button(
                    "Replay",
                    on_click=InboxAdminState.replay(row.inbox_id),
                    size="1",
                    data_testid="inbox-replay",
                ),
            )
        ),
        data_testid="inbox-row",
    )


def _inbox() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Webhook inbox", size="5", as_="h1"),
            rx.text(
                "Every verified event from Stripe, Ko-fi and Shopify. Waiting events, and failed ones that "
                "can pass later, are retried on their own; replay one to apply it now.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            rx.hstack(rx.foreach(InboxAdminState.filters, _filter_button), spacing="2", wrap="wrap"),
            rx.cond(
                InboxAdminState.rows.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(name)
                                    for name in (
                                        "#",
                                        "Provider",
                                        "Event",
                                        "Status",
                                        "Tries",
                                        "Error",
                                        "Received",
                                        "",
                                    )
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(InboxAdminState.rows, _row)),
                        size="1",
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.text("No events here.", color=theme.TEXT_MUTED, data_testid="inbox-empty"),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Webhook inbox",
    )


@page(route=routes.ADMIN_WEBHOOKS, title="Webhook inbox", on_load=InboxAdminState.load)
def admin_webhooks_page() -> rx.Component:
    return admin_gate(InboxAdminState.allowed, InboxAdminState.refusal, routes.ADMIN_WEBHOOKS, _inbox())

"""`/admin/outbox`: Discord announcements — what was sent, what waits, what failed; send again.

The list is read through `outbox.outbox_console` and a resend through
`outbox.resend`; both refuse anyone who is not an admin. Each announcement is
previewed as Discord would show it (names for mentions, our markdown undone:
`domain/discord_preview.py`), as plain text the page escapes. With no
DISCORD_ANNOUNCE_WEBHOOK_URL nothing is sent: the page says so, and a waiting
announcement reads "recorded only", not "pending, 0 tries" for ever.
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
RECORDED_ONLY = "recorded only"
NOT_SENDING = "recorded only: `DISCORD_ANNOUNCE_WEBHOOK_URL` is not set"


@dataclasses.dataclass
class EmbedPreviewView:
    title: str = ""
    description: str = ""
    fields: str = ""  # each field's name and value, a blank line between fields
    footer: str = ""


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
    content: str = ""  # the preview: as Discord would show it
    embeds: list[EmbedPreviewView] = dataclasses.field(default_factory=list)


def _embed_views(preview) -> list[EmbedPreviewView]:
    if preview is None:
        return []
    return [
        EmbedPreviewView(
            title=embed.title,
            description=embed.description,
            fields="\n\n".join(f"{field.name}\n{field.value}" for field in embed.fields),
            footer=embed.footer,
        )
        for embed in preview.embeds
    ]


class OutboxAdminState(StatusFilteredAdmin, AuthState):
    rows: list[OutboxRowView] = []
    sending: bool = True

    def _statuses(self) -> tuple[str, ...]:
        return tuple(OutboxStatus)

    def _read_status(self, status: str | None):
        return lambda actor_id, uow, _settings: outbox.outbox_console(actor_id, status=status, uow=uow)

    def _show(self, console) -> None:
        self.filters = status_filters(console.counts, tuple(OutboxStatus))
        self.sending = console.sending
        recorded_only = not console.sending
        self.rows = [
            OutboxRowView(
                outbox_id=row.outbox_id,
                kind=row.kind,
                summary=row.summary,
                status=RECORDED_ONLY if recorded_only and row.status == OutboxStatus.PENDING else row.status,
                color="gray" if recorded_only else STATUS_COLORS.get(row.status, "gray"),
                attempts=row.attempts,
                error=row.last_error or "",
                created=admin_time(row.created_at),
                next_try=admin_time(row.next_attempt_at),
                resendable=row.status == OutboxStatus.FAILED,
                content=row.preview.content if row.preview is not None else "",
                embeds=_embed_views(row.preview),
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


def _embed_preview(embed: EmbedPreviewView) -> rx.Component:
    return rx.vstack(
        rx.cond(embed.title != "", rx.text(embed.title, weight="bold", size="2")),
        rx.cond(embed.description != "", rx.text(embed.description, size="2", white_space="pre-wrap")),
        rx.cond(embed.fields != "", rx.text(embed.fields, size="1", white_space="pre-wrap")),
        rx.cond(embed.footer != "", rx.text(embed.footer, size="1", color=theme.TEXT_MUTED)),
        spacing="1",
        padding="0.4rem 0.6rem",
        border_left=f"3px solid {theme.DISCORD_BLUE}",
        background="rgba(255,255,255,0.03)",
        width="100%",
        data_testid="outbox-preview-embed",
    )


def _preview(row: OutboxRowView) -> rx.Component:
    return rx.vstack(
        rx.cond(row.content != "", rx.text(row.content, size="2", white_space="pre-wrap")),
        rx.foreach(row.embeds, _embed_preview),
        spacing="1",
        width="100%",
        max_width="32rem",
        data_testid="outbox-preview",
    )


def _row(row: OutboxRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("#", row.outbox_id)),
        rx.table.cell(
            rx.vstack(_preview(row), rx.text(row.kind, size="1", color=theme.TEXT_MUTED), spacing="1")
        ),
        rx.table.cell(rx.badge(row.status, color_scheme=row.color, data_testid="outbox-status")),
        rx.table.cell(rx.cond(OutboxAdminState.sending, rx.text(row.attempts), rx.text("—"))),
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
            rx.cond(
                ~OutboxAdminState.sending,
                rx.callout(
                    rx.text(
                        "recorded only: ",
                        rx.code("DISCORD_ANNOUNCE_WEBHOOK_URL"),
                        " is not set. Announcements are kept here and nothing is sent to Discord; "
                        "set it and restart the app to send them, oldest first.",
                    ),
                    icon="info",
                    color_scheme="gray",
                    data_testid="outbox-not-sending",
                ),
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

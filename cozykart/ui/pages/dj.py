"""`/dj`: the DJ booth — the song requests that came with tips, oldest first, played or skipped.

Only the DJ (a racer with the DJ flag) and admins open it; anyone else is told
so. The service (`services/song_requests.py`) checks it again on every read and
every click, from the session: a client that sends `mark` itself is refused the
same way. The queue is live for every open booth: when a request arrives, is
decided or refunded, each booth re-reads it for its own viewer
(`live_race.follow_with_event`).
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.domain.money import format_cents
from cozykart.domain.song_requests import RequestStatus
from cozykart.services import live, song_requests
from cozykart.ui import live_race, routes, theme
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.local_time import local_time
from cozykart.ui.service_call import call_service


@dataclasses.dataclass
class RequestView:
    request_id: int = 0
    fan_name: str = ""
    song: str = ""
    message: str = ""
    amount: str = ""
    at: str = ""  # iso_instant, shown in the viewer's zone
    status: str = ""


def _view(line: song_requests.RequestLine, currency: str) -> RequestView:
    return RequestView(
        request_id=line.request_id,
        fan_name=line.fan_name,
        song=line.song,
        message=line.message,
        amount=format_cents(line.tip_cents, currency),
        at=iso_instant(line.created_at),
        status=line.status,
    )


class DjState(AuthState):
    loaded: bool = False
    refusal: str = ""  # why this viewer sees no booth ("" when they do)
    waiting: list[RequestView] = []
    decided: list[RequestView] = []
    all_djs: bool = False

    @rx.event
    async def load(self):
        if await self._load_viewer() is None:
            return self._to_login()
        await live_race.join(self, _room)  # before the read: a change after it is pushed
        return await self._read()

    @rx.event
    async def reload_queue(self):
        """Read the queue again (every open booth runs this when the queue changed)."""
        if not self.logged_in:
            return None
        return await self._read()

    @rx.event
    async def mark(self, request_id: int, decision: str):
        """Mark one request played or skipped, as the DJ behind this session (checked by the service)."""
        outcome = await call_service(
            self,
            lambda actor_id, uow, _settings: song_requests.decide_request(
                actor_id, request_id, decision, uow=uow
            ),
        )
        if outcome.refused:
            return outcome.toast()
        assert outcome.value is not None
        await self._read()
        return rx.toast.success(f"“{outcome.value.song}” marked {outcome.value.status}.")

    async def _read(self):
        outcome = await call_service(
            self, lambda actor_id, uow, _settings: song_requests.dj_booth(actor_id, uow=uow)
        )
        self.loaded = True
        if outcome.refused or outcome.value is None:
            self.refusal = outcome.message
            self.waiting, self.decided = [], []
            return None
        booth = outcome.value
        self.refusal = ""
        self.waiting = [_view(line, booth.currency) for line in booth.waiting]
        self.decided = [_view(line, booth.currency) for line in booth.decided]
        self.all_djs = booth.all_djs
        return None


_room = live_race.follow_with_event("cozykart-live-dj", {live.REQUESTS}, DjState.reload_queue)


def _waiting_line(line: RequestView) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.icon("music", size=18, color=theme.GOLD, aria_hidden="true"),
            rx.text(line.song, weight="bold", size="3", data_testid="dj-request-song"),
            rx.spacer(),
            rx.text(line.amount, weight="bold", color=theme.GOLD, data_testid="dj-request-amount"),
            align="center",
            width="100%",
        ),
        rx.text("from ", rx.text.strong(line.fan_name), " · ", local_time(line.at, ago=True), size="2"),
        rx.cond(
            line.message != "",
            rx.text(
                "“", line.message, "”", size="2", color=theme.TEXT_MUTED, data_testid="dj-request-message"
            ),
        ),
        rx.hstack(
            rx.button(
                "Played",
                on_click=DjState.mark(line.request_id, RequestStatus.PLAYED.value),
                color_scheme="green",
                data_testid="dj-played",
            ),
            rx.button(
                "Skipped",
                on_click=DjState.mark(line.request_id, RequestStatus.SKIPPED.value),
                variant="outline",
                color_scheme="gray",
                data_testid="dj-skipped",
            ),
            spacing="2",
            margin_top="0.5rem",
        ),
        padding="0.75rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="dj-request",
        data_request_id=line.request_id,
    )


def _decided_line(line: RequestView) -> rx.Component:
    refunded = line.status == RequestStatus.REFUNDED.value
    return rx.hstack(
        rx.text(
            line.song,
            size="2",
            text_decoration=rx.cond(refunded, "line-through", "none"),
            data_testid="dj-decided-song",
        ),
        rx.text(line.fan_name, size="1", color=theme.TEXT_MUTED),
        rx.spacer(),
        rx.badge(
            line.status,
            color_scheme=rx.cond(refunded, "red", rx.cond(line.status == "played", "green", "gray")),
            data_testid="dj-decided-status",
        ),
        align="center",
        width="100%",
        padding_y="0.35rem",
        data_testid="dj-decided",
    )


def _booth() -> rx.Component:
    return rx.el.section(
        rx.heading("The DJ booth", size="6", color=theme.GOLD),
        rx.text(
            rx.cond(DjState.all_djs, "Every DJ's requests", "Your song requests"),
            ", oldest first: play them in order and mark each one.",
            color=theme.TEXT_MUTED,
            size="2",
        ),
        rx.cond(
            DjState.waiting.length() > 0,
            rx.box(rx.foreach(DjState.waiting, _waiting_line), margin_top="0.75rem"),
            rx.text("No requests waiting.", margin_top="0.75rem", data_testid="dj-empty"),
        ),
        rx.cond(
            DjState.decided.length() > 0,
            rx.box(
                rx.heading("Lately", size="4", as_="h2", margin_top="1rem"),
                rx.foreach(DjState.decided, _decided_line),
            ),
        ),
        style=theme.panel_style,
        aria_label="The DJ booth",
        data_testid="dj-booth",
    )


def _refused() -> rx.Component:
    return rx.callout(DjState.refusal, icon="lock", color_scheme="red", data_testid="dj-refused")


@page(route=routes.DJ, title="DJ booth", on_load=DjState.load)
def dj_page() -> rx.Component:
    return rx.cond(
        DjState.logged_in,
        rx.cond(
            DjState.loaded,
            rx.cond(DjState.refusal != "", _refused(), _booth()),
            rx.text("Loading the booth…", color=theme.TEXT_MUTED),
        ),
        rx.text("Taking you to the login…", color=theme.TEXT_MUTED),
    )

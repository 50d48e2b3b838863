"""`/notices`: a racer's private notices (a payout paid or rejected, a wallet in debt).

Opening the page shows the newest notices and marks them seen, so the header's
bell clears. Only the logged-in racer's own notices are ever read: the service
takes the racer from the session, never from the browser.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.domain.notices import NoticeKind
from cozykart.services import notices
from cozykart.ui import routes, theme
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_WITH_YEAR, local_time
from cozykart.ui.service_call import call_service


@dataclasses.dataclass
class NoticeView:
    notice_id: int = 0
    title: str = ""
    body: str = ""
    when: str = ""  # iso_instant, shown in the viewer's zone
    unseen: bool = False
    tone: str = "gold"  # paid: green; rejected or in debt: red


class NoticesState(AuthState):
    lines: list[NoticeView] = []
    loaded: bool = False
    error: str = ""

    @rx.event
    async def load(self):
        viewer = await self._load_viewer()
        if viewer is None:
            return self._to_login()
        opened = await call_service(
            self, lambda racer_id, uow, _settings: notices.open_notices(racer_id, uow=uow)
        )
        if opened.refused:
            self.error = opened.message
            return opened.toast()
        self.lines = [
            NoticeView(
                notice_id=line.notice_id,
                title=line.title,
                body=line.body,
                when=iso_instant(line.created_at),
                unseen=line.unseen,
                tone="green" if line.kind in (NoticeKind.PAYOUT_PAID, NoticeKind.SONG_REQUEST) else "red",
            )
            for line in opened.value or ()
        ]
        self.unread_notices = 0  # all shown are seen now
        self.loaded, self.error = True, ""
        return None


def _line(line: NoticeView) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.badge(line.title, color_scheme=rx.cond(line.tone == "green", "green", "red"), size="2"),
            rx.cond(line.unseen, rx.badge("new", color_scheme="amber", variant="solid", size="1")),
            rx.spacer(),
            rx.text(local_time(line.when, pattern=LOCAL_WITH_YEAR), size="1", color=theme.TEXT_MUTED),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        rx.text(line.body, margin_top="0.4rem", data_testid="notice-body"),
        padding="0.75rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="notice-line",
    )


def _notices() -> rx.Component:
    return rx.el.section(
        rx.heading("Your notices", size="6", margin_bottom="0.5rem"),
        rx.text(
            "Only you see these. Payouts and your wallet: ",
            rx.link("open your wallet", href=routes.WALLET),
            ".",
            color=theme.TEXT_MUTED,
            size="2",
        ),
        rx.cond(
            NoticesState.lines.length() > 0,
            rx.box(rx.foreach(NoticesState.lines, _line), margin_top="0.75rem"),
            rx.cond(
                NoticesState.loaded,
                rx.text(
                    "Nothing yet: you are told here when a payout is paid or rejected.",
                    margin_top="0.75rem",
                    data_testid="notices-empty",
                ),
            ),
        ),
        rx.cond(NoticesState.error != "", rx.text(NoticesState.error, color=theme.LIVE_RED, role="alert")),
        style=theme.panel_style,
        aria_label="Your notices",
    )


@page(route=routes.NOTICES, title="Your notices", on_load=NoticesState.load)
def notices_page() -> rx.Component:
    return rx.cond(
        NoticesState.logged_in, _notices(), rx.text("Taking you to the login…", color=theme.TEXT_MUTED)
    )

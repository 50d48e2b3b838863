"""The admin console's sub-layout: a small admin navigation above each admin page.

Showing the console is not the permission: every admin page's state asks a
service, which refuses a non-admin; the page then shows that refusal instead of
the console (`admin_gate`). `admin_load` is that pattern once, on the one
`ui/service_call.call_service` (the acting racer re-derived from the session,
the service run off the event loop): a refusal kept for the page to show. An
admin action calls `call_service` itself and toasts a refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.ui import routes, theme
from cozykart.ui.service_call import ServiceWork, call_service

T = TypeVar("T")

ADMIN_LINKS: tuple[tuple[str, str], ...] = (
    ("Payouts", routes.ADMIN_PAYOUTS),
    ("Results", routes.ADMIN_RESULTS),
    ("Seasons", routes.ADMIN_SEASONS),
    ("Money settings", routes.ADMIN_SETTINGS),
    ("Webhook inbox", routes.ADMIN_WEBHOOKS),
    ("Reconciliation", routes.ADMIN_RECONCILE),
    ("Statements", routes.ADMIN_STATEMENTS),
    ("Discord outbox", routes.ADMIN_OUTBOX),
    ("Overlays", routes.ADMIN_OVERLAYS),
    ("Roles", routes.ADMIN_ROLES),
)


def _link(label: str, href: str, *, current: bool) -> rx.Component:
    if current:
        return rx.link(label, href=href, color=theme.GOLD, weight="bold", aria_current="page")
    return rx.link(label, href=href, color=theme.TEXT, weight="medium")


def admin_nav(current_route: str) -> rx.Component:
    return rx.el.nav(
        rx.hstack(
            rx.text("Admin", weight="bold", color=theme.GOLD),
            *[_link(label, href, current=href == current_route) for label, href in ADMIN_LINKS],
            spacing="4",
            wrap="wrap",
            align="center",
        ),
        aria_label="Admin",
        padding="0.6rem 1rem",
        border_radius="12px",
        border=f"1px solid {theme.PANEL_BORDER}",
        background="rgba(255,255,255,0.03)",
        width="100%",
        data_testid="admin-nav",
    )


def admin_time(instant: datetime | None) -> str:
    """A moment for an admin page's state: `iso_instant` ("" for none; a naive one is UTC), which the
    page shows in the viewer's zone with `ui/local_time.local_time`."""
    return iso_instant(instant)


@dataclasses.dataclass
class StatusFilter:
    """One button of a list page's status filter: the status ("" for all) and its label with a count."""

    status: str = ""
    label: str = ""


def status_filters(counts: Mapping[str, int], statuses: Iterable[str]) -> list[StatusFilter]:
    """ "All (n)" then each status with its count, for `status_filter_button`."""
    return [StatusFilter("", f"All ({sum(counts.values())})")] + [
        StatusFilter(status, f"{status} ({counts.get(status, 0)})") for status in statuses
    ]


def status_filter_button(
    option: StatusFilter, *, current: rx.Var[str], on_click: rx.EventHandler, testid: str
) -> rx.Component:
    """A filter button, pressed (solid, aria-pressed) when its status is the one shown."""
    chosen = current == option.status
    return rx.button(
        option.label,
        on_click=on_click(option.status),
        variant=rx.cond(chosen, "solid", "outline"),
        size="1",
        aria_pressed=rx.cond(chosen, "true", "false"),
        data_testid=testid,
    )


def admin_title(text: str) -> rx.Component:
    """An admin page's one h1, for pages whose panels each have their own h2."""
    return rx.heading(text, size="7", as_="h1")


def admin_gate(
    allowed: rx.Var[bool], refusal: rx.Var[str], current_route: str, console: rx.Component
) -> rx.Component:
    """The admin nav and console when the service allowed it; otherwise its refusal."""
    return rx.cond(
        allowed,
        rx.vstack(admin_nav(current_route), console, spacing="4", width="100%"),
        rx.el.section(
            rx.text(
                rx.cond(refusal != "", refusal, "Checking that you are an admin…"),
                data_testid="admin-refusal",
                role="status",
            ),
            style=theme.panel_style,
        ),
    )


async def admin_load(
    state: Any,
    work: ServiceWork[T],
    show: Callable[[T], None],
    *,
    hide: Callable[[], None] | None = None,
    on_load: bool = True,
):
    """An admin page's load (`on_load`: log in first) or refresh: `show` what the service returned.

    `state` has `allowed` and `refusal` vars (what `admin_gate` reads). A
    refusal (not an admin, or any service error) hides the console, says why,
    and calls `hide` so nothing read earlier stays in the browser.
    """
    if on_load and await state._load_viewer() is None:
        return state._to_login()
    outcome = await call_service(state, work)
    state.allowed = not outcome.refused
    state.refusal = outcome.message
    if outcome.refused:
        if hide is not None:
            hide()
        return None
    show(outcome.value)
    return None


class StatusFilteredAdmin(rx.State, mixin=True):
    """An admin list page filtered by status (the outbox, the webhook inbox): its load, its
    filter buttons' handler and its reload, once. A page mixes it into its state with
    `AuthState` and gives `_statuses()`, `_read_status(status)` (the service call: a status
    or None for all) and `_show` (what `admin_load` calls with the result); a refusal
    empties the page's `rows`."""

    allowed: bool = False
    refusal: str = ""
    status_filter: str = ""
    filters: list[StatusFilter] = []

    @rx.event
    async def load(self):
        return await admin_load(
            self, self._read_status(self.status_filter or None), self._show, hide=self._hide
        )

    @rx.event
    async def show_status(self, status: str):
        self.status_filter = status if status in self._statuses() else ""
        return await self._reload()

    @rx.event
    async def reload(self):
        return await self._reload()

    async def _reload(self):
        return await admin_load(
            self, self._read_status(self.status_filter or None), self._show, hide=self._hide, on_load=False
        )

    def _statuses(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _read_status(self, status: str | None) -> ServiceWork:
        raise NotImplementedError

    def _show(self, view: Any) -> None:
        raise NotImplementedError

    def _hide(self) -> None:
        self.rows = []  # each page declares its own typed `rows`

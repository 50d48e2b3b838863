"""The admin console's sub-layout: a small admin navigation above each admin page.

Showing the console is not the permission: every admin page's state asks a
service, which refuses a non-admin; the page then shows that refusal instead of
the console (`admin_gate`).
"""

from __future__ import annotations

import reflex as rx

from cozykart.ui import theme
from cozykart.ui.auth_state import ADMIN_ROLES_ROUTE

ADMIN_PAYOUTS_ROUTE = "/admin/payouts"
ADMIN_WEBHOOKS_ROUTE = "/admin/webhooks"
ADMIN_RECONCILE_ROUTE = "/admin/reconcile"
ADMIN_OUTBOX_ROUTE = "/admin/outbox"
ADMIN_OVERLAYS_ROUTE = "/admin/overlays"

ADMIN_LINKS: tuple[tuple[str, str], ...] = (
    ("Payouts", ADMIN_PAYOUTS_ROUTE),
    ("Webhook inbox", ADMIN_WEBHOOKS_ROUTE),
    ("Reconciliation", ADMIN_RECONCILE_ROUTE),
    ("Discord outbox", ADMIN_OUTBOX_ROUTE),
    ("Overlays", ADMIN_OVERLAYS_ROUTE),
    ("Roles", ADMIN_ROLES_ROUTE),
)


def _link(label: str, href: str, *, current: bool) -> rx.Component:
    if current:
        return rx.link(label, href=href, color=theme.GOLD, weight="bold", aria_current="page")
    return rx.link(label, href=href, color="#f4f2ff", weight="medium")


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


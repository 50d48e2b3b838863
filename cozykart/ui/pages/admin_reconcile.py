"""`/admin/reconcile`: run reconciliation and see "clean" or every violation.

Read-only. `money_admin.reconciliation` refuses anyone who is not an admin.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.services import money_admin
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_SECONDS, local_time


@dataclasses.dataclass
class ViolationView:
    check: str = ""
    detail: str = ""


def _reconcile(actor_id, uow, settings):
    return money_admin.reconciliation(actor_id, uow=uow)


class ReconcileAdminState(AuthState):
    allowed: bool = False
    refusal: str = ""
    clean: bool = False
    summary: str = ""
    ran_at: str = ""
    violations: list[ViolationView] = []
    running: bool = False

    @rx.event
    async def load(self):
        return await self._run(on_load=True)

    @rx.event
    async def run(self):
        if self.running:
            return None
        return await self._run(on_load=False)

    async def _run(self, *, on_load: bool):
        self.running = True
        try:
            return await admin_load(self, _reconcile, self._show, hide=self._hide, on_load=on_load)
        finally:
            self.running = False

    def _hide(self) -> None:
        self.violations = []

    def _show(self, report) -> None:
        self.clean = report.clean
        self.ran_at = iso_instant(datetime.now(UTC))
        self.summary = (
            f"{report.transactions_checked} transactions and {report.accounts_checked} accounts checked"
        )
        self.violations = [ViolationView(v.check, v.detail) for v in report.violations]


def _violation(violation: ViolationView) -> rx.Component:
    return rx.hstack(
        rx.code(violation.check, color_scheme="red"),
        rx.text(violation.detail, size="2"),
        spacing="3",
        align="center",
        wrap="wrap",
        data_testid="reconcile-violation",
    )


def _report() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.heading("Reconciliation", size="5", as_="h1"),
                rx.spacer(),
                rx.button(
                    "Run again",
                    on_click=ReconcileAdminState.run,
                    loading=ReconcileAdminState.running,
                    data_testid="reconcile-run",
                ),
                width="100%",
                align="center",
            ),
            rx.text(
                "Every transaction balances, cached balances equal their postings, no account breaks its "
                "rule, every payment was applied exactly once, and final races' pools are empty.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            rx.cond(
                ReconcileAdminState.clean,
                rx.callout(
                    "Clean: the ledger reconciles.",
                    icon="circle-check",
                    color_scheme="green",
                    data_testid="reconcile-clean",
                ),
                rx.callout(
                    "Violations found: see below.",
                    icon="triangle-alert",
                    color_scheme="red",
                    data_testid="reconcile-dirty",
                ),
            ),
            rx.text(
                ReconcileAdminState.summary,
                " · ran ",
                local_time(ReconcileAdminState.ran_at, pattern=LOCAL_SECONDS),
                size="1",
                color=theme.TEXT_MUTED,
            ),
            rx.vstack(rx.foreach(ReconcileAdminState.violations, _violation), spacing="2", width="100%"),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Reconciliation",
    )


@page(route=routes.ADMIN_RECONCILE, title="Reconciliation", on_load=ReconcileAdminState.load)
def admin_reconcile_page() -> rx.Component:
    return admin_gate(
        ReconcileAdminState.allowed, ReconcileAdminState.refusal, routes.ADMIN_RECONCILE, _report()
    )

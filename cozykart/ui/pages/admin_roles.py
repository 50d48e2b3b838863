"""`/admin/roles`: admins grant and revoke the host and DJ roles; every change is audited.

Each handler re-derives the acting racer from the backend session and the
service refuses anyone who is not an admin, whatever the page showed them.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.services import identity
from cozykart.services.identity import RolesOverview
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_WITH_YEAR, local_time
from cozykart.ui.service_call import call_service


@dataclasses.dataclass
class RoleRowView:
    racer_id: int = 0
    name: str = ""
    username: str = ""
    avatar_url: str = ""
    is_admin: bool = False
    is_host: bool = False
    is_dj: bool = False


@dataclasses.dataclass
class RoleChangeRowView:
    when: str = ""
    text: str = ""


def _overview(actor_id, uow, _settings) -> RolesOverview:
    return identity.roles_overview(actor_id, uow=uow)


ROLE_WORDS = {
    "host": "may open lobbies, start and end races and rule on the results of the races they host",
    "dj": "receives tips and song requests, and sees the request queue",
}


class RolesState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    rows: list[RoleRowView] = []
    history: list[RoleChangeRowView] = []

    @rx.event
    async def load(self):
        return await admin_load(self, _overview, self._show, hide=self._hide)

    @rx.event
    async def ask_set_role(self, racer_id: int, role: str, granted: bool):
        """The dialog before a role changes: who, which role, what it allows, from a dry run."""
        previewed = await call_service(
            self,
            lambda actor_id, uow, _settings: identity.preview_set_role(
                actor_id, int(racer_id), str(role), granted=granted is True, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        row, changes = previewed.value
        role_key = str(role).strip().lower()
        label = "DJ" if role_key == "dj" else role_key
        verb = "Grant" if granted is True else "Revoke"
        lines = (
            [
                f"{row.display_name} {'becomes' if granted is True else 'stops being'} a {label}: "
                f"{'they' if granted is True else 'they no longer'} {ROLE_WORDS.get(role_key, '')}.",
                "The change is kept in the role history, with your name.",
            ]
            if changes
            else [
                f"{row.display_name} {'already is' if granted is True else 'is not'} a {label}: nothing changes."
            ]
        )
        self._ask(
            title=f"{verb} {label} {'to' if granted is True else 'from'} {row.display_name}?",
            lines=lines,
            label=f"{verb} {label}",
            handler="set_role",
            args={"racer_id": row.racer_id, "role": role_key, "granted": granted is True},
        )
        return None

    @rx.event
    async def set_role(self, racer_id: int, role: str, granted: bool):
        changed = await call_service(
            self,
            lambda actor_id, uow, _settings: identity.set_role(
                actor_id, int(racer_id), str(role), granted=bool(granted), uow=uow
            ),
        )
        if changed.refused:
            return changed.toast()
        overview = await call_service(self, _overview)
        if overview.refused:
            return overview.toast()
        self._show(overview.value)
        return rx.toast.success("Role updated")

    def _hide(self) -> None:
        self.rows = []
        self.history = []

    def _show(self, overview: RolesOverview) -> None:
        self.rows = [
            RoleRowView(
                racer_id=row.racer_id,
                name=row.display_name,
                username=row.username,
                avatar_url=row.avatar_url,
                is_admin=row.is_admin,
                is_host=row.is_host,
                is_dj=row.is_dj,
            )
            for row in overview.racers
        ]
        self.history = [
            RoleChangeRowView(
                when=iso_instant(change.created_at),
                text=(
                    f"{change.actor_name} {'granted' if change.new_value else 'revoked'} "
                    f"{'DJ' if change.role == 'dj' else change.role} "
                    f"{'to' if change.new_value else 'from'} {change.racer_name}"
                ),
            )
            for change in overview.history
        ]


def _role_button(row: RoleRowView, role: str, held: rx.Var[bool], label: str) -> rx.Component:
    return rx.button(
        rx.cond(held, f"Revoke {label}", f"Grant {label}"),
        on_click=RolesState.ask_set_role(row.racer_id, role, ~held),
        variant=rx.cond(held, "soft", "outline"),
        color_scheme=rx.cond(held, "red", "amber"),
        size="1",
        data_testid=f"toggle-{role}",
    )


def _row(row: RoleRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.image(src=row.avatar_url, alt=row.name, width="28px", height="28px", border_radius="50%"),
                rx.text(row.name),
                rx.text("@", row.username, size="1", color=theme.TEXT_MUTED),
                align="center",
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.cond(row.is_admin, rx.badge("admin", color_scheme="purple")),
                rx.cond(row.is_host, rx.badge("host", color_scheme="amber")),
                rx.cond(row.is_dj, rx.badge("DJ", color_scheme="blue")),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.hstack(
                _role_button(row, "host", row.is_host, "host"),
                _role_button(row, "dj", row.is_dj, "DJ"),
                spacing="2",
            )
        ),
        data_testid="role-row",
    )


def _history_item(change: RoleChangeRowView) -> rx.Component:
    return rx.hstack(
        rx.text(
            local_time(change.when, pattern=LOCAL_WITH_YEAR),
            size="1",
            color=theme.TEXT_MUTED,
            white_space="nowrap",
        ),
        rx.text(change.text, size="2"),
        spacing="3",
        data_testid="role-change",
    )


def _console() -> rx.Component:
    return rx.vstack(
        rx.el.section(
            rx.vstack(
                rx.heading("Roles", size="6", as_="h1"),
                rx.text(
                    "Admins come from COZYKART_ADMIN_DISCORD_IDS; grant or revoke host and DJ here.",
                    color=theme.TEXT_MUTED,
                    size="2",
                ),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Racer"),
                            rx.table.column_header_cell("Roles"),
                            rx.table.column_header_cell("Change"),
                        )
                    ),
                    rx.table.body(rx.foreach(RolesState.rows, _row)),
                    width="100%",
                    size="1",
                ),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Roles",
        ),
        rx.el.section(
            rx.vstack(
                rx.heading("Recent role changes", size="4", as_="h2"),
                rx.cond(
                    RolesState.history.length() > 0,
                    rx.vstack(rx.foreach(RolesState.history, _history_item), spacing="1"),
                    rx.text("No role changes yet.", color=theme.TEXT_MUTED),
                ),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Role changes",
        ),
        spacing="4",
        width="100%",
    )


@page(route=routes.ADMIN_ROLES, title="Roles", on_load=RolesState.load)
def roles_page() -> rx.Component:
    return rx.cond(
        RolesState.allowed,
        rx.fragment(confirm_dialog(RolesState), _console()),
        rx.el.section(
            rx.text(
                rx.cond(RolesState.refusal != "", RolesState.refusal, "Checking your roles…"),
                data_testid="roles-refusal",
            ),
            style=theme.panel_style,
        ),
    )

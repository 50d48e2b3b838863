"""`/admin/audit`: every admin action, newest first: who, when, what, old -> new, why.

Read-only. `reads.audit.audit_trail` refuses anyone who is not an admin (the
page's load asks it, on the server, like every admin page). The race and racer
filters are typed text: each is checked (a positive whole number naming a race
or racer that exists); a bad one is said beside its field, what was typed stays,
and the list shown does not change.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.audit import AuditEntry
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.instants import iso_instant
from cozykart.services.reads.audit import audit_trail, parse_filter_id
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load, admin_title
from cozykart.ui.auth_state import AuthState
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_WITH_YEAR, local_time
from cozykart.ui.service_call import call_service

FILTER_INPUT_LENGTH_MAX = 12


@dataclasses.dataclass
class AuditRowView:
    when: str = ""  # iso_instant, shown in the viewer's zone (the UTC instant on hover)
    what: str = ""
    who: str = ""
    subject: str = ""
    change: str = ""
    why: str = ""


def _row(entry: AuditEntry) -> AuditRowView:
    return AuditRowView(
        when=iso_instant(entry.at),
        what=entry.label,
        who=entry.actor_name,
        subject=entry.subject,
        change=entry.change,
        why=entry.reason,
    )


def _checked(value: object, what: str) -> tuple[int | None, str]:
    """The filter's number, or the words saying why it is not one."""
    try:
        return parse_filter_id(value, what), ""
    except InvalidInput as error:
        return None, error.message


def _linked(race: int | None, racer: int | None):
    """The trail a link asked for; one that names no race or racer shows the whole trail and why."""

    def work(actor_id, uow, _settings) -> tuple[tuple[AuditEntry, ...], str]:
        try:
            return audit_trail(actor_id=actor_id, race_id=race, racer_id=racer, uow=uow), ""
        except NotFound as error:
            return audit_trail(actor_id=actor_id, uow=uow), error.message

    return work


class AuditState(AuthState):
    allowed: bool = False
    refusal: str = ""
    rows: list[AuditRowView] = []
    race_filter: str = ""
    racer_filter: str = ""
    race_error: str = ""
    racer_error: str = ""
    filtered: bool = False

    def _work(self, race: int | None, racer: int | None):
        return lambda actor_id, uow, _settings: audit_trail(
            actor_id=actor_id, race_id=race, racer_id=racer, uow=uow
        )

    def _show(self, entries: tuple[AuditEntry, ...]) -> None:
        self.rows = [_row(entry) for entry in entries]

    def _hide(self) -> None:
        self.rows = []

    @rx.event
    async def load(self):
        """The whole trail, or the race's or racer's the link asked for (`?race=N`, `?racer=N`, checked)."""
        query = self.router.url.query_parameters
        race_text = str(query.get("race", ""))[:FILTER_INPUT_LENGTH_MAX]
        racer_text = str(query.get("racer", ""))[:FILTER_INPUT_LENGTH_MAX]
        self.race_filter, self.racer_filter = race_text, racer_text
        race, self.race_error = _checked(race_text, "race")
        racer, self.racer_error = _checked(racer_text, "racer")
        if self.race_error or self.racer_error:
            race = racer = None  # said beside the field; the whole trail is shown
        self.filtered = race is not None or racer is not None
        return await admin_load(self, _linked(race, racer), self._show_linked, hide=self._hide)

    def _show_linked(self, result: tuple[tuple[AuditEntry, ...], str]) -> None:
        entries, missing = result
        self._show(entries)
        if missing:  # the link named a race or racer that does not exist: said beside its field
            self.filtered = False
            if "racer" in missing:
                self.racer_error = missing
            else:
                self.race_error = missing

    @rx.event
    async def apply_filter(self, form: dict):
        race_text = str(form.get("race", ""))[:FILTER_INPUT_LENGTH_MAX]
        racer_text = str(form.get("racer", ""))[:FILTER_INPUT_LENGTH_MAX]
        self.race_filter, self.racer_filter = race_text, racer_text  # what was typed stays
        race, self.race_error = _checked(race_text, "race")
        racer, self.racer_error = _checked(racer_text, "racer")
        if self.race_error or self.racer_error:
            return None
        outcome = await call_service(self, self._work(race, racer))
        if isinstance(outcome.error, NotFound):
            if "racer" in outcome.message:
                self.racer_error = outcome.message
            else:
                self.race_error = outcome.message
            return None
        if outcome.refused:
            self.allowed, self.refusal = False, outcome.message
            self._hide()
            return None
        self.filtered = race is not None or racer is not None
        self._show(outcome.value or ())
        return None

    @rx.event
    async def clear_filter(self):
        self.race_filter = self.racer_filter = self.race_error = self.racer_error = ""
        self.filtered = False
        return await admin_load(self, self._work(None, None), self._show, hide=self._hide, on_load=False)


def _filter_field(name: str, label: str, value: rx.Var[str], error: rx.Var[str]) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"audit-{name}", size="2"),
        rx.input(
            id=f"audit-{name}",
            name=name,
            default_value=value,
            placeholder="number, like 12",
            inputmode="numeric",
            max_length=FILTER_INPUT_LENGTH_MAX,
            aria_invalid=rx.cond(error != "", "true", "false"),
            aria_describedby=f"audit-{name}-error",
            width="10rem",
            data_testid=f"audit-filter-{name}",
        ),
        rx.text(
            error,
            id=f"audit-{name}-error",
            color=theme.LIVE_RED,
            size="2",
            role="alert",
            data_testid=f"audit-{name}-error",
        ),
        spacing="1",
        align="start",
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            _filter_field("race", "Race #", AuditState.race_filter, AuditState.race_error),
            _filter_field("racer", "Racer #", AuditState.racer_filter, AuditState.racer_error),
            rx.button("Filter", type="submit", data_testid="audit-filter-apply"),
            rx.cond(
                AuditState.filtered,
                rx.button(
                    "Show all",
                    type="button",
                    variant="outline",
                    on_click=AuditState.clear_filter,
                    data_testid="audit-filter-clear",
                ),
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=AuditState.apply_filter,
        reset_on_submit=False,
    )


def _line(row: AuditRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(local_time(row.when, pattern=LOCAL_WITH_YEAR), white_space="nowrap"),
        rx.table.cell(row.who),
        rx.table.cell(rx.text(row.what, weight="bold"), rx.text(row.subject, size="1")),
        rx.table.cell(row.change),
        rx.table.cell(row.why),
        data_testid="audit-row",
    )


def _console() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            admin_title("Audit trail"),
            rx.text(
                "Every admin action, newest first: result fixes, table corrections, payouts paid, rejected "
                "or paid directly, money settings, roles, seasons, overlay keys and replays.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            _filters(),
            rx.cond(
                AuditState.rows.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(title)
                                    for title in ("When", "Who", "What", "Old → new", "Why")
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(AuditState.rows, _line)),
                        width="100%",
                        size="1",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.text(
                    "No admin action recorded here yet.", color=theme.TEXT_MUTED, data_testid="audit-empty"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Audit trail",
    )


@page(route=routes.ADMIN_AUDIT, title="Audit trail", on_load=AuditState.load)
def admin_audit_page() -> rx.Component:
    return admin_gate(AuditState.allowed, AuditState.refusal, routes.ADMIN_AUDIT, _console())

"""`/admin/results`: rule on races waiting for results, and fix a final race's result.

Waiting races (ended, disputed or not): accept the racers' reports as they
stand (`league.confirm_results`) or set the whole table (`league.set_results`).
Recent final races: an admin fix (racer, new position, reason) is first
previewed (`results_admin.preview_admin_fix`, the real fix rolled back), then
applied (`results_admin.apply_admin_fix`), and the page shows what changed:
places, points, and the cents the ledger moved between the racers' wallets.
A final race's whole table can also be set again as ONE correction (one
reason, `results_admin.preview_table_fix` then `apply_table_fix`). Confirming,
setting and correcting each open the confirmation dialog (`ui/confirm.py`)
with the words of a dry run of the real service first.
Every one of those services refuses anyone who is not an admin.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.ids import parse_record_id
from cozykart.domain.league import FIX_REASON_LENGTH_MAX
from cozykart.domain.money import format_cents
from cozykart.services import league, results_admin, results_preview
from cozykart.services.reads.league_views import EntryView, RaceView
from cozykart.services.results_admin import FixOutcome, FixPreview, ResultsDesk, placing_words
from cozykart.settings import load_settings
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load, admin_time, admin_title
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.local_time import local_time
from cozykart.ui.results_words import ask_confirm_results, fix_lines, results_lines
from cozykart.ui.service_call import call_service

POSITION_FIELD_PREFIX = "position-"
TABLE_FIELD_PREFIX = "table-"


@dataclasses.dataclass
class EntryRowView:
    racer_id: int = 0
    name: str = ""
    reported: str = ""
    place: str = ""
    points: int = 0
    field_name: str = ""
    table_field_name: str = ""
    place_value: str = ""  # the place as the correction form starts from it: "1", "2"… or "DNF"


@dataclasses.dataclass
class RaceRowView:
    race_id: int = 0
    name: str = ""
    season: str = ""
    when: str = ""
    disputed: bool = False
    dispute: str = ""
    fixes: int = 0
    racers: list[EntryRowView] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ChangeRowView:
    name: str = ""
    places: str = ""
    points: str = ""
    money: str = ""


def _reported(entry: EntryView) -> str:
    if entry.reported_at is None:
        return "not reported"
    return "reported DNF" if entry.reported_dnf else f"reported P{entry.reported_position}"


def _race_row(race: RaceView) -> RaceRowView:
    return RaceRowView(
        race_id=race.race_id,
        name=race.name,
        season=race.season_name or "",
        when=admin_time(race.finalized_at or race.ended_at),
        disputed=race.disputed,
        dispute=race.dispute or "",
        fixes=len(race.fixes),
        racers=[
            EntryRowView(
                racer_id=entry.racer.racer_id,
                name=entry.racer.name,
                reported=_reported(entry),
                place=placing_words(entry) if race.is_final else "",
                points=entry.points or 0,
                field_name=f"{POSITION_FIELD_PREFIX}{entry.racer.racer_id}",
                table_field_name=f"{TABLE_FIELD_PREFIX}{entry.racer.racer_id}",
                place_value=(
                    ("DNF" if entry.dnf or entry.position is None else str(entry.position))
                    if race.is_final
                    else ""
                ),
            )
            for entry in race.entries
        ],
    )


def _signed(points: int) -> str:
    return f"+{points}" if points > 0 else str(points)


def _desk(actor_id, uow, _settings) -> ResultsDesk:
    return results_admin.results_desk(actor_id=actor_id, uow=uow)


def _table(form: dict, prefix: str) -> dict[int, str]:
    """Racer id -> the place typed in the fields named `prefix` + racer id ("" when left empty)."""
    return {
        racer_id: str(value if value is not None else "")
        for field, value in form.items()
        if field.startswith(prefix) and (racer_id := parse_record_id(field.removeprefix(prefix))) is not None
    }


def _race_id(form: dict) -> int:
    race_id = parse_record_id(form.get("race_id", ""))
    if race_id is None:
        raise InvalidInput("Choose a race.")
    return race_id


class ResultsAdminState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    awaiting: list[RaceRowView] = []
    recent: list[RaceRowView] = []
    preview_title: str = ""
    preview_rows: list[ChangeRowView] = []
    preview_note: str = ""
    outcome_title: str = ""
    outcome_rows: list[ChangeRowView] = []
    outcome_note: str = ""
    _pending_fix: dict = {}

    def _show(self, desk: ResultsDesk) -> None:
        self.awaiting = [_race_row(race) for race in desk.awaiting]
        self.recent = [_race_row(race) for race in desk.recent_final]

    def _hide(self) -> None:
        self.awaiting, self.recent = [], []

    @rx.event
    async def load(self):
        return await admin_load(self, _desk, self._show, hide=self._hide)

    async def _act(self, work, success):
        """Run one admin service, then show the desk re-read and say how it went."""
        done = await call_service(self, work)
        if done.refused:
            return done.toast()
        if (refused := await self._reread_desk()) is not None:
            return refused
        return rx.toast.success(success(done.value))

    async def _reread_desk(self):
        """Show the desk as it is now; the refusal's toast if the service refused."""
        desk = await call_service(self, _desk)
        if desk.refused:
            return desk.toast()
        self._show(desk.value)
        return None

    @rx.event
    async def ask_confirm(self, race_id: int):
        """The dialog before confirming: who has not reported, and the real split, from a dry run."""
        return await ask_confirm_results(self, race_id)

    @rx.event
    async def confirm(self, race_id: int, acknowledge_missing: bool = False):
        acknowledged = acknowledge_missing is True
        return await self._act(
            lambda actor_id, uow, _settings: league.confirm_results(
                int(race_id), actor_id=actor_id, uow=uow, missing_acknowledged=acknowledged
            ),
            lambda race: f"{race.name}: the reports are confirmed and the race is final",
        )

    @rx.event
    async def ask_set_results(self, form: dict):
        """The dialog before setting a waiting race's table: places, points and shares from a dry run."""
        table = _table(form, POSITION_FIELD_PREFIX)
        previewed = await call_service(
            self,
            lambda actor_id, uow, _settings: results_preview.preview_set_results(
                _race_id(form), table, actor_id=actor_id, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        preview = previewed.value
        self._ask(
            title=f"Set the results of {preview.race_name}?",
            lines=results_lines(preview, load_settings().currency, confirming=False),
            label="Set the results",
            handler="set_results",
            args={
                "form": {"race_id": str(preview.race_id)}
                | {POSITION_FIELD_PREFIX + str(k): v for k, v in table.items()}
            },
        )
        return None

    @rx.event
    async def ask_correct_table(self, form: dict):
        """The dialog before setting a final race's whole table again: one correction, previewed."""
        table = _table(form, TABLE_FIELD_PREFIX)
        reason = str(form.get("reason") or "")
        previewed = await call_service(
            self,
            lambda actor_id, uow, _settings: results_admin.preview_table_fix(
                _race_id(form), table, reason=reason, actor_id=actor_id, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        preview: FixPreview = previewed.value
        self._ask(
            title=f"Correct the results of {preview.race_name}?",
            lines=fix_lines(preview, reason, load_settings().currency),
            label="Apply the correction",
            handler="correct_table",
            args={
                "form": {"race_id": str(preview.race_id), "reason": reason}
                | {TABLE_FIELD_PREFIX + str(k): v for k, v in table.items()}
            },
        )
        return None

    @rx.event
    async def correct_table(self, form: dict):
        """Set a final race's whole table again as one audited correction (the service checks everything)."""
        table = _table(form, TABLE_FIELD_PREFIX)
        reason = str(form.get("reason") or "")
        applied = await call_service(
            self,
            lambda actor_id, uow, _settings: results_admin.apply_table_fix(
                _race_id(form), table, reason=reason, actor_id=actor_id, uow=uow
            ),
        )
        if applied.refused:
            return applied.toast()
        if (refused := await self._reread_desk()) is not None:
            return refused
        self._show_outcome(applied.value)
        return rx.toast.success(f"{applied.value.race.name}: results corrected")

    @rx.event
    async def set_results(self, form: dict):
        table = _table(form, POSITION_FIELD_PREFIX)
        return await self._act(
            lambda actor_id, uow, _settings: league.set_results(
                _race_id(form), table, actor_id=actor_id, uow=uow
            ),
            lambda race: f"{race.name}: results set and the race is final",
        )

    @rx.event
    async def preview_fix(self, form: dict):
        def preview_of(actor_id, uow, _settings) -> tuple[dict, FixPreview]:
            fix = {
                "race_id": _race_id(form),
                "racer_id": str(form.get("racer_id", "")),
                "position": str(form.get("position", "")),
                "reason": str(form.get("reason", "")),
            }
            return fix, results_admin.preview_admin_fix(
                fix["race_id"],
                fix["racer_id"],
                fix["position"],
                reason=fix["reason"],
                actor_id=actor_id,
                uow=uow,
            )

        previewed = await call_service(self, preview_of)
        if previewed.refused:
            return previewed.toast()
        fix, preview = previewed.value
        currency = load_settings().currency
        self._pending_fix = fix
        self.outcome_title = ""
        self.preview_title = f"Preview: fix of {preview.race_name} ({fix['reason'].strip()})"
        self.preview_rows = [
            ChangeRowView(
                change.name,
                f"{change.old_words} → {change.new_words}",
                f"{change.old_points} → {change.new_points} ({_signed(change.points_delta)})",
                "",
            )
            for change in preview.changes
        ]
        self.preview_note = (
            f"The racers hold {format_cents(preview.pot_held_cents, currency)} of this race's pot; "
            "it is split again by the new results (a racer already paid out may go into debt)."
            if preview.pot_held_cents
            else "No money was paid out for this race: only places and points change."
        )
        return None

    @rx.event
    def cancel_fix(self):
        self._pending_fix = {}
        self.preview_title = ""
        self.preview_rows = []
        self.preview_note = ""

    @rx.event
    async def apply_fix(self):
        fix = dict(self._pending_fix)
        if not fix:
            return rx.toast.error("Preview a fix first.")
        applied = await call_service(
            self,
            lambda actor_id, uow, _settings: results_admin.apply_admin_fix(
                fix["race_id"],
                fix["racer_id"],
                fix["position"],
                reason=fix["reason"],
                actor_id=actor_id,
                uow=uow,
            ),
        )
        if applied.refused:
            return applied.toast()
        if (refused := await self._reread_desk()) is not None:
            return refused
        self._show_outcome(applied.value)
        return rx.toast.success(f"{applied.value.race.name}: result fixed")

    def _show_outcome(self, outcome: FixOutcome) -> None:
        currency = load_settings().currency
        self.cancel_fix()
        self.outcome_title = f"Fixed: {outcome.race.name}"
        self.outcome_rows = [
            ChangeRowView(
                change.name,
                f"{change.old_words} → {change.new_words}",
                f"{change.old_points} → {change.new_points} ({_signed(change.points_delta)})",
                format_cents(outcome.moved_cents.get(change.racer_id, 0), currency),
            )
            for change in outcome.changes
        ]
        moved_cents = sum(cents for cents in outcome.moved_cents.values() if cents > 0)
        self.outcome_note = (
            f"The standings follow. The ledger moved {format_cents(moved_cents, currency)} between the racers' "
            f"wallets; they still hold {format_cents(outcome.pot_held_cents, currency)} of the pot."
        )


# --- components ---------------------------------------------------------------


def _awaiting_entry(entry: EntryRowView) -> rx.Component:
    return rx.hstack(
        rx.text(entry.name, width="10rem", max_width="100%"),
        rx.text(entry.reported, size="2", color=theme.TEXT_MUTED, width="9rem", max_width="100%"),
        rx.input(
            name=entry.field_name,
            placeholder="1, 2… or DNF",
            aria_label="Position of " + entry.name,
            max_length=4,
            width="8rem",
            max_width="100%",
            data_testid="set-position",
        ),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def _awaiting_race(race: RaceRowView) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(race.name, weight="bold"),
            rx.text(race.season, size="2", color=theme.TEXT_MUTED),
            rx.cond(
                race.disputed,
                rx.badge("disputed", color_scheme="red"),
                rx.badge("waiting", color_scheme="amber"),
            ),
            rx.text("ended ", local_time(race.when), size="1", color=theme.TEXT_MUTED),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.cond(race.dispute != "", rx.text(race.dispute, size="2", color=theme.LIVE_RED)),
        rx.form(
            rx.vstack(
                rx.el.input(type="hidden", name="race_id", value=race.race_id),
                rx.foreach(race.racers, _awaiting_entry),
                rx.hstack(
                    rx.button(
                        "Set these results", type="submit", color_scheme="amber", data_testid="set-results"
                    ),
                    rx.button(
                        "Confirm the reports as they stand",
                        type="button",
                        variant="soft",
                        on_click=ResultsAdminState.ask_confirm(race.race_id),
                        data_testid="confirm-results",
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
                spacing="2",
            ),
            on_submit=ResultsAdminState.ask_set_results,
        ),
        spacing="2",
        width="100%",
        padding_y="0.75rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="awaiting-race",
    )


def _final_entry(entry: EntryRowView) -> rx.Component:
    return rx.hstack(
        rx.text(entry.place, weight="bold", width="3rem", max_width="100%"),
        rx.text(entry.name),
        rx.text(entry.points, " pts", size="2", color=theme.TEXT_MUTED),
        spacing="2",
        align="center",
        data_testid="final-entry",
    )


def _racer_option(entry: EntryRowView) -> rx.Component:
    return rx.el.option(entry.name, value=entry.racer_id)


def _final_race(race: RaceRowView) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(race.name, weight="bold"),
            rx.text(race.season, size="2", color=theme.TEXT_MUTED),
            rx.text("final ", local_time(race.when), size="1", color=theme.TEXT_MUTED),
            rx.cond(
                race.fixes > 0,
                rx.link(  # who fixed what and why: the audit trail of this race
                    rx.badge(race.fixes, " fixed result(s)", color_scheme="purple"),
                    href=routes.ADMIN_AUDIT + "?race=" + race.race_id.to_string(),
                    data_testid="race-fixes-link",
                ),
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.flex(rx.foreach(race.racers, _final_entry), gap="1rem", wrap="wrap"),
        rx.form(
            rx.hstack(
                rx.el.input(type="hidden", name="race_id", value=race.race_id),
                rx.el.select(
                    rx.foreach(race.racers, _racer_option),
                    name="racer_id",
                    aria_label="Racer",
                    style=theme.SELECT_STYLE,
                    data_testid="fix-racer",
                ),
                rx.input(
                    name="position",
                    placeholder="New place or DNF",
                    aria_label="New position",
                    max_length=4,
                    width="9rem",
                    max_width="100%",
                    data_testid="fix-position",
                ),
                rx.input(
                    name="reason",
                    placeholder="Reason (kept with the fix)",
                    aria_label="Reason for the fix",
                    max_length=FIX_REASON_LENGTH_MAX,
                    width="16rem",
                    max_width="100%",
                    data_testid="fix-reason",
                ),
                rx.button(
                    "Preview fix",
                    type="submit",
                    variant="soft",
                    color_scheme="amber",
                    data_testid="fix-preview",
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            on_submit=ResultsAdminState.preview_fix,
        ),
        _table_correction(race),
        spacing="2",
        width="100%",
        padding_y="0.75rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="final-race",
    )


def _table_entry(entry: EntryRowView) -> rx.Component:
    return rx.hstack(
        rx.text(entry.name, width="10rem", max_width="100%"),
        rx.input(
            name=entry.table_field_name,
            default_value=entry.place_value,
            aria_label="Corrected place of " + entry.name,
            max_length=4,
            width="8rem",
            max_width="100%",
            data_testid="table-fix-position",
        ),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def _table_correction(race: RaceRowView) -> rx.Component:
    """Set the whole table again: one correction, one reason (previewed in the dialog first)."""
    return rx.el.details(
        rx.el.summary("Correct the whole table", data_testid="table-fix-open", cursor="pointer"),
        rx.form(
            rx.vstack(
                rx.el.input(type="hidden", name="race_id", value=race.race_id),
                rx.foreach(race.racers, _table_entry),
                rx.hstack(
                    rx.input(
                        name="reason",
                        placeholder="Reason (kept with the correction)",
                        aria_label="Reason for the correction",
                        max_length=FIX_REASON_LENGTH_MAX,
                        width="20rem",
                        max_width="100%",
                        data_testid="table-fix-reason",
                    ),
                    rx.button(
                        "Correct the table",
                        type="submit",
                        variant="soft",
                        color_scheme="amber",
                        data_testid="table-fix-submit",
                    ),
                    spacing="2",
                    wrap="wrap",
                    align="center",
                ),
                spacing="2",
                padding_top="0.5rem",
            ),
            on_submit=ResultsAdminState.ask_correct_table,
            reset_on_submit=False,
        ),
        width="100%",
        data_testid="table-fix",
    )


def _change_row(row: ChangeRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.name),
        rx.table.cell(row.places),
        rx.table.cell(row.points),
        rx.table.cell(row.money),
        data_testid="fix-change-row",
    )


def _changes_table(rows) -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[rx.table.column_header_cell(title) for title in ("Racer", "Place", "Points", "Money")]
            )
        ),
        rx.table.body(rx.foreach(rows, _change_row)),
        width="100%",
        size="1",
    )


def _preview_panel() -> rx.Component:
    return rx.cond(
        ResultsAdminState.preview_title != "",
        rx.el.section(
            rx.vstack(
                rx.heading(ResultsAdminState.preview_title, size="4", as_="h2"),
                _changes_table(ResultsAdminState.preview_rows),
                rx.text(ResultsAdminState.preview_note, size="2", color=theme.TEXT_MUTED),
                rx.hstack(
                    rx.button(
                        "Apply fix",
                        on_click=ResultsAdminState.apply_fix,
                        color_scheme="red",
                        data_testid="fix-apply",
                    ),
                    rx.button("Cancel", on_click=ResultsAdminState.cancel_fix, variant="soft"),
                    spacing="2",
                ),
                width="100%",
            ),
            style=theme.panel_style | {"border": f"2px solid {theme.GOLD}"},
            aria_label="Fix preview",
            data_testid="fix-preview-panel",
        ),
    )


def _outcome_panel() -> rx.Component:
    return rx.cond(
        ResultsAdminState.outcome_title != "",
        rx.el.section(
            rx.vstack(
                rx.heading(ResultsAdminState.outcome_title, size="4", as_="h2"),
                _changes_table(ResultsAdminState.outcome_rows),
                rx.text(ResultsAdminState.outcome_note, size="2", data_testid="fix-outcome-note"),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Fix outcome",
            data_testid="fix-outcome-panel",
        ),
    )


def _console() -> rx.Component:
    return rx.vstack(
        admin_title("Results and fixes"),
        confirm_dialog(ResultsAdminState),
        rx.el.section(
            rx.vstack(
                rx.heading("Races waiting for results", size="5", as_="h2"),
                rx.cond(
                    ResultsAdminState.awaiting.length() > 0,
                    rx.vstack(
                        rx.foreach(ResultsAdminState.awaiting, _awaiting_race), spacing="0", width="100%"
                    ),
                    rx.text(
                        "No race is waiting for results.",
                        color=theme.TEXT_MUTED,
                        data_testid="awaiting-empty",
                    ),
                ),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Races waiting for results",
        ),
        _preview_panel(),
        _outcome_panel(),
        rx.el.section(
            rx.vstack(
                rx.heading("Recent final races", size="5", as_="h2"),
                rx.text(
                    "An admin fix moves one racer to a new place; the racers between shift by one. "
                    "Closed seasons cannot be fixed.",
                    size="2",
                    color=theme.TEXT_MUTED,
                ),
                rx.cond(
                    ResultsAdminState.recent.length() > 0,
                    rx.vstack(rx.foreach(ResultsAdminState.recent, _final_race), spacing="0", width="100%"),
                    rx.text("No final race yet.", color=theme.TEXT_MUTED, data_testid="recent-empty"),
                ),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Recent final races",
        ),
        spacing="4",
        width="100%",
    )


@page(route=routes.ADMIN_RESULTS, title="Results", on_load=ResultsAdminState.load)
def admin_results_page() -> rx.Component:
    return admin_gate(ResultsAdminState.allowed, ResultsAdminState.refusal, routes.ADMIN_RESULTS, _console())

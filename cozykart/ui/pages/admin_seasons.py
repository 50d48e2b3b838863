"""`/admin/seasons`: list seasons, create one, activate it, close it (which crowns the champion).

`seasons.admin_seasons`, `create_season`, `activate_season` and `close_season`
each refuse anyone who is not an admin.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import reflex as rx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.ids import parse_record_id
from cozykart.domain.league import (
    DEFAULT_POINTS_TABLE,
    SPLIT_POLICIES,
    SPLIT_POLICY_DEFAULT,
    WINNER_BONUS_BPS_DEFAULT,
    SeasonStatus,
)
from cozykart.domain.money import format_cents
from cozykart.services import pot_goals, seasons
from cozykart.services.reads.league_views import SeasonView
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.service_call import call_service

TEXT_INPUT_LENGTH_MAX = 500
POINTS_INPUT_LENGTH_MAX = 200
SEASON_LENGTH_DAYS_DEFAULT = 90
CREATE_FORM_ID = "new-season-form"
SPLIT_WORDS = {
    "even": "Even split",
    "winner_bonus": "Winner's bonus, the rest even",
    "by_points": "By points",
}


@dataclasses.dataclass
class SeasonRowView:
    season_id: int = 0
    name: str = ""
    status: str = ""
    dates: str = ""
    sponsor: str = ""
    split: str = ""
    points: str = ""
    champion: str = ""
    can_activate: bool = False
    can_close: bool = False
    pot_goal: str = ""  # the default pot goal of its races ("" when none)
    can_set_goal: bool = False


@dataclasses.dataclass
class PolicyOption:
    value: str = ""
    label: str = ""


def _split_words(view: SeasonView) -> str:
    words = SPLIT_WORDS.get(view.split_policy, view.split_policy)
    if view.split_policy == "winner_bonus":
        whole, hundredths = divmod(view.winner_bonus_bps, 100)
        words += f" ({whole}.{hundredths:02d}% to the winner)"
    return words


def _row(view: SeasonView, goals: dict[int, int] | None = None) -> SeasonRowView:
    goal_cents = (goals or {}).get(view.season_id)
    return SeasonRowView(
        season_id=view.season_id,
        name=view.name,
        status=view.status,
        dates=f"{view.starts_on:%b %d, %Y} to {view.ends_on:%b %d, %Y}",
        sponsor=view.sponsor_name or "",
        split=_split_words(view),
        points=", ".join(str(points) for points in view.points_table.default),
        champion=view.champion.name if view.champion else "",
        can_activate=view.status == SeasonStatus.UPCOMING,
        can_close=view.status == SeasonStatus.ACTIVE,
        pot_goal=format_cents(goal_cents) if goal_cents else "",
        can_set_goal=view.status != SeasonStatus.CLOSED,
    )


def parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        raise InvalidInput(f"Give the {what} as a date (YYYY-MM-DD).") from None


def parse_points(text: str) -> list[int] | None:
    """ "15, 12, 10" -> [15, 12, 10]; empty -> None (the default table)."""
    parts = [part.strip() for part in str(text or "").replace(";", ",").split(",") if part.strip()]
    if not parts:
        return None
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise InvalidInput(
            "Write the points table as whole numbers separated by commas, best place first."
        ) from None


def parse_percent_bps(text: str) -> int:
    cleaned = str(text or "").strip().removesuffix("%").strip()
    if not cleaned:
        return WINNER_BONUS_BPS_DEFAULT
    try:
        bps = Decimal(cleaned) * 100
        whole = bps.is_finite() and bps == bps.to_integral_value()
    except ArithmeticError:  # not a number, or an absurd exponent
        raise InvalidInput("Give the winner's bonus as a percent, like 50.") from None
    if not whole:
        raise InvalidInput("Give the winner's bonus as a percent with at most two decimals, like 50 or 12.5.")
    return int(bps)


def _list(actor_id, uow, settings) -> tuple[tuple[SeasonView, ...], dict[int, int]]:
    views = seasons.admin_seasons(actor_id=actor_id, uow=uow)
    return views, pot_goals.season_goals(actor_id=actor_id, uow=uow)


class SeasonsAdminState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    seasons: list[SeasonRowView] = []
    policies: list[PolicyOption] = [PolicyOption(key, SPLIT_WORDS[key]) for key in SPLIT_POLICIES]
    default_starts_on: str = ""
    default_ends_on: str = ""
    create_error: str = ""  # why the new season was refused: said beside the form, what was typed stays

    def _show(self, listing: tuple[tuple[SeasonView, ...], dict[int, int]]) -> None:
        views, goals = listing
        self.seasons = [_row(view, goals) for view in views]
        today = datetime.now(UTC).date()
        self.default_starts_on = today.isoformat()
        self.default_ends_on = (today + timedelta(days=SEASON_LENGTH_DAYS_DEFAULT)).isoformat()

    def _hide(self) -> None:
        self.seasons = []

    @rx.event
    async def load(self):
        return await admin_load(self, _list, self._show, hide=self._hide)

    async def _act(self, work, success, *, in_form: bool = False):
        """Run one admin service, then show the page re-read and say how it went.

        `in_form`: the new-season form's refusal is said once beside it (not as a toast) and
        the form keeps what was typed; it is cleared only when the season was created.
        """
        done = await call_service(self, work)
        if done.refused:
            if in_form and self.allowed:  # beside the form shown (with no console, a toast says it)
                self.create_error = done.message
                return None
            return done.toast()
        if in_form:
            self.create_error = ""
        shown = await call_service(self, _list)
        if shown.refused:
            return shown.toast()
        self._show(shown.value)
        toast = rx.toast.success(success(done.value))
        return (
            [rx.call_script(f"document.getElementById('{CREATE_FORM_ID}')?.reset()"), toast]
            if in_form
            else toast
        )

    @rx.event
    async def create(self, form: dict):
        def create_season(actor_id, uow, settings):
            return seasons.create_season(
                str(form.get("name", "")),
                starts_on=parse_date(form.get("starts_on", ""), "start date"),
                ends_on=parse_date(form.get("ends_on", ""), "end date"),
                points_table=parse_points(form.get("points", "")),
                split_policy=str(form.get("split_policy", SPLIT_POLICY_DEFAULT)),
                winner_bonus_bps=parse_percent_bps(form.get("winner_bonus", "")),
                sponsor_name=str(form.get("sponsor_name", "")),
                sponsor_logo_url=str(form.get("sponsor_logo_url", "")),
                sponsor_url=str(form.get("sponsor_url", "")),
                actor_id=actor_id,
                uow=uow,
            )

        return await self._act(
            create_season, lambda view: f"Season {view.name!r} created (upcoming)", in_form=True
        )

    @rx.event
    async def set_pot_goal(self, form: dict):
        """The default pot goal of the season's races without their own (an empty amount clears it)."""
        season_id = parse_record_id(form.get("season_id", "")) or 0
        goal_text = str(form.get("goal") or "")
        return await self._act(
            lambda actor_id, uow, settings: pot_goals.set_season_goal(
                season_id, goal_text, actor_id=actor_id, uow=uow
            ),
            lambda done: done.words,
        )

    @rx.event
    async def activate(self, season_id: int):
        return await self._act(
            lambda actor_id, uow, settings: seasons.activate_season(
                int(season_id), actor_id=actor_id, uow=uow
            ),
            lambda view: f"Season {view.name!r} is now active",
        )

    @rx.event
    async def ask_close(self, season_id: int):
        """The dialog before closing: the champion a dry run of the close would crown."""
        previewed = await call_service(
            self,
            lambda actor_id, uow, settings: seasons.preview_close_season(
                int(season_id), actor_id=actor_id, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        view = previewed.value
        crowned = (
            f"{view.champion.name} is crowned champion and Discord is told."
            if view.champion
            else "No race was run in it: nobody is crowned."
        )
        self._ask(
            title=f"Close {view.name}?",
            lines=[
                f"{view.name} closes now and its standings freeze for good. {crowned}",
                "Its results can no longer be fixed, and it cannot be opened again.",
                "Races from now on need another season (a default one opens at the next start).",
            ],
            label="Close the season",
            handler="close",
            args={"season_id": view.season_id},
        )
        return None

    @rx.event
    async def close(self, season_id: int):
        return await self._act(
            lambda actor_id, uow, settings: seasons.close_season(int(season_id), actor_id=actor_id, uow=uow),
            lambda view: (
                f"Season {view.name!r} closed"
                + (f": {view.champion.name} is champion" if view.champion else " with no races")
            ),
        )


# --- components ---------------------------------------------------------------


def _season_row(row: SeasonRowView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="bold")),
        rx.table.cell(
            rx.badge(
                row.status,
                color_scheme=rx.match(
                    row.status, (SeasonStatus.ACTIVE, "green"), (SeasonStatus.UPCOMING, "amber"), "gray"
                ),
                data_testid="season-status",
            )
        ),
        rx.table.cell(row.dates, white_space="nowrap"),
        rx.table.cell(rx.cond(row.sponsor != "", row.sponsor, "—")),
        rx.table.cell(
            rx.text(row.split),
            rx.text("Points: ", row.points, size="1", color=theme.TEXT_MUTED),
            rx.cond(
                row.pot_goal != "",
                rx.text(
                    "Pot goal: ", row.pot_goal, size="1", color=theme.TEXT_MUTED, data_testid="season-goal"
                ),
            ),
        ),
        rx.table.cell(rx.cond(row.champion != "", rx.text("🏆 ", row.champion), "")),
        rx.table.cell(
            rx.cond(
                row.can_activate,
                rx.button(
                    "Activate",
                    on_click=SeasonsAdminState.activate(row.season_id),
                    size="1",
                    color_scheme="green",
                    data_testid="season-activate",
                ),
            ),
            rx.cond(row.can_set_goal, _goal_form(row)),
            rx.cond(
                row.can_close,
                rx.button(
                    "Close and crown the champion",
                    on_click=SeasonsAdminState.ask_close(row.season_id),
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    data_testid="season-close",
                ),
            ),
        ),
        data_testid="season-row",
    )


def _goal_form(row: SeasonRowView) -> rx.Component:
    """The season's default pot goal (races with their own goal keep theirs; empty clears it)."""
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="season_id", value=row.season_id.to_string()),
            rx.input(
                name="goal",
                placeholder="Pot goal",
                max_length=32,
                input_mode="decimal",
                width="7rem",
                size="1",
                aria_label="Default pot goal of " + row.name,
                data_testid="season-goal-input",
            ),
            rx.button(
                "Set pot goal", type="submit", size="1", variant="outline", data_testid="season-goal-button"
            ),
            spacing="1",
            align="center",
        ),
        on_submit=SeasonsAdminState.set_pot_goal,
        reset_on_submit=True,
        margin_bottom="0.35rem",
    )


def _policy_option(option: PolicyOption) -> rx.Component:
    return rx.el.option(option.label, value=option.value)


def _field(label: str, control: rx.Component) -> rx.Component:
    return rx.el.label(rx.vstack(rx.text(label, size="2", color=theme.TEXT_MUTED), control, spacing="1"))


def _name_field() -> rx.Component:
    return _field(
        "Name",
        rx.input(
            name="name", placeholder="Winter Cup", max_length=60, required=True, data_testid="season-name"
        ),
    )


def _date_field(label: str, name: str, default_value: rx.Var[str], test_id: str) -> rx.Component:
    return _field(label, rx.input(name=name, type="date", default_value=default_value, data_testid=test_id))


def _sponsor_field() -> rx.Component:
    return _field(
        "Sponsor",
        rx.input(name="sponsor_name", placeholder="Optional", max_length=60, data_testid="season-sponsor"),
    )


def _sponsor_banner_field() -> rx.Component:
    return _field(
        "Sponsor banner URL",
        rx.input(
            name="sponsor_logo_url",
            placeholder="https://… or /…",
            max_length=TEXT_INPUT_LENGTH_MAX,
            data_testid="season-banner",
        ),
    )


def _sponsor_link_field() -> rx.Component:
    return _field(
        "Sponsor link",
        rx.input(name="sponsor_url", placeholder="https://…", max_length=TEXT_INPUT_LENGTH_MAX),
    )


def _points_field() -> rx.Component:
    return _field(
        "Points table (best place first)",
        rx.input(
            name="points",
            placeholder=", ".join(map(str, DEFAULT_POINTS_TABLE)),
            max_length=POINTS_INPUT_LENGTH_MAX,
            width="16rem",
            max_width="100%",
            data_testid="season-points",
        ),
    )


def _split_field() -> rx.Component:
    return _field(
        "Pot split",
        rx.el.select(
            rx.foreach(SeasonsAdminState.policies, _policy_option),
            name="split_policy",
            style=theme.SELECT_STYLE,
            data_testid="season-split",
        ),
    )


def _bonus_field() -> rx.Component:
    return _field(
        "Winner's bonus % (winner's bonus split)",
        rx.input(
            name="winner_bonus",
            placeholder="50",
            max_length=6,
            width="8rem",
            max_width="100%",
            data_testid="season-bonus",
        ),
    )


def _create_fields() -> rx.Component:
    return rx.flex(
        _name_field(),
        _date_field("Starts on", "starts_on", SeasonsAdminState.default_starts_on, "season-starts-on"),
        _date_field("Ends on", "ends_on", SeasonsAdminState.default_ends_on, "season-ends-on"),
        _sponsor_field(),
        _sponsor_banner_field(),
        _sponsor_link_field(),
        _points_field(),
        _split_field(),
        _bonus_field(),
        rx.button("Create season", type="submit", color_scheme="amber", data_testid="season-create"),
        rx.cond(
            SeasonsAdminState.create_error != "",
            rx.text(
                SeasonsAdminState.create_error,
                color=theme.LIVE_RED,
                size="2",
                role="alert",
                width="100%",
                data_testid="season-error",
            ),
        ),
        gap="0.75rem",
        wrap="wrap",
        align="end",
    )


def _create_form() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("New season", size="4", as_="h2"),
            rx.text(
                "It starts as upcoming; activate it when racing should count for it (one season is active at a "
                "time). Races started from then on belong to it.",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            rx.form(
                _create_fields(), id=CREATE_FORM_ID, on_submit=SeasonsAdminState.create, reset_on_submit=False
            ),
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="New season",
    )


def _console() -> rx.Component:
    return rx.vstack(
        rx.el.section(
            rx.vstack(
                rx.heading("Seasons", size="6", as_="h1"),
                rx.cond(
                    SeasonsAdminState.seasons.length() > 0,
                    rx.box(
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    *[
                                        rx.table.column_header_cell(title)
                                        for title in (
                                            "Season",
                                            "Status",
                                            "Dates",
                                            "Sponsor",
                                            "Split and points",
                                            "Champion",
                                            "",
                                        )
                                    ]
                                )
                            ),
                            rx.table.body(rx.foreach(SeasonsAdminState.seasons, _season_row)),
                            width="100%",
                            size="1",
                        ),
                        overflow_x="auto",
                        width="100%",
                    ),
                    rx.text(
                        "No season yet: the first race opens a default one, or create one below.",
                        color=theme.TEXT_MUTED,
                        data_testid="seasons-empty",
                    ),
                ),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Seasons",
        ),
        _create_form(),
        spacing="4",
        width="100%",
    )


@page(route=routes.ADMIN_SEASONS, title="Seasons", on_load=SeasonsAdminState.load)
def admin_seasons_page() -> rx.Component:
    return admin_gate(
        SeasonsAdminState.allowed,
        SeasonsAdminState.refusal,
        routes.ADMIN_SEASONS,
        rx.fragment(confirm_dialog(SeasonsAdminState), _console()),
    )

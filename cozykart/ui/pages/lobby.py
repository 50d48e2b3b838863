"""`/lobby`: open lobbies, joining and leaving, host controls, result reporting, disputes.

Every action handler calls one league service through `call_service` (the acting
racer taken from the backend session), shows its outcome (a toast with
the service's own message on refusal), and reloads the board. The services
check every permission; the buttons a viewer sees are only a convenience.

The board is re-read after each action and every `POLL_INTERVAL_MS` while the
page is open, so everyone in a lobby sees joins, starts and reports.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import reflex as rx

from cozykart.domain.ids import parse_record_id
from cozykart.domain.league import LOBBY_NAME_LENGTH_MAX, RACE_SIZE_MAX, RaceStatus
from cozykart.services import default_uow, league, live, pot_goals, results_preview
from cozykart.services.identity import Viewer
from cozykart.services.reads.league_pages import LobbyBoard, lobby_board
from cozykart.services.reads.league_views import EntryView, RaceView
from cozykart.settings import load_settings
from cozykart.ui import live_pot, live_race, routes, theme
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.last_race import last_race
from cozykart.ui.layout import page
from cozykart.ui.league_components import MEMBER_AVATAR, avatar, racer_href
from cozykart.ui.live_pot import LivePotState, pot_ticker
from cozykart.ui.results_words import ask_confirm_results, end_lines, results_lines
from cozykart.ui.service_call import ServiceWork, call_service

POLL_INTERVAL_MS = 4_000
DNF_CHOICE = "DNF"
STATUS_LABELS = {
    RaceStatus.OPEN: "Lobby open",
    RaceStatus.LIVE: "LIVE",
    RaceStatus.ENDED: "Ended · waiting for results",
}


@dataclasses.dataclass
class MemberView:
    racer_id: int = 0
    name: str = ""
    avatar_url: str = ""
    href: str = ""
    report: str = ""
    default_position: str = ""


@dataclasses.dataclass
class RaceCard:
    race_id: int = 0
    name: str = ""
    status: str = ""
    status_label: str = ""
    host_name: str = ""
    members: list[MemberView] = dataclasses.field(default_factory=list)
    member_count: int = 0
    is_member: bool = False
    may_host: bool = False
    can_join: bool = False
    disputed: bool = False
    dispute: str = ""
    your_report: str = ""
    positions: list[str] = dataclasses.field(default_factory=list)


def _report_text(entry: EntryView) -> str:
    if not entry.has_reported:
        return ""
    return DNF_CHOICE if entry.reported_dnf else f"#{entry.reported_position}"


def _card(race: RaceView, viewer: Viewer | None, *, in_a_lobby: bool) -> RaceCard:
    me = race.entry_of(viewer.racer_id) if viewer else None
    may_host = bool(viewer and (viewer.is_admin or viewer.racer_id == race.host.racer_id))
    members = [
        MemberView(
            racer_id=entry.racer.racer_id,
            name=entry.racer.name,
            avatar_url=entry.racer.avatar_url or "",
            href=racer_href(entry.racer.racer_id),
            report=_report_text(entry),
            # What the racer reported, or nothing: the host chooses every unreported place.
            default_position=(DNF_CHOICE if entry.reported_dnf else str(entry.reported_position or "")),
        )
        for entry in race.entries
    ]
    return RaceCard(
        race_id=race.race_id,
        name=race.name,
        status=race.status,
        status_label=STATUS_LABELS.get(race.status, race.status),
        host_name=race.host.name,
        members=members,
        member_count=race.racer_count,
        is_member=me is not None,
        may_host=may_host,
        can_join=bool(viewer) and me is None and not in_a_lobby and race.racer_count < RACE_SIZE_MAX,
        disputed=race.disputed,
        dispute=race.dispute or "",
        your_report=_report_text(me) if me else "",
        positions=[str(position) for position in range(1, race.racer_count + 1)] + [DNF_CHOICE],
    )


class LobbyState(ConfirmMixin, AuthState):
    loaded: bool = False
    lobbies: list[RaceCard] = []
    races: list[RaceCard] = []
    new_lobby_name: str = ""

    @rx.event
    async def load(self):
        await live_race.join(self, _room)  # before the read: a change after it is pushed
        await self._reload()

    @rx.event
    async def poll(self, now: str = ""):
        """The light refresh while the page is open (`now` is the timer's tick, unused)."""
        await self._reload()

    @rx.event
    async def refresh(self):
        """A league change was pushed: read the board again, as this viewer sees it, if it is open."""
        if self.router.page.path == routes.LOBBY:
            await self._reload()

    async def _reload(self) -> None:
        """Who is looking (roles may have changed), then the board as they see it."""
        viewer = await self._load_viewer()
        await self._show_board(viewer)

    async def _show_board(self, viewer: Viewer | None) -> None:
        board: LobbyBoard = await asyncio.to_thread(lambda: lobby_board(uow=default_uow()))
        in_a_lobby = bool(viewer) and any(race.entry_of(viewer.racer_id) for race in board.lobbies)
        self.lobbies = [_card(race, viewer, in_a_lobby=in_a_lobby) for race in board.lobbies]
        self.races = [_card(race, viewer, in_a_lobby=in_a_lobby) for race in board.races_in_play]
        self.loaded = True

    async def _act(
        self, action: ServiceWork[RaceView], done: str, *, on_success: Callable[[], None] | None = None
    ) -> rx.event.EventSpec:
        """Run one league service as the logged-in racer, reload the board, and say how it went."""
        outcome = await call_service(self, action)
        if outcome.refused:
            await self._reload()
            return outcome.toast()
        if on_success is not None:
            on_success()
        await self._reload()
        return rx.toast.success(done)

    @rx.event
    def set_new_lobby_name(self, value: str):
        self.new_lobby_name = value[: LOBBY_NAME_LENGTH_MAX * 2]

    @rx.event
    async def open_lobby(self, form_data: dict):
        name = self.new_lobby_name
        return await self._act(
            lambda racer_id, uow, _settings: league.open_lobby(name, actor_id=racer_id, uow=uow),
            f"Lobby {' '.join(name.split())!r} is open",
            on_success=lambda: setattr(self, "new_lobby_name", ""),
        )

    @rx.event
    async def join(self, race_id: int):
        return await self._act(
            lambda racer_id, uow, _settings: league.join_lobby(int(race_id), actor_id=racer_id, uow=uow),
            "You joined the lobby",
        )

    @rx.event
    async def leave(self, race_id: int):
        return await self._act(
            lambda racer_id, uow, _settings: league.leave_lobby(int(race_id), actor_id=racer_id, uow=uow),
            "You left the lobby",
        )

    @rx.event
    async def cancel(self, race_id: int):
        return await self._act(
            lambda racer_id, uow, _settings: league.cancel_lobby(int(race_id), actor_id=racer_id, uow=uow),
            "Lobby closed",
        )

    @rx.event
    async def start(self, race_id: int):
        return await self._act(
            lambda racer_id, uow, _settings: league.start_race(int(race_id), actor_id=racer_id, uow=uow),
            "The race is live",
        )

    @rx.event
    async def ask_end(self, race_id: int):
        """The dialog before ending a race: the league's own checks and the pot so far, from a dry run."""
        previewed = await call_service(
            self,
            lambda racer_id, uow, _settings: results_preview.preview_end(
                int(race_id), actor_id=racer_id, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        preview = previewed.value
        self._ask(
            title=f"End {preview.race_name}?",
            lines=end_lines(preview, load_settings().currency),
            label="End the race",
            handler="end",
            args={"race_id": preview.race_id},
        )
        return None

    @rx.event
    async def ask_confirm(self, race_id: int):
        """The dialog before confirming the reports: who has not reported, places, points and shares."""
        return await ask_confirm_results(self, race_id)

    @rx.event
    async def ask_set_table(self, form_data: dict):
        """The dialog before setting the whole table: the places, points and shares it makes."""
        race_id = _form_race_id(form_data)
        table = _form_table(form_data)
        previewed = await call_service(
            self,
            lambda racer_id, uow, _settings: results_preview.preview_set_results(
                race_id, table, actor_id=racer_id, uow=uow
            ),
        )
        if previewed.refused:
            return previewed.toast()
        preview = previewed.value
        self._ask(
            title=f"Set the results of {preview.race_name}?",
            lines=results_lines(preview, load_settings().currency, confirming=False),
            label="Set the results",
            handler="set_table",
            args={"form_data": {"race_id": str(race_id), **{str(k): v for k, v in table.items()}}},
        )
        return None

    @rx.event
    async def end(self, race_id: int):
        return await self._act(
            lambda racer_id, uow, _settings: league.end_race(int(race_id), actor_id=racer_id, uow=uow),
            "The race has ended: results, please",
        )

    @rx.event
    async def confirm(self, race_id: int, acknowledge_missing: bool = False):
        """Confirm the reports; racers who never reported finish DNF only when `acknowledge_missing`."""
        acknowledged = acknowledge_missing is True
        return await self._act(
            lambda racer_id, uow, _settings: league.confirm_results(
                int(race_id), actor_id=racer_id, uow=uow, missing_acknowledged=acknowledged
            ),
            "Results confirmed: the race is final",
        )

    @rx.event
    async def report(self, form_data: dict):
        race_id = _form_race_id(form_data)
        position = str(form_data.get("position") or "")
        return await self._act(
            lambda racer_id, uow, _settings: league.report_result(
                race_id, position, actor_id=racer_id, uow=uow
            ),
            f"You reported {'DNF' if position == DNF_CHOICE else '#' + position}",
        )

    @rx.event
    async def set_table(self, form_data: dict):
        race_id = _form_race_id(form_data)
        table = _form_table(form_data)
        return await self._act(
            lambda racer_id, uow, _settings: league.set_results(race_id, table, actor_id=racer_id, uow=uow),
            "Results set: the race is final",
        )

    @rx.event
    async def set_pot_goal(self, form_data: dict):
        """The host (or an admin) sets the live race's pot goal; every Live Pot viewer sees it at once."""
        race_id = _form_race_id(form_data)
        goal_text = str(form_data.get("goal") or "")
        outcome = await call_service(
            self,
            lambda racer_id, uow, _settings: pot_goals.set_race_goal(
                race_id, goal_text, actor_id=racer_id, uow=uow
            ),
        )
        if outcome.refused:
            return outcome.toast()
        await live_pot.publish()
        return rx.toast.success(outcome.value.words if outcome.value else "Pot goal set")


# Every open lobby: each viewer re-reads its board when a race or a lobby changes.
_room = live_race.follow_with_event("cozykart-live-lobby", {live.RACE}, LobbyState.refresh)


def _form_race_id(form_data: dict) -> int:
    return parse_record_id(form_data.get("race_id", "")) or 0


def _form_table(form_data: dict) -> dict[int, str]:
    """Racer id -> the place chosen ("" when none was: the league refuses it)."""
    return {
        racer_id: str(value if value is not None else "")
        for key, value in form_data.items()
        if (racer_id := parse_record_id(key)) is not None
    }


# --- components -----------------------------------------------------------------

_SELECT_STYLE = {
    "background": theme.INK,
    "color": theme.TEXT,
    "border": f"1px solid {theme.DISCORD_BLUE}",
    "border_radius": "8px",
    "padding": "0.35rem 0.5rem",
    "font_size": "1rem",
}


def _member(member: MemberView) -> rx.Component:
    return rx.hstack(
        avatar(member.avatar_url, member.name, MEMBER_AVATAR),
        rx.link(member.name, href=member.href, color=theme.TEXT),
        rx.spacer(),
        rx.cond(member.report != "", rx.text(member.report, weight="bold", color=theme.GOLD)),
        align="center",
        width="100%",
        padding="0.35rem 0.6rem",
        border_radius="10px",
        background="rgba(255,255,255,0.04)",
        data_testid="lobby-member",
    )


def _position_select(name, default, choices, label_text, select_id) -> rx.Component:
    return rx.el.select(
        # Nothing is chosen until the person chooses: the server refuses an unchosen place.
        rx.el.option("Choose…", value=""),
        rx.foreach(choices, lambda choice: rx.el.option(choice, value=choice)),
        # A new default (a racer reported since) makes a new select: `default_value` is read once.
        key=select_id + "=" + default,
        name=name,
        id=select_id,
        default_value=default,
        aria_label=label_text,
        style=_SELECT_STYLE,
    )


def _report_form(race: RaceCard) -> rx.Component:
    select_id = "report-" + race.race_id.to_string()
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="race_id", value=race.race_id.to_string()),
            rx.el.label("Your finish", html_for=select_id, font_weight="bold"),
            _position_select("position", "", race.positions, "Your finishing position", select_id),
            rx.button("Report", type="submit", data_testid="report-button"),
            rx.cond(
                race.your_report != "",
                rx.text("You reported ", race.your_report, color=theme.TEXT_MUTED, data_testid="your-report"),
            ),
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        on_submit=LobbyState.report,
        reset_on_submit=False,
        data_testid="report-form",
    )


def _goal_form(race: RaceCard) -> rx.Component:
    """The host's pot goal for the live race: an amount (empty clears it); shown on Watch and the overlays."""
    input_id = "goal-" + race.race_id.to_string()
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="race_id", value=race.race_id.to_string()),
            rx.el.label("Pot goal", html_for=input_id, font_weight="bold"),
            rx.input(
                id=input_id,
                name="goal",
                placeholder="250.00",
                max_length=32,
                input_mode="decimal",
                width="8rem",
                aria_label="Pot goal",
                data_testid="goal-input",
            ),
            rx.button("Set pot goal", type="submit", variant="outline", data_testid="goal-button"),
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        on_submit=LobbyState.set_pot_goal,
        reset_on_submit=False,
        data_testid="goal-form",
    )


def _table_form(race: RaceCard) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Set the whole table", weight="bold"),
            rx.el.input(type="hidden", name="race_id", value=race.race_id.to_string()),
            rx.foreach(
                race.members,
                lambda member: rx.hstack(
                    rx.el.label(
                        member.name,
                        html_for="table-" + race.race_id.to_string() + "-" + member.racer_id.to_string(),
                        min_width="9rem",
                    ),
                    _position_select(
                        member.racer_id.to_string(),
                        member.default_position,
                        race.positions,
                        "Finish of " + member.name,
                        "table-" + race.race_id.to_string() + "-" + member.racer_id.to_string(),
                    ),
                    align="center",
                ),
            ),
            rx.button("Set results", type="submit", variant="outline", data_testid="set-table-button"),
            spacing="2",
        ),
        on_submit=LobbyState.ask_set_table,
        reset_on_submit=False,
        data_testid="table-form",
    )


def _status_badge(race: RaceCard) -> rx.Component:
    return rx.badge(
        race.status_label,
        color_scheme=rx.match(race.status, (RaceStatus.LIVE, "red"), (RaceStatus.ENDED, "amber"), "green"),
        variant="solid",
        high_contrast=True,
        data_testid="race-card-status",
    )


def _card_header(race: RaceCard) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(race.name, size="5", as_="h3", data_testid="race-card-name"),
            rx.text(
                "Host: ",
                race.host_name,
                " · ",
                race.member_count,
                f"/{RACE_SIZE_MAX} racers",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            spacing="1",
        ),
        rx.spacer(),
        _status_badge(race),
        align="start",
        wrap="wrap",
        gap="0.5rem",
        width="100%",
    )


def _race_in_play(race: RaceCard) -> rx.Component:
    return rx.el.article(
        rx.vstack(
            _card_header(race),
            rx.cond(
                race.disputed,
                rx.callout.root(
                    rx.callout.icon(rx.icon("triangle_alert", aria_hidden="true")),
                    rx.callout.text(
                        rx.text.strong("Disputed: "),
                        race.dispute,
                        " The racers can correct their reports, or the host sets the table.",
                    ),
                    color_scheme="red",
                    role="alert",
                    width="100%",
                    data_testid="dispute",
                ),
            ),
            rx.grid(
                rx.foreach(race.members, _member),
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="2",
                width="100%",
            ),
            # The live race's pot, pushed like the Watch page's (the same component and room).
            rx.cond(
                race.status == RaceStatus.LIVE, rx.box(pot_ticker(), width="100%", data_testid="lobby-pot")
            ),
            rx.cond(race.is_member, _report_form(race)),
            rx.cond(
                race.may_host,
                rx.vstack(
                    rx.hstack(
                        rx.cond(
                            race.status == RaceStatus.LIVE,
                            rx.button(
                                "End race",
                                on_click=LobbyState.ask_end(race.race_id),
                                color_scheme="red",
                                data_testid="end-button",
                            ),
                            rx.button(
                                "Confirm results",
                                on_click=LobbyState.ask_confirm(race.race_id),
                                data_testid="confirm-button",
                            ),
                        ),
                        spacing="2",
                    ),
                    rx.cond(race.status == RaceStatus.ENDED, _table_form(race)),
                    rx.cond(race.status == RaceStatus.LIVE, _goal_form(race)),
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.league_panel_style,
        data_testid="race-card",
    )


def _open_lobby(race: RaceCard) -> rx.Component:
    return rx.el.article(
        rx.vstack(
            _card_header(race),
            rx.cond(
                race.member_count > 0,
                rx.grid(
                    rx.foreach(race.members, _member),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="2",
                    width="100%",
                ),
                rx.text("Nobody yet: be the first.", color=theme.TEXT_MUTED),
            ),
            rx.hstack(
                rx.cond(
                    race.can_join,
                    rx.button("Join", on_click=LobbyState.join(race.race_id), data_testid="join-button"),
                ),
                rx.cond(
                    race.is_member,
                    rx.button(
                        "Leave",
                        on_click=LobbyState.leave(race.race_id),
                        variant="outline",
                        data_testid="leave-button",
                    ),
                ),
                rx.cond(
                    race.may_host,
                    rx.hstack(
                        rx.button(
                            "Start race",
                            on_click=LobbyState.start(race.race_id),
                            color_scheme="green",
                            data_testid="start-button",
                        ),
                        rx.button(
                            "Close lobby",
                            on_click=LobbyState.cancel(race.race_id),
                            variant="outline",
                            color_scheme="gray",
                            data_testid="cancel-button",
                        ),
                        spacing="2",
                    ),
                ),
                spacing="2",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        style=theme.league_panel_style,
        data_testid="lobby-card",
    )


def _host_bar() -> rx.Component:
    return rx.cond(
        LobbyState.is_host | LobbyState.is_admin,
        rx.el.section(
            rx.form(
                rx.hstack(
                    rx.el.label("New lobby name", html_for="new-lobby-name", font_weight="bold"),
                    rx.input(
                        id="new-lobby-name",
                        name="lobby_name",
                        value=LobbyState.new_lobby_name,
                        on_change=LobbyState.set_new_lobby_name,
                        max_length=LOBBY_NAME_LENGTH_MAX,
                        placeholder="e.g. Friday Night Frenzy",
                        data_testid="new-lobby-name",
                        min_width="14rem",
                    ),
                    rx.button("Open lobby", type="submit", data_testid="open-lobby-button"),
                    align="center",
                    wrap="wrap",
                    spacing="2",
                ),
                on_submit=LobbyState.open_lobby,
                reset_on_submit=False,
            ),
            style=theme.panel_style,
            aria_label="Open a lobby",
        ),
    )


def _login_prompt() -> rx.Component:
    return rx.cond(
        ~LobbyState.logged_in,
        # callout.text is the paragraph: a paragraph inside it is invalid HTML, which the browser
        # repairs, so the prerendered page no longer matches and React drops its styles.
        rx.callout.root(
            rx.callout.icon(rx.icon("log_in", aria_hidden="true")),
            rx.callout.text(
                "Racers: ",
                rx.link(
                    "log in with Discord", href=LobbyState.login_href, reload_document=True, color=theme.GOLD
                ),
                " to join a lobby and report your results.",
            ),
            width="100%",
        ),
    )


@page(route=routes.LOBBY, title="Lobby", on_load=[LobbyState.load, LivePotState.join])
def lobby_page() -> rx.Component:
    return rx.vstack(
        rx.heading("Lobby", size="7"),
        confirm_dialog(LobbyState),
        # The light poll: re-read the board every few seconds while this page is open. It mounts
        # in the browser after the first load (the prerendered page has no clock to match).
        rx.cond(
            LobbyState.loaded, rx.moment(interval=POLL_INTERVAL_MS, on_change=LobbyState.poll, display="none")
        ),
        _login_prompt(),
        _host_bar(),
        rx.cond(
            LobbyState.races.length() > 0,
            rx.el.section(
                rx.vstack(
                    rx.heading("On track and waiting for results", size="4", as_="h2"),
                    rx.foreach(LobbyState.races, _race_in_play),
                    spacing="3",
                    width="100%",
                ),
                aria_label="Races",
                width="100%",
            ),
        ),
        rx.el.section(
            rx.vstack(
                rx.heading("Open lobbies", size="4", as_="h2"),
                rx.cond(
                    LobbyState.lobbies.length() > 0,
                    rx.grid(
                        rx.foreach(LobbyState.lobbies, _open_lobby),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="3",
                        width="100%",
                    ),
                    rx.cond(
                        LobbyState.loaded, rx.text("No lobby is open right now.", color=theme.TEXT_MUTED)
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            aria_label="Open lobbies",
            width="100%",
        ),
        last_race(),
        spacing="4",
        width="100%",
    )

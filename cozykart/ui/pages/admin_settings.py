"""`/admin/settings`: the money settings in effect, a form per setting (with a reason), and the audit.

`money_settings.money_settings_view` and `change_money_setting` refuse anyone
who is not an admin; a change applies from the next sale, tip, payout request
or hold, never to a transaction already written.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.domain.ledger import REASON_LENGTH_MAX
from cozykart.services import money_settings
from cozykart.services.money_settings import MoneySettingsView
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.local_time import LOCAL_WITH_YEAR, local_time
from cozykart.ui.service_call import call_service

VALUE_INPUT_LENGTH_MAX = 20
_PLACEHOLDERS = {
    "bps": "New percent, like 20 or 12.5",
    "cents": "New amount, like 20.00",
    "days": "New days, like 7",
}


@dataclasses.dataclass
class SettingView:
    name: str = ""
    label: str = ""
    value: str = ""
    source: str = ""
    changed: bool = False
    help: str = ""
    limits: str = ""
    placeholder: str = ""


@dataclasses.dataclass
class ChangeView:
    when: str = ""
    label: str = ""
    old: str = ""
    new: str = ""
    actor: str = ""
    reason: str = ""


def _read(actor_id, uow, settings) -> MoneySettingsView:
    return money_settings.money_settings_view(actor_id=actor_id, uow=uow)


class MoneySettingsState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    settings: list[SettingView] = []
    history: list[ChangeView] = []
    error_name: str = ""  # the setting whose change was refused, and why: said beside its form
    error_text: str = ""

    def _show(self, view: MoneySettingsView) -> None:
        self.settings = [
            SettingView(
                name=line.name,
                label=line.label,
                value=line.value_words,
                source=line.source_words,
                changed=line.last_change is not None,
                help=line.help,
                limits=f"From {line.low_words} to {line.high_words}.",
                placeholder=_PLACEHOLDERS[line.unit],
            )
            for line in view.settings
        ]
        self.history = [
            ChangeView(
                when=iso_instant(change.changed_at),
                label=change.label,
                old=change.old_words,
                new=change.new_words,
                actor=change.actor_name,
                reason=change.reason,
            )
            for change in view.history
        ]

    def _hide(self) -> None:
        self.settings, self.history = [], []

    @rx.event
    async def load(self):
        return await admin_load(self, _read, self._show, hide=self._hide)

    @rx.event
    async def ask_change(self, form: dict):
        """The dialog before a money setting changes: old → new in words, from a dry run of the change."""
        name, value, reason = (str(form.get(field) or "") for field in ("name", "value", "reason"))
        previewed = await call_service(
            self,
            lambda actor_id, uow, settings: money_settings.preview_money_setting_change(
                actor_id=actor_id, name=name, value=value, reason=reason, uow=uow
            ),
        )
        if previewed.refused and not self.allowed:  # no console shown (a forged event): say it anyway
            return previewed.toast()
        if previewed.refused:  # said beside the setting's form, before any dialog; what was typed stays
            self.error_name, self.error_text = name, previewed.message
            return None
        self.error_name = self.error_text = ""
        receipt = previewed.value
        self._ask(
            title="Change a money setting?",
            lines=[
                receipt.message.replace(" changed from ", " changes from ", 1),
                "Money already recorded keeps the value it was recorded with; "
                f"the change is kept with your reason: {reason.strip()!r}.",
            ],
            label="Change the setting",
            handler="change",
            args={"form": {"name": name, "value": value, "reason": reason}},
        )
        return None

    @rx.event
    async def change(self, form: dict):
        name, value, reason = (str(form.get(field, "")) for field in ("name", "value", "reason"))
        receipt = await call_service(
            self,
            lambda actor_id, uow, settings: money_settings.change_money_setting(
                actor_id=actor_id, name=name, value=value, reason=reason, uow=uow
            ),
        )
        if receipt.refused and not self.allowed:  # no console shown (a forged event): say it anyway
            return receipt.toast()
        if receipt.refused:  # said beside the setting's form; what was typed stays in it
            self.error_name, self.error_text = name, receipt.message
            return None
        self.error_name = self.error_text = ""
        view = await call_service(self, _read)
        if view.refused:
            return view.toast()
        self._show(view.value)
        known = {setting.name for setting in self.settings}
        reset = rx.call_script(f"document.getElementById('setting-form-{name}')?.reset()")
        return [*([reset] if name in known else []), rx.toast.success(receipt.value.message)]


# --- components ---------------------------------------------------------------


def _setting(setting: SettingView) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(setting.label, weight="bold"),
            rx.text(setting.value, weight="bold", color=theme.GOLD, data_testid="setting-value"),
            rx.badge(
                setting.source,
                color_scheme=rx.cond(setting.changed, "amber", "gray"),
                white_space="normal",
                overflow_wrap="anywhere",
                max_width="100%",
                data_testid="setting-source",
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.text(setting.help, " ", setting.limits, size="2", color=theme.TEXT_MUTED),
        rx.form(
            rx.hstack(
                rx.el.input(type="hidden", name="name", value=setting.name),
                rx.input(
                    name="value",
                    placeholder=setting.placeholder,
                    aria_label="New value of " + setting.label,
                    max_length=VALUE_INPUT_LENGTH_MAX,
                    width="14rem",
                    max_width="100%",
                    data_testid="setting-new-value",
                ),
                rx.input(
                    name="reason",
                    placeholder="Reason (kept in the audit)",
                    aria_label="Reason for changing " + setting.label,
                    max_length=REASON_LENGTH_MAX,
                    width="20rem",
                    max_width="100%",
                    data_testid="setting-reason",
                ),
                rx.button("Change", type="submit", color_scheme="amber", data_testid="setting-change"),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            id="setting-form-" + setting.name,
            on_submit=MoneySettingsState.ask_change,
            reset_on_submit=False,  # a refused change keeps what was typed; a done one clears it
        ),
        rx.cond(
            (MoneySettingsState.error_name == setting.name) & (MoneySettingsState.error_text != ""),
            rx.text(
                MoneySettingsState.error_text,
                color=theme.LIVE_RED,
                size="2",
                role="alert",
                data_testid="setting-error",
            ),
        ),
        spacing="2",
        width="100%",
        padding_y="0.75rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="setting-" + setting.name,
    )


def _change(change: ChangeView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(local_time(change.when, pattern=LOCAL_WITH_YEAR), white_space="nowrap"),
        rx.table.cell(change.label),
        rx.table.cell(change.old),
        rx.table.cell(change.new, weight="bold"),
        rx.table.cell(change.actor),
        rx.table.cell(change.reason),
        data_testid="setting-change-row",
    )


def _console() -> rx.Component:
    return rx.vstack(
        rx.el.section(
            rx.vstack(
                rx.heading("Money settings", size="6", as_="h1"),
                rx.text(
                    "A fresh install starts with the environment's values. A change here is kept with who, "
                    "when and why, and applies from the next sale, tip, payout request or hold on; "
                    "money already recorded keeps the rate it was recorded with.",
                    size="2",
                    color=theme.TEXT_MUTED,
                ),
                rx.foreach(MoneySettingsState.settings, _setting),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Money settings",
        ),
        rx.el.section(
            rx.vstack(
                rx.heading("Changes", size="4", as_="h2"),
                rx.cond(
                    MoneySettingsState.history.length() > 0,
                    rx.box(
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(
                                    *[
                                        rx.table.column_header_cell(title)
                                        for title in ("When", "Setting", "Was", "Now", "By", "Reason")
                                    ]
                                )
                            ),
                            rx.table.body(rx.foreach(MoneySettingsState.history, _change)),
                            width="100%",
                            size="1",
                        ),
                        overflow_x="auto",
                        width="100%",
                    ),
                    rx.text(
                        "No admin has changed a money setting yet: every value is the environment's.",
                        color=theme.TEXT_MUTED,
                        data_testid="settings-audit-empty",
                    ),
                ),
                width="100%",
            ),
            style=theme.panel_style,
            aria_label="Money setting changes",
        ),
        spacing="4",
        width="100%",
    )


@page(route=routes.ADMIN_SETTINGS, title="Money settings", on_load=MoneySettingsState.load)
def admin_settings_page() -> rx.Component:
    return admin_gate(
        MoneySettingsState.allowed,
        MoneySettingsState.refusal,
        routes.ADMIN_SETTINGS,
        rx.fragment(confirm_dialog(MoneySettingsState), _console()),
    )

"""One dialog before every irreversible action: what will happen, in words, and a second click.

A page's state mixes in `ConfirmMixin`; its opening button calls an `ask_...`
handler, which reads a preview from a service (amounts, who, what breaks: the
words come from the server, never from a guess in the browser) and calls
`self._ask(...)` with them and the action to run. The page renders
`confirm_dialog(TheState)` once. "Confirm" (`data-testid="confirm-yes"`) runs
the remembered action; "Cancel" (`confirm-no`) forgets it.

The action is remembered in a backend var (never sent to the browser) as the
name of one of the state's own public event handlers and its arguments, which
the `ask_...` handler took from its own guarded arguments. That handler runs
exactly as if it had been called directly: it re-derives the acting racer and
its service checks every permission and every value again. The dialog is a
courtesy against a slipped click, not a permission.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import reflex as rx

from cozykart.ui import theme

NOTHING_PENDING = "Nothing to confirm: that action was already done or cancelled."
CONFIRM_LINES_MAX = 20


class ConfirmMixin(rx.State, mixin=True):
    """The dialog's vars and its two buttons' handlers, for any page state."""

    confirm_open: bool = False
    confirm_title: str = ""
    confirm_lines: list[str] = []
    confirm_label: str = "Confirm"
    _confirm_handler: str = ""
    _confirm_args: dict = {}

    def _ask(
        self, *, title: str, lines: Iterable[str], label: str, handler: str, args: dict[str, Any]
    ) -> None:
        """Open the dialog with these words; "Confirm" will call `handler(**args)` on this state."""
        assert handler in type(self).event_handlers, f"{handler} is not an event handler of {type(self)}"
        self.confirm_title = title
        self.confirm_lines = list(lines)[:CONFIRM_LINES_MAX]
        self.confirm_label = label
        self._confirm_handler = handler
        self._confirm_args = dict(args)
        self.confirm_open = True

    def _forget_confirmation(self) -> None:
        self.confirm_open = False
        self._confirm_handler = ""
        self._confirm_args = {}

    @rx.event
    def confirm_no(self):
        self._forget_confirmation()

    @rx.event
    def confirm_open_change(self, is_open: bool):
        """Escape or a click outside closes the dialog: the same as Cancel."""
        if not is_open:
            self._forget_confirmation()

    @rx.event
    async def confirm_yes(self):
        handler_name, args = self._confirm_handler, dict(self._confirm_args)
        self._forget_confirmation()
        handler = type(self).event_handlers.get(handler_name)
        if handler is None:
            return rx.toast.error(NOTHING_PENDING)
        answer = handler.fn(self, **args)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer


def confirm_dialog(state: Any) -> rx.Component:
    """The page's one confirmation dialog (render it once, anywhere on the page)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(state.confirm_title),
            rx.alert_dialog.description(
                rx.vstack(
                    rx.foreach(state.confirm_lines, lambda line: rx.text(line, data_testid="confirm-line")),
                    spacing="2",
                ),
                as_child=True,
            ),
            rx.hstack(
                rx.button(
                    "Cancel",
                    on_click=state.confirm_no,
                    variant="soft",
                    color_scheme="gray",
                    data_testid="confirm-no",
                ),
                rx.button(
                    state.confirm_label,
                    on_click=state.confirm_yes,
                    color_scheme="red",
                    data_testid="confirm-yes",
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            style={"background": theme.INK, "color": theme.TEXT},
            data_testid="confirm-dialog",
        ),
        open=state.confirm_open,
        on_open_change=state.confirm_open_change,
    )

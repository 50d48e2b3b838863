"""Two checks every event passes before its handler runs (Reflex middleware, `app.add_middleware`).

Any connected client can send any event with any arguments, so:

1. `ArgumentGuard`: the arguments of an event for one of the app's handlers
   must be what its signature says (a whole number, a short text, a yes/no, a
   small form of texts), within named sizes; otherwise the handler does not
   run and the client is told, with a toast, that the request was refused.
   Nothing is logged as an error and no var changes, so no form is left stuck.
   Every handler's parameters are annotated with one of `SUPPORTED_TYPES`
   (`tests/unit/test_event_guard.py` reads them all).
2. `ViewerChangeGuard`: when a tab hydrates (a page load) and the person behind
   its session is not the one its private vars were filled for (they logged out,
   or someone else logged in), every private state (`AuthState` and its
   substates: wallet, profile, lobby, the admin pages) is reset first, so the
   hydrate sends nothing of the previous person.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import re
import types
import typing
from functools import cache
from typing import Any

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import BaseState, State, StateUpdate
from reflex_base import constants
from reflex_base.event import Event, EventHandler
from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY
from reflex_base.utils.format import format_event_handler

from cozykart.domain.ids import SAFE_INTEGER_DIGITS_MAX, SAFE_INTEGER_MAX
from cozykart.ui.auth_state import AuthState, current_viewer

logger = logging.getLogger(__name__)

APP_PACKAGE = "cozykart."
EVENT_TEXT_LENGTH_MAX = 2_000
EVENT_FORM_FIELDS_MAX = 40
EVENT_FORM_KEY_LENGTH_MAX = 100
EVENT_INT_MAX = SAFE_INTEGER_MAX
ASCII_WHOLE_NUMBER = re.compile(rf"-?[0-9]{{1,{SAFE_INTEGER_DIGITS_MAX}}}")
SUPPORTED_TYPES: tuple[Any, ...] = (str, int, bool, dict)
REFUSAL = "That request was refused: {reason}."


class ArgumentError(ValueError):
    """An event's arguments do not fit its handler; the message says which."""


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= EVENT_INT_MAX
    return (
        isinstance(value, str)
        and ASCII_WHOLE_NUMBER.fullmatch(value) is not None
        and (abs(int(value)) <= EVENT_INT_MAX)
    )


def _is_text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= EVENT_TEXT_LENGTH_MAX


def _form_fields(value: object) -> list | None:
    """A form's (name, value) pairs: a plain mapping, or the entries a Reflex form submits
    (`{FORM_DATA_ENTRIES_KEY: [[name, value], ...]}`); None when it is neither."""
    if not isinstance(value, dict):
        return None
    if set(value) != {FORM_DATA_ENTRIES_KEY}:
        return list(value.items())
    entries = value[FORM_DATA_ENTRIES_KEY]
    if not isinstance(entries, list) or not all(
        isinstance(entry, list) and len(entry) == 2 for entry in entries
    ):
        return None
    return [tuple(entry) for entry in entries]


def _is_form(value: object) -> bool:
    fields = _form_fields(value)
    if fields is None or len(fields) > EVENT_FORM_FIELDS_MAX:
        return False
    return all(
        isinstance(key, str)
        and len(key) <= EVENT_FORM_KEY_LENGTH_MAX
        and (field is None or isinstance(field, bool) or _is_int(field) or _is_text(field))
        for key, field in fields
    )


def _fits(value: object, annotation: Any) -> bool:
    options = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else ()
    )
    if options:
        return any(_fits(value, option) for option in options)
    if annotation is type(None):
        return value is None
    base = typing.get_origin(annotation) or annotation
    checks = {str: _is_text, int: _is_int, bool: lambda v: isinstance(v, bool), dict: _is_form}
    check = checks.get(base)
    assert check is not None, f"event argument type {annotation!r} has no check"
    return check(value)


def annotation_is_supported(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(
            option is type(None) or annotation_is_supported(option) for option in typing.get_args(annotation)
        )
    return (typing.get_origin(annotation) or annotation) in SUPPORTED_TYPES


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    annotation: Any
    required: bool


def parameters_of(handler: EventHandler) -> tuple[Parameter, ...]:
    """The client-settable parameters of a handler (everything after `self`), with their types."""
    hints = typing.get_type_hints(handler.fn)
    signature = inspect.signature(handler.fn)
    return tuple(
        Parameter(
            name, hints.get(name, inspect.Parameter.empty), parameter.default is inspect.Parameter.empty
        )
        for name, parameter in list(signature.parameters.items())[1:]
    )


def check_arguments(handler: EventHandler, payload: object) -> None:
    """Raise ArgumentError unless `payload` is exactly what `handler` takes."""
    if not isinstance(payload, dict):
        raise ArgumentError("its arguments are not a set of named values")
    parameters = {parameter.name: parameter for parameter in parameters_of(handler)}
    unknown = set(payload) - set(parameters)
    if unknown:
        raise ArgumentError(f"it has arguments this action does not take ({len(unknown)})")
    for parameter in parameters.values():
        if parameter.name not in payload:
            if parameter.required:
                raise ArgumentError(f"'{parameter.name}' is missing")
            continue
        if not _fits(payload[parameter.name], parameter.annotation):
            raise ArgumentError(f"'{parameter.name}' is not a valid value for it")


def app_state_classes() -> list[type[BaseState]]:
    """Every state class of the app (defined in the cozykart package), parents before children."""
    found: list[type[BaseState]] = []
    pending: list[type[BaseState]] = [State]
    while pending:
        cls = pending.pop(0)
        if cls.__module__.startswith(APP_PACKAGE) and cls not in found:
            found.append(cls)
        pending.extend(sorted(cls.__subclasses__(), key=lambda sub: f"{sub.__module__}.{sub.__qualname__}"))
    return found


@cache
def app_handlers() -> dict[str, EventHandler]:
    """The app's own event handlers by the name a client sends."""
    return {
        format_event_handler(handler): handler
        for cls in app_state_classes()
        for handler in cls.event_handlers.values()
        if getattr(handler.fn, "__module__", "").startswith(APP_PACKAGE)
    }


class ArgumentGuard(Middleware):
    async def preprocess(self, app: rx.App, state: BaseState, event: Event) -> StateUpdate | None:
        handler = app_handlers().get(event.name)
        if handler is None:
            return None
        try:
            check_arguments(handler, event.payload)
        except ArgumentError as refusal:
            logger.info("refused %s: %s", event.name.rpartition(".")[2], refusal)
            return StateUpdate(events=Event.from_event_type(rx.toast.error(REFUSAL.format(reason=refusal))))
        return None


@cache
def _hydrate_event_names() -> frozenset[str]:
    return frozenset(
        format_event_handler(State.event_handlers[name])
        for name in (constants.CompileVars.HYDRATE, constants.CompileVars.HYDRATE_AND_LOAD)
    )


def private_state_classes() -> list[type[BaseState]]:
    return [cls for cls in app_state_classes() if issubclass(cls, AuthState)]


class ViewerChangeGuard(Middleware):
    async def preprocess(self, app: rx.App, state: BaseState, event: Event) -> StateUpdate | None:
        if event.name not in _hydrate_event_names():
            return None
        auth = await state.get_state(AuthState)
        viewer = await current_viewer(auth)
        racer_id = viewer.racer_id if viewer else None
        if auth._vars_viewer() != racer_id:
            for cls in private_state_classes():
                await state.get_state(cls)  # loaded, so the reset reaches it (Redis loads lazily)
            auth.reset()
            auth._remember_vars_viewer(racer_id)
        return None

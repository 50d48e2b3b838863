"""The one way a page runs a service: as the logged-in viewer, off the event loop, a refusal shown.

    outcome = await call_service(self, lambda actor_id, uow, settings: payouts.request_payout(...))
    if outcome.refused:
        self.form_error = outcome.message  # where the page shows it, if it shows it
        return outcome.toast()
    ... outcome.value ...

`call_service` re-derives the acting racer from the backend session
(`acting_racer_id`: never an id the client sent; no session is `NotLoggedIn`),
runs `work(actor_id, uow, settings)` in a thread, and answers an `Outcome`: the
work's value, or the `CozyKartError` that refused it, whose message is for the
person. The service checks the role. Public pages (tip, standings, a racer's
profile) pass `anyone=True`: no session needed and `actor_id` is None.

Parse what the browser sent inside `work` too, so a bad input is refused the
same way. Any other exception is a bug and is not caught.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import reflex as rx

from cozykart.domain.errors import CozyKartError
from cozykart.services import default_uow
from cozykart.settings import Settings, load_settings
from cozykart.ui.auth_state import acting_racer_id

T = TypeVar("T")
ServiceWork = Callable[[Any, Any, Settings], T]  # (actor id, a unit of work, settings): ui never imports db


@dataclasses.dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a service call came to: its value, or the error that refused it."""

    value: T | None = None
    error: CozyKartError | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str:
        """The refusal in words for the person ("" when it was not refused)."""
        return self.error.message if self.error is not None else ""

    def toast(self) -> rx.event.EventSpec:
        """The refusal as an error toast."""
        return rx.toast.error(self.message)


async def call_service(state: rx.State, work: ServiceWork[T], *, anyone: bool = False) -> Outcome[T]:
    """Run `work(actor_id, uow, settings)` in a thread as the racer behind this session."""
    settings = load_settings()
    try:
        actor_id = None if anyone else await acting_racer_id(state)
        value = await asyncio.to_thread(work, actor_id, default_uow(settings), settings)
    except CozyKartError as error:
        return Outcome(error=error)
    return Outcome(value=value)

"""The root of every error a person can cause and act on.

Services raise subclasses of `CozyKartError` for bad input or a refused action;
their message is written for the racer, fan or admin who will read it. Entry
points show it (a toast, an ephemeral Discord reply, a 4xx body). A broken
invariant is an `assert`, never one of these, and is never caught.

Each domain module declares its own subclasses beside its rules
(`cozykart.domain.league`, `cozykart.domain.ledger`).
"""

from __future__ import annotations


class CozyKartError(Exception):
    """Bad input or a refused action; `str(error)` is the message to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CozyKartError):
    """The thing named does not exist."""


class PermissionDenied(CozyKartError):
    """The person acting may not do this."""


class InvalidInput(CozyKartError):
    """A value is malformed or out of range."""

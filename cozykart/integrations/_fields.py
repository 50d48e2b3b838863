"""Reading fields out of a provider's JSON, with a clear complaint when one is missing."""

from __future__ import annotations

from typing import Any

from cozykart.domain.payments import MalformedWebhook

TEXT_FIELD_LENGTH_MAX = 500


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedWebhook(f"{what} is not an object")
    return value


def text(source: dict[str, Any], name: str, what: str) -> str:
    value = source.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedWebhook(f"{what}.{name} is missing")
    return value.strip()


def optional_text(source: dict[str, Any], name: str) -> str | None:
    value = source.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:TEXT_FIELD_LENGTH_MAX]


def whole_number(source: dict[str, Any], name: str, what: str) -> int:
    value = source.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedWebhook(f"{what}.{name} is not a whole number")
    return value


def identifier(source: dict[str, Any], name: str, what: str) -> str:
    """An id that providers send as a number or a string."""
    value = source.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() == "":
        raise MalformedWebhook(f"{what}.{name} is missing")
    return str(value).strip()

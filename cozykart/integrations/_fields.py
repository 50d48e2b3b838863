"""Reading fields out of a provider's JSON, with a clear complaint when one is missing."""

from __future__ import annotations

from typing import Any

from cozykart.domain.payments import MalformedWebhook, provider_cents

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


def cents(source: dict[str, Any], name: str, what: str) -> int:
    """An amount in whole cents (Stripe's smallest currency unit), within `AMOUNT_CENTS_MAX`."""
    return provider_cents(source.get(name), f"{what}.{name}")


def identifier(source: dict[str, Any], name: str, what: str) -> str:
    """An id that providers send as a number or a string."""
    value = source.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() == "":
        raise MalformedWebhook(f"{what}.{name} is missing")
    return str(value).strip()

"""Posting an announcement to a Discord channel webhook (the discord-webhook package).

The one seam is `Notifier.send(message) -> Delivery`: the outbox sender calls it
outside any database transaction and records what it says. `WebhookNotifier`
posts to `DISCORD_ANNOUNCE_WEBHOOK_URL`; tests point that URL at a local server.
A send never raises for Discord's sake: an outage, a 5xx or a 429 comes back as
a `Delivery` that is not ok. The webhook URL is a secret, so no error text here
contains it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx
import requests
from discord_webhook import DiscordWebhook

REQUEST_TIMEOUT_S = 5.0
RETRY_AFTER_S_DEFAULT = 1.0
RETRY_AFTER_S_MAX = 300.0
ERROR_LENGTH_MAX = 300


@dataclass(frozen=True)
class Delivery:
    """What Discord said: ok, or rate limited (`retry_after_s`), or an error worth a retry, or not (`permanent`)."""

    ok: bool
    retry_after_s: float | None = None
    error: str | None = None
    permanent: bool = False  # Discord refused this message for good (e.g. the user's DMs are closed)

    @property
    def rate_limited(self) -> bool:
        return self.retry_after_s is not None


class Notifier(Protocol):
    def send(self, message: Mapping) -> Delivery: ...


def retry_after_s(response: requests.Response | httpx.Response) -> float:
    """Discord's wait in seconds: the JSON `retry_after`, else the Retry-After header; clamped."""
    seconds: float | None = None
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            seconds = float(body["retry_after"])
    except ValueError:
        pass
    if seconds is None:
        try:
            seconds = float(response.headers.get("Retry-After", ""))
        except ValueError:
            seconds = RETRY_AFTER_S_DEFAULT
    return min(max(seconds, 0.0), RETRY_AFTER_S_MAX)


class WebhookNotifier:
    """Sends each message as one execution of a Discord channel webhook."""

    def __init__(self, url: str, *, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        assert url, "a webhook URL is needed to send"
        self._url = url
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never show the URL (it is a secret)
        return f"WebhookNotifier(timeout_s={self.timeout_s})"

    def send(self, message: Mapping) -> Delivery:
        webhook = DiscordWebhook(
            url=self._url,
            content=message.get("content"),
            embeds=list(message.get("embeds") or []),
            allowed_mentions=dict(message.get("allowed_mentions") or {"parse": []}),
            timeout=self.timeout_s,
            rate_limit_retry=False,  # the outbox honours retry_after itself, without blocking
        )
        try:
            # `execute()` would parse any answer as JSON and log the body; the plain
            # post lets a 5xx page or an empty 204 come back as a status code.
            response = webhook.api_post_request()
        except requests.RequestException as error:
            return Delivery(ok=False, error=f"Discord could not be reached ({type(error).__name__})")
        if 200 <= response.status_code < 300:
            return Delivery(ok=True)
        if response.status_code == 429:
            return Delivery(ok=False, retry_after_s=retry_after_s(response), error="Discord rate limit (429)")
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict) and body.get("message"):
                detail = f": {body['message']}"
        except (ValueError, json.JSONDecodeError):
            pass
        return Delivery(ok=False, error=f"Discord answered {response.status_code}{detail}"[:ERROR_LENGTH_MAX])

"""Posting an announcement to a Discord channel webhook (the discord-webhook package).

The one seam is `Notifier.send(message) -> Delivery`: the outbox sender calls it
outside any database transaction and records what it says. `WebhookNotifier`
posts to `DISCORD_ANNOUNCE_WEBHOOK_URL`; tests point that URL at a local server.
A send never raises for Discord's sake: an outage, a timeout, a 5xx or a 429 comes
back as a `Delivery` that is not ok. The webhook URL is a secret, so no error text
here contains it.

Rate limits, as Discord documents them (developers docs, "Rate Limits",
https://docs.discord.com/developers/topics/rate-limits: "Header Format" and
"Exceeding A Rate Limit"): every answer may carry `X-RateLimit-Limit`,
`-Remaining`, `-Reset`, `-Reset-After` (seconds, decimals) and `-Bucket`; a 429
adds `X-RateLimit-Scope` (user, global, shared), `X-RateLimit-Global` on the
global limit, the `Retry-After` header in seconds and the JSON body
`{"message", "retry_after" (float seconds), "global", "code"}`. A 429 from
Cloudflare in front of Discord may carry only the header. `RateLimits` keeps
what a sender learnt: a route (or its shared bucket) waits out its 429 or its
`Remaining: 0` until `Reset-After`; a global 429 holds every route of the
sender. A send that must wait does not go out at all: it comes back rate
limited with the time left, so the outbox waits it out between rounds (never
sleeping while holding its lease, never counting it as a try).

A timeout is ambiguous: Discord may have stored the message and the answer was
lost. The webhook is executed with `?wait=true` (the answer comes after the
message is saved: Execute Webhook's query string,
https://discord.com/developers/docs/resources/webhook#execute-webhook), so a 2xx
means it is in the channel; but Execute Webhook takes no nonce, so a retry after
a lost answer can show the message twice. That at-least-once gap is measured by
bench/discord_drill.py. The bot's messages close it with a nonce
(`integrations/discord_dm.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx
import requests
from discord_webhook import DiscordWebhook

REQUEST_TIMEOUT_S = 5.0
RETRY_AFTER_S_DEFAULT = 1.0
RETRY_AFTER_S_MAX = 300.0
ERROR_LENGTH_MAX = 300
WEBHOOK_ROUTE = "POST /webhooks/{webhook_id}"

Response = requests.Response | httpx.Response


@dataclass(frozen=True)
class Delivery:
    """What Discord said: ok, or rate limited (`retry_after_s`), or an error worth a retry, or not (`permanent`).

    `attempted` is False when the sender held the message back itself (a known
    rate limit still running): nothing reached Discord.
    """

    ok: bool
    retry_after_s: float | None = None
    error: str | None = None
    permanent: bool = False  # Discord refused this message for good (e.g. the user's DMs are closed)
    attempted: bool = True

    @property
    def rate_limited(self) -> bool:
        return self.retry_after_s is not None


class Notifier(Protocol):
    def send(self, message: Mapping) -> Delivery: ...


def _json_body(response: Response) -> dict:
    try:
        body = response.json()
    except ValueError:  # requests' and httpx's JSON errors are ValueErrors; an HTML page, an empty body
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(text: str | None) -> float | None:
    try:
        seconds = float(text) if text is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds == seconds else None  # NaN is no wait


def retry_after_s(response: Response) -> float:
    """Discord's wait in seconds: the longer of the JSON `retry_after` and the Retry-After header; clamped.

    The body is precise (milliseconds); the header may be rounded; waiting the
    longer of the two is "at least" what either asked.
    """
    body_value = _json_body(response).get("retry_after")
    asked = [
        float(body_value) if isinstance(body_value, int | float) else None,
        _seconds(response.headers.get("Retry-After")),
    ]
    seconds = max((value for value in asked if value is not None), default=RETRY_AFTER_S_DEFAULT)
    return min(max(seconds, 0.0), RETRY_AFTER_S_MAX)


def is_global(response: Response) -> bool:
    """A 429 of the sender's global limit (`X-RateLimit-Global: true`, or `"global": true` in the body)."""
    header = (response.headers.get("X-RateLimit-Global") or "").strip().lower() == "true"
    scope = (response.headers.get("X-RateLimit-Scope") or "").strip().lower() == "global"
    return header or scope or _json_body(response).get("global") is True


class RateLimits:
    """What one sender knows of Discord's limits: when each route (bucket) and the whole sender may go again.

    Thread-safe; `monotonic` is injectable for tests. Routes are named by the
    caller with their top-level resource (`POST /channels/123/messages`), since
    Discord counts limits per channel, guild or webhook; routes that Discord says
    share a bucket (`X-RateLimit-Bucket`) wait together.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._bucket_of: dict[str, str] = {}
        self._until: dict[str, float] = {}
        self._global_until = 0.0

    def _key(self, route: str, major: str) -> str:
        return f"{self._bucket_of.get(route, route)}|{major}"

    def wait_s(self, route: str, major: str = "") -> float:
        """Seconds before `route` (for top-level resource `major`) may be called again; 0 when it may now."""
        with self._lock:
            until = max(self._global_until, self._until.get(self._key(route, major), 0.0))
            return max(0.0, until - self._monotonic())

    def observe(self, route: str, response: Response, major: str = "") -> None:
        """Learn from one answer: its bucket, a 429's wait, or a bucket spent to its last request."""
        headers = response.headers
        now = self._monotonic()
        with self._lock:
            bucket = headers.get("X-RateLimit-Bucket")
            if bucket:
                self._bucket_of[route] = bucket
            key = self._key(route, major)
            if response.status_code == 429:
                until = now + retry_after_s(response)
                if is_global(response):
                    self._global_until = max(self._global_until, until)
                else:
                    self._until[key] = max(self._until.get(key, 0.0), until)
                return
            reset_after = _seconds(headers.get("X-RateLimit-Reset-After"))
            if headers.get("X-RateLimit-Remaining", "").strip() == "0" and reset_after is not None:
                until = now + min(max(reset_after, 0.0), RETRY_AFTER_S_MAX)
                self._until[key] = max(self._until.get(key, 0.0), until)

    def held_back(self, route: str, major: str = "") -> Delivery | None:
        """A not-attempted, rate-limited Delivery when `route` must still wait; None when it may go."""
        wait_s = self.wait_s(route, major)
        if wait_s <= 0:
            return None
        return Delivery(
            ok=False, retry_after_s=wait_s, error="waiting out Discord's rate limit", attempted=False
        )


def error_detail(response: Response) -> str:
    message = _json_body(response).get("message")
    return f": {message}" if message else ""


class WebhookNotifier:
    """Sends each message as one execution of a Discord channel webhook, within its rate limits."""

    def __init__(
        self, url: str, *, timeout_s: float = REQUEST_TIMEOUT_S, limits: RateLimits | None = None
    ) -> None:
        assert url, "a webhook URL is needed to send"
        self._url = url
        self.timeout_s = timeout_s
        self.limits = limits or RateLimits()

    def __repr__(self) -> str:  # never show the URL (it is a secret)
        return f"WebhookNotifier(timeout_s={self.timeout_s})"

    def send(self, message: Mapping) -> Delivery:
        held = self.limits.held_back(WEBHOOK_ROUTE)
        if held is not None:
            return held
        webhook = DiscordWebhook(
            url=self._url,
            content=message.get("content"),
            embeds=list(message.get("embeds") or []),
            allowed_mentions=dict(message.get("allowed_mentions") or {"parse": []}),
            timeout=self.timeout_s,
            wait=True,  # answered once saved: a 2xx means the message is in the channel
            rate_limit_retry=False,  # the outbox honours retry_after itself, without blocking
        )
        try:
            # `execute()` would parse any answer as JSON and log the body; the plain
            # post lets a 5xx page or an empty 204 come back as a status code.
            response = webhook.api_post_request()
        except requests.Timeout as error:
            return Delivery(ok=False, error=f"Discord did not answer in time ({type(error).__name__})")
        except requests.RequestException as error:
            return Delivery(ok=False, error=f"Discord could not be reached ({type(error).__name__})")
        self.limits.observe(WEBHOOK_ROUTE, response)
        if 200 <= response.status_code < 300:
            return Delivery(ok=True)
        if response.status_code == 429:
            scope = "global " if is_global(response) else ""
            return Delivery(
                ok=False, retry_after_s=retry_after_s(response), error=f"Discord {scope}rate limit (429)"
            )
        error = f"Discord answered {response.status_code}{error_detail(response)}"
        return Delivery(ok=False, error=error[:ERROR_LENGTH_MAX])

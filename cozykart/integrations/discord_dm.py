"""Sending a racer a direct message through the bot (httpx, Discord's REST API).

Discord's documented two steps (developers docs, resources/user "Create DM" and
resources/message "Create Message"): `POST /users/@me/channels` with
`{"recipient_id": ...}` answers the DM channel (`{"id": ..., "type": 1}`), then
`POST /channels/{id}/messages` posts the message there. Both carry
`Authorization: Bot <token>`.

Like the webhook notifier, `send(message) -> Delivery` never raises for
Discord's sake: a 429 comes back rate limited with its wait, a 5xx, a timeout
or an outage as an error worth a retry, and a 4xx that no retry can change
(Discord's 403 "Cannot send messages to this user" when a racer closed their
DMs, an unknown user) as permanent, so the outbox parks it at once. The token
is a secret: no error text or repr here contains it.

Rate limits: both routes share the bot's `RateLimits` (see
`integrations/discord_announce.py` and https://docs.discord.com/developers/topics/rate-limits):
a route's 429 or spent bucket holds that route (the messages route per channel,
its top-level resource), the bot's global 429 holds both.

Sent once: the outbox hands each message its `nonce` (stable across retries) and
this sends it with `enforce_nonce: true`, so a retry after a lost answer gets
the message Discord already created instead of a second one (Create Message's
`nonce` and `enforce_nonce`: "if another message was created by the same author
with the same nonce, that message will be returned and no new message will be
created", https://discord.com/developers/docs/resources/message#create-message).
Opening the DM channel is idempotent by itself (the same channel each time).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from cozykart.integrations.discord_announce import (
    ERROR_LENGTH_MAX,
    REQUEST_TIMEOUT_S,
    Delivery,
    RateLimits,
    error_detail,
    is_global,
    retry_after_s,
)

OPEN_DM_ROUTE = "POST /users/@me/channels"
MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"
NONCE_LENGTH_MAX = 25  # Discord's limit on a message nonce


def _refusal(response: httpx.Response, step: str) -> Delivery:
    if response.status_code == 429:
        scope = "global " if is_global(response) else ""
        return Delivery(
            ok=False,
            retry_after_s=retry_after_s(response),
            error=f"Discord {scope}rate limit (429) on {step}",
        )
    error = f"Discord answered {response.status_code} on {step}{error_detail(response)}"[:ERROR_LENGTH_MAX]
    return Delivery(ok=False, error=error, permanent=400 <= response.status_code < 500)


def _message_body(message: Mapping) -> dict:
    body = {key: value for key, value in message.items() if key != "recipient_id"}
    nonce = body.get("nonce")
    if nonce is not None:
        assert len(str(nonce)) <= NONCE_LENGTH_MAX, "Discord refuses a nonce longer than 25 characters"
        body["enforce_nonce"] = True
    return body


class BotMessenger:
    """Sends each message (`{"recipient_id": ..., "content": ..., "allowed_mentions": ...}`) as a DM."""

    def __init__(
        self,
        *,
        api_base: str,
        bot_token: str,
        timeout_s: float = REQUEST_TIMEOUT_S,
        limits: RateLimits | None = None,
    ) -> None:
        assert bot_token, "a bot token is needed to send direct messages"
        self._api_base = api_base.rstrip("/")
        self._headers = {"Authorization": f"Bot {bot_token}"}
        self.timeout_s = timeout_s
        self.limits = limits or RateLimits()

    def __repr__(self) -> str:  # never show the token
        return f"BotMessenger(timeout_s={self.timeout_s})"

    def send(self, message: Mapping) -> Delivery:
        held = self.limits.held_back(OPEN_DM_ROUTE)
        if held is not None:
            return held
        try:
            with httpx.Client(
                base_url=self._api_base, headers=self._headers, timeout=self.timeout_s
            ) as client:
                opened = client.post(
                    "/users/@me/channels", json={"recipient_id": str(message["recipient_id"])}
                )
                self.limits.observe(OPEN_DM_ROUTE, opened)
                if opened.status_code != 200:
                    return _refusal(opened, "opening the DM")
                channel_id = str(opened.json().get("id", ""))
                if not channel_id.isdigit():
                    return Delivery(ok=False, error="Discord answered a DM channel without an id")
                held = self.limits.held_back(MESSAGE_ROUTE, channel_id)
                if held is not None:
                    return held
                posted = client.post(f"/channels/{channel_id}/messages", json=_message_body(message))
                self.limits.observe(MESSAGE_ROUTE, posted, channel_id)
        except httpx.TimeoutException as error:
            return Delivery(ok=False, error=f"Discord did not answer in time ({type(error).__name__})")
        except (httpx.HTTPError, ValueError) as error:
            return Delivery(ok=False, error=f"Discord could not be reached ({type(error).__name__})")
        if 200 <= posted.status_code < 300:
            return Delivery(ok=True)
        return _refusal(posted, "sending the DM")

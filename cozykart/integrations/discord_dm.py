"""Sending a racer a direct message through the bot (httpx, Discord's REST API).

Discord's documented two steps (developers docs, resources/user "Create DM" and
resources/message "Create Message"): `POST /users/@me/channels` with
`{"recipient_id": ...}` answers the DM channel (`{"id": ..., "type": 1}`), then
`POST /channels/{id}/messages` posts the message there. Both carry
`Authorization: Bot <token>`.

Like the webhook notifier, `send(message) -> Delivery` never raises for
Discord's sake: a 429 comes back rate limited with its wait, a 5xx or an outage
as an error worth a retry, and a 4xx that no retry can change (Discord's 403
"Cannot send messages to this user" when a racer closed their DMs, an unknown
user) as permanent, so the outbox parks it at once. The token is a secret: no
error text or repr here contains it.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from cozykart.integrations.discord_announce import (
    ERROR_LENGTH_MAX,
    REQUEST_TIMEOUT_S,
    Delivery,
    retry_after_s,
)


def _refusal(response: httpx.Response, step: str) -> Delivery:
    if response.status_code == 429:
        return Delivery(
            ok=False, retry_after_s=retry_after_s(response), error=f"Discord rate limit (429) on {step}"
        )
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("message"):
            detail = f": {body['message']}"
    except ValueError:
        pass
    error = f"Discord answered {response.status_code} on {step}{detail}"[:ERROR_LENGTH_MAX]
    return Delivery(ok=False, error=error, permanent=400 <= response.status_code < 500)


class BotMessenger:
    """Sends each message (`{"recipient_id": ..., "content": ..., "allowed_mentions": ...}`) as a DM."""

    def __init__(self, *, api_base: str, bot_token: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        assert bot_token, "a bot token is needed to send direct messages"
        self._api_base = api_base.rstrip("/")
        self._headers = {"Authorization": f"Bot {bot_token}"}
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never show the token
        return f"BotMessenger(timeout_s={self.timeout_s})"

    def send(self, message: Mapping) -> Delivery:
        body = {key: value for key, value in message.items() if key != "recipient_id"}
        try:
            with httpx.Client(
                base_url=self._api_base, headers=self._headers, timeout=self.timeout_s
            ) as client:
                opened = client.post(
                    "/users/@me/channels", json={"recipient_id": str(message["recipient_id"])}
                )
                if opened.status_code != 200:
                    return _refusal(opened, "opening the DM")
                channel_id = str(opened.json().get("id", ""))
                if not channel_id.isdigit():
                    return Delivery(ok=False, error="Discord answered a DM channel without an id")
                posted = client.post(f"/channels/{channel_id}/messages", json=body)
        except (httpx.HTTPError, ValueError) as error:
            return Delivery(ok=False, error=f"Discord could not be reached ({type(error).__name__})")
        if 200 <= posted.status_code < 300:
            return Delivery(ok=True)
        return _refusal(posted, "sending the DM")

"""Set-up for the Discord tests: a stand-in webhook server, a test clock, signed interactions."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from nacl.signing import SigningKey
from starlette.testclient import TestClient

from cozykart.integrations.discord_announce import WebhookNotifier
from cozykart.services import outbox
from tests.fake_discord_webhook import FakeDiscordWebhook

NOTIFIER_TIMEOUT_S = 2.0
DRAIN_ROUNDS_MAX = 50
FAST_RETRIES = outbox.RetryPolicy(attempts_max=3, backoff_base_s=1.0, backoff_max_s=4.0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextmanager
def stand_in_discord() -> Iterator[FakeDiscordWebhook]:
    """The stand-in webhook server, running for the block."""
    fake = FakeDiscordWebhook().start()
    try:
        yield fake
    finally:
        fake.stop()


def notifier_for(fake: FakeDiscordWebhook) -> WebhookNotifier:
    return WebhookNotifier(fake.url, timeout_s=NOTIFIER_TIMEOUT_S)


def drain(database, fake: FakeDiscordWebhook, *, sender_id: str = "test-sender", clock=None) -> int:
    """Run sender rounds until nothing due is left; returns how many were sent."""
    sent = 0
    for _ in range(DRAIN_ROUNDS_MAX):
        kwargs = {"clock": clock} if clock else {}
        report = outbox.deliver_due(notifier_for(fake), sender_id=sender_id, uow=database.uow(), **kwargs)
        sent += report.sent
        if report.sent == 0:
            return sent
    raise AssertionError(f"the outbox did not drain in {DRAIN_ROUNDS_MAX} rounds")


# --- signed interactions ---------------------------------------------------------------

_interaction_ids = itertools.count(1_000_000)


def discord_user(discord_id: str, name: str) -> dict:
    return {
        "id": discord_id,
        "username": name.lower(),
        "global_name": name,
        "avatar": None,
        "discriminator": "0",
    }


class Discord:
    """Sends slash commands to the app as Discord would: signed with the application's key."""

    def __init__(self, client: TestClient, signing_key: SigningKey) -> None:
        self.client = client
        self.signing_key = signing_key

    def post(
        self,
        payload: dict,
        *,
        signing_key: SigningKey | None = None,
        timestamp: str | None = None,
        headers: dict | None = None,
    ):
        """POST `payload` signed over `timestamp + body`; the timestamp is now (Unix seconds) unless given."""
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        body = json.dumps(payload).encode()
        key = signing_key or self.signing_key
        signature = key.sign(timestamp.encode() + body).signature.hex()
        sent_headers = {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": timestamp,
            "Content-Type": "application/json",
        }
        if headers is not None:
            sent_headers = headers
        return self.client.post("/api/discord/interactions", content=body, headers=sent_headers)

    def command(
        self,
        user: dict,
        name: str,
        options: dict | None = None,
        *,
        sub: str | None = None,
        resolved_users: dict | None = None,
    ) -> dict:
        """Run `/name` as `user`; returns the interaction response's JSON (asserting a 200)."""
        response = self.post(interaction(user, name, options, sub=sub, resolved_users=resolved_users))
        assert response.status_code == 200, response.text
        return response.json()


def interaction(
    user: dict,
    name: str,
    options: dict | None = None,
    *,
    sub: str | None = None,
    resolved_users: dict | None = None,
    in_guild: bool = True,
) -> dict:
    """An APPLICATION_COMMAND interaction for `/name` by `user`, with a new interaction id.

    In a guild Discord sends the invoker as `member.user`; in a DM as `user`.
    """
    option_list = [
        {"name": key, "type": _option_type(key, value), "value": value}
        for key, value in (options or {}).items()
    ]
    if sub is not None:
        option_list = [{"name": sub, "type": 1, "options": option_list}]
    data = {"id": "1", "name": name, "type": 1, "options": option_list}
    if resolved_users:
        data["resolved"] = {"users": resolved_users}
    payload = {
        "id": str(next(_interaction_ids)),
        "application_id": "111",
        "type": 2,
        "token": "tok",
        "version": 1,
        "data": data,
    }
    if in_guild:
        payload |= {"guild_id": "42", "member": {"user": user, "roles": []}}
    else:
        payload["user"] = user
    return payload


def _option_type(name: str, value: object) -> int:
    if name == "user":
        return 6
    return 4 if isinstance(value, int) else 3


def is_ephemeral(reply: dict) -> bool:
    return bool(reply["data"].get("flags", 0) & 64)


def text_of(reply: dict) -> str:
    data = reply["data"]
    parts = [data.get("content") or ""]
    for embed in data.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{field['name']}: {field['value']}" for field in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(part for part in parts if part)

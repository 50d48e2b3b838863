"""Discord slash commands: the request signature (Ed25519, PyNaCl), the command list, registration.

Discord signs each interaction with the application's Ed25519 key over
`timestamp + body`; `verify` checks it against `DISCORD_PUBLIC_KEY` (hex), and
`signed_instant` refuses a timestamp (Unix seconds) more than
`TIMESTAMP_AGE_MAX_S` old or more than `TIMESTAMP_FUTURE_TOLERANCE_S` ahead, so
a captured request cannot be replayed later.
`COMMANDS` is what `python -m cozykart discord register-commands` sends to
Discord (bulk overwrite, through httpx to `DISCORD_API_BASE`, so tests can
point it at a local server).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

SIGNATURE_HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
SIGNATURE_HEX_LENGTH = 128
TIMESTAMP_LENGTH_MAX = 32
REQUEST_TIMEOUT_S = 10.0
# A signed request is good for this long after Discord signed it (Stripe's default tolerance too)...
TIMESTAMP_AGE_MAX_S = 300
# ...and may be this far ahead of our clock (two NTP-synchronised clocks differ by far less).
TIMESTAMP_FUTURE_TOLERANCE_S = 30

# Interaction and response types, option types and flags (Discord API v10).
PING = 1
APPLICATION_COMMAND = 2
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
EPHEMERAL = 1 << 6
SUB_COMMAND = 1
STRING = 3
INTEGER = 4
USER = 6


class InvalidPublicKey(ValueError):
    """DISCORD_PUBLIC_KEY is not a 32-byte key in hex."""


class RegistrationFailed(Exception):
    """Discord refused the command list or could not be reached; the message is safe to print."""


class FollowUpFailed(Exception):
    """Discord did not take the late answer to a deferred interaction; the message is safe to log."""


class RefusedTimestamp(ValueError):
    """A signed request's timestamp is malformed, too old or ahead of us; the message is the 401's reason."""


def verify(public_key_hex: str, signature_hex: str | None, timestamp: str | None, body: bytes) -> bool:
    """True when `signature_hex` is the application's signature of `timestamp + body`."""
    try:
        key = VerifyKey(bytes.fromhex(public_key_hex))
    except ValueError as error:  # not hex, or not 32 bytes
        raise InvalidPublicKey("DISCORD_PUBLIC_KEY must be the application's public key in hex") from error
    if not signature_hex or not timestamp or len(timestamp) > TIMESTAMP_LENGTH_MAX:
        return False
    if len(signature_hex) != SIGNATURE_HEX_LENGTH:
        return False
    try:
        key.verify(timestamp.encode() + body, bytes.fromhex(signature_hex))
    except (BadSignatureError, ValueError):
        return False
    return True


def signed_instant(timestamp: str, *, now_s: float) -> datetime:
    """When Discord signed a verified request; RefusedTimestamp outside the accepted window."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise RefusedTimestamp("request timestamp is not Unix seconds")
    signed_s = int(timestamp)
    if now_s - signed_s > TIMESTAMP_AGE_MAX_S:
        raise RefusedTimestamp("request timestamp is too old")
    if signed_s - now_s > TIMESTAMP_FUTURE_TOLERANCE_S:
        raise RefusedTimestamp("request timestamp is in the future")
    return datetime.fromtimestamp(signed_s, UTC)


def _option(kind: int, name: str, description: str, *, required: bool = True, **extra) -> dict:
    return {"type": kind, "name": name, "description": description, "required": required, **extra}


_LOBBY = _option(
    INTEGER, "lobby", "The lobby number (needed when several are open)", required=False, min_value=1
)
_PAYOUT_METHOD_CHOICES = [
    {"name": "store credit", "value": "store_credit"},
    {"name": "gift card", "value": "gift_card"},
    {"name": "PayPal", "value": "paypal"},
    {"name": "bank transfer", "value": "bank"},
]

COMMANDS: list[dict] = [
    {
        "name": "lobby",
        "description": "Lobbies for the next race",
        "options": [
            {
                "type": SUB_COMMAND,
                "name": "create",
                "description": "Open a lobby (hosts and admins)",
                "options": [_option(STRING, "name", "The lobby's name", max_length=60)],
            }
        ],
    },
    {"name": "join", "description": "Join an open lobby", "options": [_LOBBY]},
    {"name": "leave", "description": "Leave the lobby you are in"},
    {
        "name": "start",
        "description": "Start your lobby's race: the Live Pot opens (host)",
        "options": [_LOBBY],
    },
    {"name": "end", "description": "End the live race (host)"},
    {
        "name": "result",
        "description": "Report where you finished",
        "options": [_option(STRING, "position", "1 to 8, or DNF", max_length=8)],
    },
    {"name": "wallet", "description": "Your earnings from merch sales and tips (only you see it)"},
    {
        "name": "cashout",
        "description": "Ask for a payout from your wallet",
        "options": [_option(STRING, "amount", "How much, like 20.00", max_length=32)],
    },
    {
        "name": "cashout-cancel",
        "description": "Withdraw your pending payout request: the money goes back to your wallet",
        "options": [
            _option(
                INTEGER,
                "payout",
                "The payout number (needed when several are pending)",
                required=False,
                min_value=1,
            )
        ],
    },
    {"name": "standings", "description": "The season standings"},
    {
        "name": "payout",
        "description": "Pay a racer directly from their wallet (admin)",
        "options": [
            _option(USER, "user", "The racer"),
            _option(STRING, "amount", "How much, like 50.00", max_length=32),
            _option(
                STRING,
                "method",
                "How it is paid (default store credit)",
                required=False,
                choices=_PAYOUT_METHOD_CHOICES,
            ),
            _option(
                STRING,
                "reference",
                "Gift card code, PayPal or bank reference",
                required=False,
                max_length=200,
            ),
        ],
    },
    {
        "name": "admin-fix",
        "description": "Fix a racer's result in a final race (admin)",
        "options": [
            _option(INTEGER, "race", "The race number", min_value=1),
            _option(USER, "user", "The racer"),
            _option(STRING, "position", "1 to 8, or DNF", max_length=8),
            _option(STRING, "reason", "Why the result changes", max_length=200),
        ],
    },
    {"name": "requests", "description": "The song requests waiting in your queue (the DJ; only you see it)"},
    {"name": "played", "description": "Mark the oldest waiting song request played (the DJ)"},
]


@dataclass(frozen=True)
class Registered:
    scope: str
    names: tuple[str, ...]


def register_commands(
    *,
    api_base: str,
    client_id: str,
    bot_token: str,
    guild_id: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Registered:
    """Replace the application's commands (globally, or in one guild: instant, for testing)."""
    path = (
        f"/applications/{client_id}/guilds/{guild_id}/commands"
        if guild_id
        else f"/applications/{client_id}/commands"
    )
    try:
        with httpx.Client(base_url=api_base, timeout=REQUEST_TIMEOUT_S, transport=transport) as client:
            response = client.put(path, json=COMMANDS, headers={"Authorization": f"Bot {bot_token}"})
    except httpx.HTTPError as error:
        raise RegistrationFailed(f"Discord could not be reached ({type(error).__name__})") from None
    if response.status_code >= 300:
        raise RegistrationFailed(f"Discord answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    names = tuple(command.get("name", "?") for command in body) if isinstance(body, list) else ()
    return Registered(scope=f"guild {guild_id}" if guild_id else "global", names=names)


def edit_original_response(
    *,
    api_base: str,
    application_id: str,
    token: str,
    message: dict,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Give a deferred interaction its answer (the interaction token is the credential)."""
    if not (application_id.isdigit() and token and "/" not in token):
        raise FollowUpFailed("the interaction has no usable application id or token")
    path = f"/webhooks/{application_id}/{token}/messages/@original"
    try:
        with httpx.Client(base_url=api_base, timeout=REQUEST_TIMEOUT_S, transport=transport) as client:
            response = client.patch(path, json=message)
    except httpx.HTTPError as error:
        raise FollowUpFailed(f"Discord could not be reached ({type(error).__name__})") from None
    if response.status_code >= 300:
        raise FollowUpFailed(f"Discord answered {response.status_code}")

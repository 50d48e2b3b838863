"""The provider corpus (tests/fixtures/providers/): documented example bodies, sent as each provider sends them.

`Corpus` posts a fixture to the app over HTTP (an httpx client: the served app's
port, or Starlette's TestClient on the in-process API) with the provider's own
framing:
- Stripe: the event pretty-printed (two-space indent), `Content-Type:
  application/json; charset=utf-8`, and `Stripe-Signature: t=...,v1=...,v0=...`
  (v1 the HMAC-SHA256 of `{t}.{body}` with the endpoint secret; v0 a legacy
  signature the SDK ignores);
- Ko-fi: `application/x-www-form-urlencoded`, the JSON in the form field `data`;
- Shopify: compact JSON with the documented header set (`X-Shopify-Topic`,
  `-Hmac-Sha256`, `-Shop-Domain`, `-API-Version`, `-Webhook-Id`,
  `-Triggered-At`, `-Event-Id`);
- Discord: compact JSON signed with Ed25519 over `timestamp + body`.

What a test sets at send time (times, fresh delivery ids, the app's secrets) is
listed in tests/fixtures/providers/README.md; every other byte is the file's.
The people are the documented Discord users: Mason (guild `member`, legacy
`#1337`, the admin who hosts), Ian (guild `member`, current shape, the DJ),
Nelly (a DM `user`, legacy shape) and Shy Guy (a DM `user`, current shape).
`Reads` is what a user can see: `GET /api/pot`, the wallet JSON and reconcile.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

import httpx
from nacl.signing import SigningKey

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
# The served app verifies interactions with this key's public half (DISCORD_PUBLIC_KEY).
DISCORD_SIGNING_KEY = SigningKey(hashlib.sha256(b"cozy-kart provider corpus").digest())
DISCORD_PUBLIC_KEY = DISCORD_SIGNING_KEY.verify_key.encode().hex()
DISCORD_EPOCH_MS = 1_420_070_400_000
STRIPE_LEGACY_V0_KEY = b"a test-mode v0 key the SDK never checks"

MASON = "53908232506183680"  # guild member, legacy user shape; the admin (COZYKART_ADMIN_DISCORD_IDS)
IAN = "167348773423415296"  # guild member, current user shape; the DJ
NELLY = "80351110224678912"  # DM user, legacy user shape
SHYGUY = "1186039294212374578"  # DM user, current user shape
RACERS = (IAN, NELLY, SHYGUY)
SHAPES = {
    MASON: "guild-command-legacy-user.json",
    IAN: "guild-command-current-user.json",
    NELLY: "dm-command-legacy-user.json",
    SHYGUY: "dm-command-current-user.json",
}
SHOPIFY_OFFSET = timezone(timedelta(hours=-5))  # the sample shop's time zone (its times end in -05:00)
SLASH_COMMAND_ANSWERED = 4
SLASH_COMMAND_DEFERRED = 5
SUB_COMMAND = 1
STRING, INTEGER, USER = 3, 4, 6


def fixture(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text())


def unix(at: datetime) -> int:
    return int(at.timestamp())


@dataclass(frozen=True)
class Secrets:
    stripe_webhook_secret: str
    kofi_verification_token: str
    shopify_webhook_secret: str


class Reads(Protocol):
    """What a user can see of the ledger, however the app is run."""

    def wallet(self, discord_id: str) -> dict: ...

    def reconcile(self) -> tuple[int, str]: ...

    def inbox(self) -> list: ...

    def grant_dj(self, admin_discord_id: str, discord_id: str) -> None: ...


_snowflake_sequence = itertools.count()


def _snowflake() -> str:
    """A fresh Discord id (the time in its top bits, like Discord's own)."""
    return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_snowflake_sequence) % (1 << 22)))


class Corpus:
    """Sends corpus bodies to the app as each provider does, and reads what users see."""

    def __init__(self, client: httpx.Client, reads: Reads, secrets: Secrets) -> None:
        self.client = client
        self.reads = reads
        self.secrets = secrets

    # --- Stripe ----------------------------------------------------------------------

    def stripe(
        self, name: str, *, created: datetime, object_created: datetime | None = None
    ) -> httpx.Response:
        """POST `stripe/<name>`; the event was created at `created`, its object at `object_created`."""
        event = fixture(f"stripe/{name}")
        event["created"] = unix(created)
        obj = event["data"]["object"]
        obj["created"] = unix(object_created or created)
        if obj.get("object") == "checkout.session":
            obj["expires_at"] = obj["created"] + 24 * 3600
        for refund in (obj.get("refunds") or {}).get("data", []):
            refund["created"] = unix(created)
        body = json.dumps(event, indent=2)
        timestamp = int(time.time())
        signed = f"{timestamp}.{body}".encode()
        v1 = hmac.new(self.secrets.stripe_webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
        v0 = hmac.new(STRIPE_LEGACY_V0_KEY, signed, hashlib.sha256).hexdigest()
        return self.client.post(
            "/api/webhooks/stripe",
            content=body.encode("utf-8"),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Accept": "*/*; q=0.5, application/xml",
                "Cache-Control": "no-cache",
                "Stripe-Signature": f"t={timestamp},v1={v1},v0={v0}",
            },
        )

    # --- Ko-fi -----------------------------------------------------------------------

    def kofi(self, name: str, *, at: datetime) -> httpx.Response:
        data = fixture(f"kofi/{name}")
        data["verification_token"] = self.secrets.kofi_verification_token
        data["timestamp"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = urlencode({"data": json.dumps(data)}).encode("ascii")
        return self.client.post(
            "/api/webhooks/kofi", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    # --- Shopify ---------------------------------------------------------------------

    def shopify(
        self, topic: str, payload: dict, *, at: datetime, webhook_id: str | None = None
    ) -> httpx.Response:
        """POST `payload` (a corpus body, see `shopify_body`) as Shopify delivers `topic`, paid or refunded at `at`."""
        payload = copy.deepcopy(payload)
        local = at.astimezone(SHOPIFY_OFFSET).isoformat(timespec="seconds")
        for field in ("created_at", "processed_at", "updated_at"):
            if field in payload:
                payload[field] = local
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = fixture("shopify/headers.json")
        headers.update(
            {
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": shopify_signature(body, self.secrets.shopify_webhook_secret),
                "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
                "X-Shopify-Triggered-At": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "X-Shopify-Event-Id": str(uuid.uuid4()),
            }
        )
        return self.client.post("/api/webhooks/shopify", content=body, headers=headers)

    # --- Discord ---------------------------------------------------------------------

    def slash(
        self,
        discord_id: str,
        command: str | None = None,
        options: dict | None = None,
        *,
        sub: str | None = None,
        resolved_users: dict | None = None,
    ) -> dict:
        """`/command` by the person `discord_id`, in the shape of their corpus file; the interaction response."""
        interaction = fixture(f"discord/{SHAPES[discord_id]}")
        interaction["id"] = _snowflake()
        if command is not None:
            interaction["data"] = _command_data(
                command, options or {}, sub=sub, resolved_users=resolved_users
            )
        body = json.dumps(interaction, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        signature = DISCORD_SIGNING_KEY.sign(timestamp.encode() + body).signature.hex()
        response = self.client.post(
            "/api/discord/interactions",
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)",
                "X-Signature-Ed25519": signature,
                "X-Signature-Timestamp": timestamp,
            },
        )
        assert response.status_code == 200, (command, response.status_code, response.text)
        reply = response.json()
        assert reply["type"] in (SLASH_COMMAND_ANSWERED, SLASH_COMMAND_DEFERRED), reply
        return reply

    # --- what users see --------------------------------------------------------------

    def pot(self) -> dict:
        response = self.client.get("/api/pot")
        assert response.status_code == 200, response.text
        return response.json()

    def pot_cents(self) -> int:
        return self.pot()["pot_cents"]

    def wallets(self) -> dict[str, dict]:
        return {discord_id: self.reads.wallet(discord_id) for discord_id in RACERS}

    def assert_reconciles(self) -> None:
        code, output = self.reads.reconcile()
        assert code == 0, output

    def inbox_row(self, event_id: str):
        rows = [row for row in self.reads.inbox() if row.event_id == event_id]
        assert len(rows) == 1, (event_id, rows)
        return rows[0]


def shopify_signature(body: bytes, secret: str) -> str:
    """Shopify's `X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_body(name: str) -> dict:
    return fixture(f"shopify/{name}")


def free_shopify_order() -> dict:
    """orders-paid.json with a 100% discount: nothing was paid (a new order id, every total "0.00")."""
    order = shopify_body("orders-paid.json")
    order["id"] = 820982911946154599
    order["admin_graphql_api_id"] = "gid://shopify/Order/820982911946154599"
    order["name"], order["order_number"] = "#9998", 1233
    for field in (
        "current_total_price",
        "total_price",
        "subtotal_price",
        "current_subtotal_price",
        "total_outstanding",
    ):
        order[field] = "0.00"
        order[f"{field}_set"] = {
            side: {"amount": "0.00", "currency_code": "USD"} for side in ("shop_money", "presentment_money")
        }
    order.pop("total_outstanding_set", None)
    order["total_discounts"] = order["current_total_discounts"] = "414.95"
    return order


def _option_type(value: object) -> int:
    return INTEGER if isinstance(value, int) else STRING


def _command_data(name: str, options: dict, *, sub: str | None, resolved_users: dict | None) -> dict:
    listed = [
        {"type": USER if key == "user" else _option_type(value), "name": key, "value": value}
        for key, value in options.items()
    ]
    if sub is not None:
        listed = [{"type": SUB_COMMAND, "name": sub, "options": listed}]
    data = {"id": "866818195033292851", "name": name, "type": 1}
    if listed:
        data["options"] = listed
    if resolved_users:
        data["resolved"] = {"users": resolved_users}
    return data


def reply_text(reply: dict) -> str:
    data = reply.get("data") or {}
    parts = [data.get("content") or ""]
    for embed in data.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{field['name']}: {field['value']}" for field in embed.get("fields", [])]
    return "\n".join(part for part in parts if part)


# --- a race run from Discord --------------------------------------------------------

RACE_CLOCK_STEP_S = (
    1.1  # so a sale stamped in whole seconds is after the race's start (which has microseconds)
)


@dataclass(frozen=True)
class Race:
    race_id: int
    started_at: datetime


def register_people(corpus: Corpus) -> None:
    """Each person's first slash command makes them a racer; the admin then makes Ian the DJ."""
    for discord_id in SHAPES:
        corpus.slash(discord_id, "wallet")
    corpus.reads.grant_dj(MASON, IAN)


def start_race(corpus: Corpus, name: str) -> Race:
    """Mason opens a lobby from the guild, the three racers join (guild and DMs), Mason starts it."""
    assert corpus.pot()["race"] is None, "a race is still live from another test"
    corpus.slash(MASON, "lobby", {"name": name}, sub="create")
    for discord_id in RACERS:
        corpus.slash(discord_id, "join")
    corpus.slash(MASON, "start")
    live = corpus.pot()["race"]
    assert live is not None and live["name"] == name, live
    assert {racer["name"] for racer in live["racers"]} == {"Ian", "Nelly", "Shy Guy"}, live
    time.sleep(RACE_CLOCK_STEP_S)
    return Race(race_id=live["id"], started_at=datetime.fromisoformat(live["started_at"]))


def finish_race(corpus: Corpus) -> None:
    """Mason ends the race; each racer reports their place (1, 2, 3): the results are final."""
    corpus.slash(MASON, "end")
    for position, discord_id in enumerate(RACERS, start=1):
        corpus.slash(discord_id, "result", {"position": str(position)})
    assert corpus.pot()["race"] is None, corpus.pot()


def earned_cents(wallet: dict) -> int:
    """What a wallet holds for its racer: available + held, less debt (in payout and paid out are gone)."""
    return wallet["available_cents"] + wallet["held_cents"] - wallet["debt_cents"]


def shares_delta(before: dict[str, dict], after: dict[str, dict]) -> dict[str, int]:
    return {
        discord_id: earned_cents(after[discord_id]) - earned_cents(before[discord_id])
        for discord_id in RACERS
    }


def assert_split_evenly(deltas: dict[str, int], pool_cents: int) -> None:
    """The pool went to the three racers: every cent, each share within one cent of a third."""
    assert sum(deltas.values()) == pool_cents, deltas
    share_cents, _leftover_cents = divmod(pool_cents, len(deltas))
    assert all(share_cents <= delta <= share_cents + 1 for delta in deltas.values()), deltas

"""A fake Discord OAuth server on 127.0.0.1, for integration and browser tests.

A real HTTP server in a thread (the standard library's, no framework), serving:

    GET  /oauth2/authorize  approves at once as `fake.user` and redirects to
                            redirect_uri?code=...&state=...
    POST /oauth2/token      HTTP Basic client auth; checks the code (once only),
                            the redirect_uri and the PKCE verifier (S256)
    GET  /users/@me         the user behind a bearer token
    POST /users/@me/channels            the bot opens a DM channel: `{"recipient_id"}` ->
                                        a DM channel object `{"id", "type": 1, "recipients"}`
    POST /channels/{id}/messages        the bot posts a message in a channel it opened

The bot's two endpoints are Discord's documented "Create DM" (developers docs,
resources/user#create-dm) and "Create Message" (resources/message#create-message),
both with `Authorization: Bot <token>`. `dm_failures` (message posts) and
`open_dm_failures` (opening the DM) make the next requests fail as Discord would:
a status code (429 with a JSON `retry_after`, 403 with code 50007 "Cannot send
messages to this user", or a 5xx), or a `BotAnswer` for a route or global 429
(`X-RateLimit-Global`), a spent bucket (`X-RateLimit-Remaining: 0`) or a stall
(held past the client's timeout, the message stored or not). Like Discord
(https://discord.com/developers/docs/resources/message#create-message) a post
with `nonce` and `enforce_nonce: true` that repeats one already created in that
channel answers the first message and creates none. Every bot request is logged
in `bot_log` (when, which route, what was answered); with `enforce_waits`, one that
comes before a wait the fake asked for is answered 429 and counted in `bot_early`.

It checks what real Discord checks, so the app's side of the flow is tested
for real: a reused code, a wrong verifier or a wrong secret is refused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "111122223333444455"
CLIENT_SECRET = "fake-discord-client-secret"
BOT_TOKEN = "fake-discord-bot-token"
DM_CANNOT_SEND_CODE = 50007  # Discord's JSON error code "Cannot send messages to this user"
REQUEST_BODY_BYTES_MAX = 8192
SERVER_STOP_TIMEOUT_S = 5
DELAY_HEADER = "X-Fake-Delay-S"  # never sent: the handler sleeps this long before answering


@dataclass(frozen=True)
class BotAnswer:
    """A scripted answer of the bot's routes."""

    status: int
    retry_after_s: float = 0.25
    global_: bool = False
    reset_after_s: float | None = None  # with a 200: the bucket is spent (Remaining 0) for this long
    delay_s: float = 0.0  # held this long first (a stall)
    stored: bool = False  # a stalled post: created anyway (the answer is lost to the client's timeout)


@dataclass
class FakeUser:
    id: str = "80351110224678912"
    username: str = "nelly_nitro"
    global_name: str | None = "Nelly"
    avatar: str | None = "8342729096ea3675442027381ff50dfe"


@dataclass
class _Grant:
    user: FakeUser
    redirect_uri: str
    code_challenge: str
    used: bool = False


@dataclass
class FakeDiscord:
    base_url: str = ""
    user: FakeUser = field(default_factory=FakeUser)
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    grants: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, FakeUser] = field(default_factory=dict)
    token_requests: int = 0
    refusals: list[str] = field(default_factory=list)
    bot_token: str = BOT_TOKEN
    dm_channels: dict[str, str] = field(default_factory=dict)  # channel id -> recipient id
    direct_messages: list[tuple[str, dict]] = field(default_factory=list)  # (recipient id, message body)
    dm_failures: list[int | BotAnswer] = field(default_factory=list)  # what the next message posts answer
    open_dm_failures: list[int | BotAnswer] = field(default_factory=list)  # ... the next DM openings
    bot_requests: int = 0
    bot_log: list[tuple[float, str, int]] = field(default_factory=list)  # (monotonic s, route, status)
    bot_early: int = 0
    enforce_waits: bool = False  # True: refuse (429) a bot request that comes before a wait it asked for
    nonces: dict[tuple[str, str], dict] = field(default_factory=dict)  # (channel, nonce) -> message
    _blocked_until_s: dict[str, float] = field(default_factory=dict)  # route or "global" -> monotonic s
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the endpoints -------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if (
            query.get("client_id") != self.client_id
            or query.get("response_type") != "code"
            or query.get("scope") != "identify"
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
            or not query.get("redirect_uri")
        ):
            return 400, {}, b'{"error": "invalid_request"}'
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.grants[code] = _Grant(
                user=self.user, redirect_uri=query["redirect_uri"], code_challenge=query["code_challenge"]
            )
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(params)}"}, b""

    def token(self, headers, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.token_requests += 1
            if (
                headers.get("Authorization")
                != "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            ):
                return self._refuse("invalid_client", 401)
            grant = self.grants.get(form.get("code", ""))
            if grant is None or grant.used or form.get("grant_type") != "authorization_code":
                return self._refuse("invalid_grant")
            grant.used = True  # a code is spent by its first use, right or wrong
            if form.get("redirect_uri") != grant.redirect_uri:
                return self._refuse("invalid_grant")
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if challenge != grant.code_challenge:
                return self._refuse("invalid_grant")
            access_token = secrets.token_urlsafe(24)
            self.tokens[access_token] = grant.user
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 604800,
            "refresh_token": secrets.token_urlsafe(24),
            "scope": "identify",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def me(self, headers) -> tuple[int, dict[str, str], bytes]:
        auth = headers.get("Authorization", "")
        user = self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if user is None:
            return 401, {"Content-Type": "application/json"}, b'{"message": "401: Unauthorized", "code": 0}'
        body = {
            "id": user.id,
            "username": user.username,
            "global_name": user.global_name,
            "avatar": user.avatar,
            "discriminator": "0",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _scripted(self, route: str, failures: list[int | BotAnswer]) -> BotAnswer | None:
        """Under the lock: an early request's 429, else the next scripted answer (or None: all is well)."""
        now = time.monotonic()
        until = max(self._blocked_until_s.get("global", 0.0), self._blocked_until_s.get(route, 0.0))
        if self.enforce_waits and now + 0.005 < until:
            self.bot_early += 1
            return BotAnswer(429, retry_after_s=round(until - now, 3))
        if not failures:
            return None
        answer = failures.pop(0)
        answer = answer if isinstance(answer, BotAnswer) else BotAnswer(answer)
        wait_s = answer.retry_after_s if answer.status == 429 else answer.reset_after_s
        if wait_s is not None and (answer.status == 429 or answer.status == 200):
            scope = "global" if answer.global_ else route
            self._blocked_until_s[scope] = max(self._blocked_until_s.get(scope, 0.0), now + wait_s)
        return answer

    def _log(self, route: str, status: int) -> None:
        self.bot_log.append((time.monotonic(), route, status))

    def open_dm(self, headers, body: dict) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.bot_requests += 1
            if headers.get("Authorization") != f"Bot {self.bot_token}":
                return 401, _JSON, b'{"message": "401: Unauthorized", "code": 0}'
            scripted = self._scripted("open_dm", self.open_dm_failures)
            if scripted is not None and scripted.status != 200:
                self._log("open_dm", scripted.status)
                return _dm_failure(scripted)
            recipient = str(body.get("recipient_id", ""))
            if not recipient.isdigit():
                return 400, _JSON, b'{"message": "Invalid Form Body", "code": 50035}'
            channel_id = str(900000000000000000 + int(recipient) % 10**17)
            self.dm_channels[channel_id] = recipient
            self._log("open_dm", 200)
        answer = {"id": channel_id, "type": 1, "recipients": [{"id": recipient}]}
        return 200, _JSON | _spent_headers(scripted), json.dumps(answer).encode()

    def post_message(self, headers, channel_id: str, body: dict) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.bot_requests += 1
            if headers.get("Authorization") != f"Bot {self.bot_token}":
                return 401, _JSON, b'{"message": "401: Unauthorized", "code": 0}'
            recipient = self.dm_channels.get(channel_id)
            if recipient is None:
                return 404, _JSON, b'{"message": "Unknown Channel", "code": 10003}'
            route = f"messages:{channel_id}"
            scripted = self._scripted(route, self.dm_failures)
            self._log(route, scripted.status if scripted else 200)
            if scripted is not None and scripted.status != 200:
                if scripted.stored:
                    self._create(recipient, channel_id, body)
                return _dm_failure(scripted)
            created = self._create(recipient, channel_id, body)
        return 200, _JSON | _spent_headers(scripted), json.dumps(created).encode()

    def _create(self, recipient: str, channel_id: str, body: dict) -> dict:
        """Under the lock: the message, created once per enforced nonce (a repeat answers the first)."""
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce") and (channel_id, str(nonce)) in self.nonces:
            return self.nonces[(channel_id, str(nonce))]
        self.direct_messages.append((recipient, body))
        created = {"id": str(1000 + len(self.direct_messages)), "channel_id": channel_id, **body}
        if nonce is not None:
            self.nonces[(channel_id, str(nonce))] = created
        return created

    def _refuse(self, error: str, status: int = 400) -> tuple[int, dict[str, str], bytes]:
        self.refusals.append(error)
        return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


_JSON = {"Content-Type": "application/json"}


def _spent_headers(answer: BotAnswer | None) -> dict[str, str]:
    if answer is None or answer.reset_after_s is None:
        return {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "1.000"}
    return {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": str(answer.reset_after_s),
    }


def _dm_failure(answer: BotAnswer) -> tuple[int, dict[str, str], bytes]:
    status, held, answered = answer.status, _held(answer), _answered_failure(answer)
    return status, answered[1] | held, answered[2]


def _held(answer: BotAnswer) -> dict[str, str]:
    """A stall travels to the handler as a private header: it sleeps there, outside the fake's lock."""
    return {DELAY_HEADER: str(answer.delay_s)} if answer.delay_s else {}


def _answered_failure(answer: BotAnswer) -> tuple[int, dict[str, str], bytes]:
    status = answer.status
    if status == 429:
        body = {
            "message": "You are being rate limited.",
            "retry_after": answer.retry_after_s,
            "global": answer.global_,
        }
        headers = _JSON | {
            "Retry-After": str(answer.retry_after_s),
            "X-RateLimit-Scope": "global" if answer.global_ else "user",
        }
        if answer.global_:
            headers["X-RateLimit-Global"] = "true"
        return 429, headers, json.dumps(body).encode()
    if status == 403:
        body = {"message": "Cannot send messages to this user", "code": DM_CANNOT_SEND_CODE}
        return 403, _JSON, json.dumps(body).encode()
    return status, {"Content-Type": "text/html"}, b"<html>upstream error</html>"


def _handler_for(fake: FakeDiscord) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, answer: tuple[int, dict[str, str], bytes]) -> None:
            status, headers, body = answer
            headers = dict(headers)
            delay_s = float(headers.pop(DELAY_HEADER, 0))
            if delay_s:
                time.sleep(delay_s)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(
                BrokenPipeError, ConnectionResetError
            ):  # the client gave up (its timeout)
                self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path == "/oauth2/authorize":
                self._answer(fake.authorize(query))
            elif url.path == "/users/@me":
                self._answer(fake.me(self.headers))
            else:
                self._answer((404, {}, b""))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            path = urlsplit(self.path).path
            if length > REQUEST_BODY_BYTES_MAX:
                self._answer((413, {}, b""))
                return
            raw = self.rfile.read(length).decode()
            if path == "/users/@me/channels":
                self._answer(fake.open_dm(self.headers, json.loads(raw or "{}")))
                return
            parts = path.split("/")
            if len(parts) == 4 and parts[1] == "channels" and parts[3] == "messages":
                self._answer(fake.post_message(self.headers, parts[2], json.loads(raw or "{}")))
                return
            if path != "/oauth2/token":
                self._answer((404, {}, b""))
                return
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            self._answer(fake.token(self.headers, form))

    return Handler


@contextmanager
def running_fake_discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-discord", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=SERVER_STOP_TIMEOUT_S)

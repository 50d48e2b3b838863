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
both with `Authorization: Bot <token>`. `dm_failures` makes the next sends fail as
Discord would: 429 with a JSON `retry_after` (and `global`), 403 with code 50007
"Cannot send messages to this user", or a 5xx.

It checks what real Discord checks, so the app's side of the flow is tested
for real: a reused code, a wrong verifier or a wrong secret is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
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
    dm_failures: list[int] = field(default_factory=list)  # status codes the next message posts answer
    bot_requests: int = 0
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

    def open_dm(self, headers, body: dict) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.bot_requests += 1
            if headers.get("Authorization") != f"Bot {self.bot_token}":
                return 401, _JSON, b'{"message": "401: Unauthorized", "code": 0}'
            recipient = str(body.get("recipient_id", ""))
            if not recipient.isdigit():
                return 400, _JSON, b'{"message": "Invalid Form Body", "code": 50035}'
            channel_id = str(900000000000000000 + int(recipient) % 10**17)
            self.dm_channels[channel_id] = recipient
        answer = {"id": channel_id, "type": 1, "recipients": [{"id": recipient}]}
        return 200, _JSON, json.dumps(answer).encode()

    def post_message(self, headers, channel_id: str, body: dict) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.bot_requests += 1
            if headers.get("Authorization") != f"Bot {self.bot_token}":
                return 401, _JSON, b'{"message": "401: Unauthorized", "code": 0}'
            recipient = self.dm_channels.get(channel_id)
            if recipient is None:
                return 404, _JSON, b'{"message": "Unknown Channel", "code": 10003}'
            if self.dm_failures:
                return _dm_failure(self.dm_failures.pop(0))
            self.direct_messages.append((recipient, body))
        answer = {"id": str(1000 + len(self.direct_messages)), "channel_id": channel_id, **body}
        return 200, _JSON, json.dumps(answer).encode()

    def _refuse(self, error: str, status: int = 400) -> tuple[int, dict[str, str], bytes]:
        self.refusals.append(error)
        return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


_JSON = {"Content-Type": "application/json"}


def _dm_failure(status: int) -> tuple[int, dict[str, str], bytes]:
    if status == 429:
        body = {"message": "You are being rate limited.", "retry_after": 0.25, "global": False}
        return 429, _JSON | {"Retry-After": "1", "X-RateLimit-Scope": "user"}, json.dumps(body).encode()
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
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
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

"""A fake Discord OAuth server on 127.0.0.1, for integration and browser tests.

A real HTTP server in a thread (the standard library's, no framework), serving:

    GET  /oauth2/authorize  approves at once as `fake.user` and redirects to
                            redirect_uri?code=...&state=...
    POST /oauth2/token      HTTP Basic client auth; checks the code (once only),
                            the redirect_uri and the PKCE verifier (S256)
    GET  /users/@me         the user behind a bearer token

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

    def _refuse(self, error: str, status: int = 400) -> tuple[int, dict[str, str], bytes]:
        self.refusals.append(error)
        return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


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
            if urlsplit(self.path).path != "/oauth2/token" or length > REQUEST_BODY_BYTES_MAX:
                self._answer((404, {}, b""))
                return
            raw = self.rfile.read(length).decode()
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

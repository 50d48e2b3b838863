"""A stand-in for Discord's webhook endpoint (and command registration) on 127.0.0.1.

A real HTTP server in a thread. Tests script what it answers and can take it
down (connections refused) and bring it back on the same port:

    POST /api/webhooks/<id>/<token>   announcements: the next scripted answer
                                      (`answer_next(...)`), else 200 with a message;
                                      every stored body is kept in `received`
    PUT  /applications/<app>/commands, /applications/<app>/guilds/<g>/commands
                                      command registration (needs `Bot <token>`)
    PATCH /webhooks/<app>/<token>/messages/@original
                                      the late answer to a deferred interaction

It answers as Discord documents (https://docs.discord.com/developers/topics/rate-limits):
every answer carries `X-RateLimit-Limit`, `-Remaining`, `-Reset`, `-Reset-After`
and `-Bucket`; a 429 carries `Retry-After` (seconds), `X-RateLimit-Scope`, on the
global limit `X-RateLimit-Global: true`, and the JSON body `{"message",
"retry_after", "global"}` (or, Cloudflare-style, the header and an HTML page).
With `enforce_waits`, like Discord, it holds a sender to the waits it asked for: a request that comes
before a 429's `retry_after` (or a `Remaining: 0` bucket's reset) is over is
counted in `early` and answered 429 again. Every request is logged in `seen`
(when it arrived, what was answered) and every stall in `stalls`, so a drill can
measure the waits, the retries and the duplicates. Scripted answers:

    rate_limited(s), rate_limited(s, global_=True), cloudflare_429(s)
    server_error(500 | 502 | 503), spent(reset_after_s)   (a 200 with Remaining 0)
    stall(s, stored=False)   holds the request s seconds, then drops the connection
    stall(s, stored=True)    stores the message, answers 200 after s seconds
                             (past the client's timeout: Discord saved it, the answer was lost)
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUEST_BODY_BYTES_MAX = 256 * 1024
SERVER_STOP_TIMEOUT_S = 5
WEBHOOK_PATH = "/api/webhooks/1234567890/fake-token"
BOT_TOKEN = "fake-bot-token"
BUCKET = "f4ke0b0cket0webhook"
BUCKET_LIMIT = 5
EARLY_SLACK_S = 0.005  # clock granularity between the fake and the sender


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # held this long before the answer (a stall)
    stored: bool | None = None  # None: stored when 2xx; True: stored even if the answer never arrives
    dropped: bool = False  # after the delay, close the connection without answering


@dataclass(frozen=True)
class Seen:
    """One request as the fake saw it: when (monotonic seconds), the query, what it answered."""

    at_s: float
    query: str
    status: int
    asked_wait_s: float | None  # a 429's retry_after, or a spent bucket's reset_after
    content: str | None
    early: bool = False
    stalled_s: float = 0.0  # held this long before answering (or dropping)
    stored: bool = False  # the message was kept, whatever the sender heard


def rate_limited(retry_after_s: float, *, global_: bool = False) -> Answer:
    headers = {"Retry-After": str(retry_after_s), "X-RateLimit-Scope": "global" if global_ else "user"}
    if global_:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after_s, "global": global_}
    return Answer(429, body, headers)


def cloudflare_429(retry_after_s: int) -> Answer:
    """A 429 from the edge: the Retry-After header and an HTML page, no JSON."""
    return Answer(429, None, {"Retry-After": str(retry_after_s)})


def server_error(status: int = 500) -> Answer:
    return Answer(status, None)


def spent(reset_after_s: float) -> Answer:
    """A success that spends the bucket: `X-RateLimit-Remaining: 0` until `reset_after_s`."""
    return Answer(200, None, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(reset_after_s)})


def stall(seconds: float, *, stored: bool) -> Answer:
    if stored:
        return Answer(200, None, delay_s=seconds, stored=True)
    return Answer(503, None, delay_s=seconds, stored=False, dropped=True)


def _asked_wait_s(answer: Answer) -> float | None:
    if answer.status == 429:
        if answer.body and "retry_after" in answer.body:
            return max(float(answer.body["retry_after"]), float(answer.headers.get("Retry-After", 0)))
        return float(answer.headers.get("Retry-After", 1))
    if answer.headers.get("X-RateLimit-Remaining") == "0":
        return float(answer.headers["X-RateLimit-Reset-After"])
    return None


@dataclass
class FakeDiscordWebhook:
    port: int = 0
    received: list[dict] = field(default_factory=list)
    attempts: int = 0
    registrations: list[tuple[str, list]] = field(default_factory=list)
    follow_ups: list[tuple[str, dict]] = field(default_factory=list)
    delay_s: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (start, end), monotonic seconds
    early: int = 0
    enforce_waits: bool = False  # True: refuse (429) a request that comes before a wait it asked for
    _blocked_until_s: float = 0.0
    _script: deque = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer_next(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def contents(self) -> list[str | None]:
        with self._lock:
            return [message.get("content") for message in self.received]

    def titles(self) -> list[str]:
        with self._lock:
            return [embed.get("title") for message in self.received for embed in message.get("embeds", [])]

    def pending_answers(self) -> int:
        """Scripted answers not given yet."""
        with self._lock:
            return len(self._script)

    def duplicates(self) -> int:
        """How many stored messages repeat one stored before (the same content and embeds)."""
        with self._lock:
            counts = Counter(
                json.dumps([m.get("content"), m.get("embeds")], sort_keys=True) for m in self.received
            )
        return sum(count - 1 for count in counts.values())

    def _take(self, body: bytes, query: str) -> tuple[Answer, int]:
        """The answer to one webhook execution, decided and logged under the lock."""
        now = time.monotonic()
        message = json.loads(body)
        with self._lock:
            self.attempts += 1
            if (
                self.enforce_waits and now + EARLY_SLACK_S < self._blocked_until_s
            ):  # Discord would refuse it too
                self.early += 1
                answer = rate_limited(round(self._blocked_until_s - now, 3))
                early = True
            else:
                answer = self._script.popleft() if self._script else Answer(200, None)
                early = False
            stored = answer.stored if answer.stored is not None else 200 <= answer.status < 300
            if stored:
                self.received.append(message)
            asked = _asked_wait_s(answer)
            if asked is not None and not early:
                self._blocked_until_s = max(self._blocked_until_s, now + asked)
            seen = Seen(
                now, query, answer.status, asked, message.get("content"), early, answer.delay_s, stored
            )
            self.seen.append(seen)
            if answer.delay_s:
                self.stalls.append((now, now + answer.delay_s))
            return answer, self.attempts

    def start(self) -> FakeDiscordWebhook:
        assert self._server is None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                assert length <= REQUEST_BODY_BYTES_MAX
                return self.rfile.read(length)

            def _send(
                self, status: int, body: dict | list | None, headers: dict[str, str] | None = None
            ) -> None:
                raw = json.dumps(body).encode() if body is not None else b"<html>oops</html>"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body is not None else "text/html")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(
                    BrokenPipeError, ConnectionResetError
                ):  # the client gave up (its timeout)
                    self.wfile.write(raw)

            def do_POST(self) -> None:
                body = self._body()
                path, _, query = self.path.partition("?")
                if path != WEBHOOK_PATH:
                    self._send(404, {"message": "Unknown Webhook", "code": 10015})
                    return
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                answer, number = fake._take(body, query)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                if answer.dropped:
                    self.close_connection = True
                    return
                headers = _rate_limit_headers(answer)
                if 200 <= answer.status < 300:
                    self._send(answer.status, {"id": str(number), "type": 0}, headers)
                else:
                    self._send(answer.status, answer.body, headers)

            def do_PATCH(self) -> None:
                body = self._body()
                parts = self.path.split("/")
                if len(parts) != 6 or parts[1] != "webhooks" or parts[4:] != ["messages", "@original"]:
                    self._send(404, {"message": "Unknown Webhook", "code": 10015})
                    return
                with fake._lock:
                    fake.follow_ups.append((parts[3], json.loads(body)))
                self._send(200, {"id": "1", "type": 0})

            def do_PUT(self) -> None:
                body = self._body()
                if self.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
                    self._send(401, {"message": "401: Unauthorized", "code": 0})
                    return
                commands = json.loads(body)
                with fake._lock:
                    fake.registrations.append((self.path, commands))
                self._send(200, [{**command, "id": str(n)} for n, command in enumerate(commands, start=1)])

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take the server down: connections to its port are refused until `start()`."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(SERVER_STOP_TIMEOUT_S)
        self._server = self._thread = None


def _rate_limit_headers(answer: Answer) -> dict[str, str]:
    """Discord's rate limit headers on every answer, with the answer's own on top (a Cloudflare 429: its own only)."""
    if answer.status == 429 and answer.body is None:
        return dict(answer.headers)
    reset_after_s = float(answer.headers.get("X-RateLimit-Reset-After", 1.0))
    headers = {
        "X-RateLimit-Limit": str(BUCKET_LIMIT),
        "X-RateLimit-Remaining": str(BUCKET_LIMIT - 1),
        "X-RateLimit-Reset": f"{time.time() + reset_after_s:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after_s:.3f}",
        "X-RateLimit-Bucket": BUCKET,
    }
    if answer.status == 429:
        headers["X-RateLimit-Remaining"] = "0"
        headers["X-RateLimit-Reset-After"] = f"{math.ceil(_asked_wait_s(answer) or 1):.3f}"
    return headers | answer.headers

"""A stand-in for Discord's webhook endpoint (and command registration) on 127.0.0.1.

A real HTTP server in a thread. Tests script what it answers and can take it
down (connections refused) and bring it back on the same port:

    POST /api/webhooks/<id>/<token>   announcements: the next scripted answer
                                      (`answer_next(...)`), else 200 with a message;
                                      every 2xx body is kept in `received`
    PUT  /applications/<app>/commands, /applications/<app>/guilds/<g>/commands
                                      command registration (needs `Bot <token>`)
    PATCH /webhooks/<app>/<token>/messages/@original
                                      the late answer to a deferred interaction
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUEST_BODY_BYTES_MAX = 256 * 1024
SERVER_STOP_TIMEOUT_S = 5
WEBHOOK_PATH = "/api/webhooks/1234567890/fake-token"
BOT_TOKEN = "fake-bot-token"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict | None = None


def rate_limited(retry_after_s: float) -> Answer:
    return Answer(
        429, {"message": "You are being rate limited.", "retry_after": retry_after_s, "global": False}
    )


def server_error() -> Answer:
    return Answer(500, None)


@dataclass
class FakeDiscordWebhook:
    port: int = 0
    received: list[dict] = field(default_factory=list)
    attempts: int = 0
    registrations: list[tuple[str, list]] = field(default_factory=list)
    follow_ups: list[tuple[str, dict]] = field(default_factory=list)
    delay_s: float = 0.0
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

            def _send(self, status: int, body: dict | list | None) -> None:
                raw = json.dumps(body).encode() if body is not None else b"<html>oops</html>"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body is not None else "text/html")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429 and isinstance(body, dict):
                    self.send_header("Retry-After", str(body.get("retry_after", 1)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                body = self._body()
                if self.path.split("?")[0] != WEBHOOK_PATH:
                    self._send(404, {"message": "Unknown Webhook", "code": 10015})
                    return
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                with fake._lock:
                    fake.attempts += 1
                    answer = fake._script.popleft() if fake._script else Answer(200, None)
                    if 200 <= answer.status < 300:
                        fake.received.append(json.loads(body))
                if 200 <= answer.status < 300:
                    self._send(answer.status, {"id": str(fake.attempts), "type": 0})
                else:
                    self._send(answer.status, answer.body)

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

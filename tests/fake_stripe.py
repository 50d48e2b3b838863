"""A fake Stripe API on 127.0.0.1 for tests: `POST /v1/checkout/sessions` only.

A real HTTP server in a thread (the standard library's). It checks what Stripe
checks for this call (a bearer secret key, a form body with the fields a
payment-mode session needs) and answers with a session whose `url` is a
checkout page; the same Idempotency-Key gets the same session back.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

API_KEY = "sk_test_fake_cozykart"
REQUEST_BODY_BYTES_MAX = 64 * 1024
SERVER_STOP_TIMEOUT_S = 5
REQUIRED_FIELDS = (
    "mode",
    "success_url",
    "cancel_url",
    "line_items[0][quantity]",
    "line_items[0][price_data][currency]",
    "line_items[0][price_data][unit_amount]",
    "line_items[0][price_data][product_data][name]",
)


@dataclass
class FakeStripe:
    base_url: str = ""
    api_key: str = API_KEY
    sessions: list[dict[str, str]] = field(default_factory=list)  # the form of each created session
    by_idempotency_key: dict[str, dict] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    fail_next: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _refuse(self, status: int, message: str) -> None:
            with fake.lock:
                fake.refusals.append(message)
            self._answer(status, {"error": {"type": "invalid_request_error", "message": message}})

        def do_POST(self) -> None:
            if self.path != "/v1/checkout/sessions":
                return self._refuse(404, f"Unrecognized request URL (POST: {self.path})")
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                return self._refuse(401, "Invalid API Key provided")
            length = int(self.headers.get("Content-Length") or 0)
            if length > REQUEST_BODY_BYTES_MAX:
                return self._refuse(413, "body too large")
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            missing = [name for name in REQUIRED_FIELDS if name not in form]
            if missing:
                return self._refuse(400, f"Missing required param: {missing[0]}")
            with fake.lock:
                if fake.fail_next:
                    fake.fail_next = False
                    return self._answer(500, {"error": {"type": "api_error", "message": "boom"}})
                key = self.headers.get("Idempotency-Key") or ""
                if key and key in fake.by_idempotency_key:
                    return self._answer(200, fake.by_idempotency_key[key])
                session_id = f"cs_test_{secrets.token_hex(12)}"
                session = {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": form["mode"],
                    "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                    "currency": form["line_items[0][price_data][currency]"],
                    "metadata": {
                        name[len("metadata[") : -1]: value
                        for name, value in form.items()
                        if name.startswith("metadata[")
                    },
                    "success_url": form["success_url"],
                    "cancel_url": form["cancel_url"],
                    "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                }
                fake.sessions.append(form)
                if key:
                    fake.by_idempotency_key[key] = session
            return self._answer(200, session)

    return Handler


@contextmanager
def running_fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(SERVER_STOP_TIMEOUT_S)

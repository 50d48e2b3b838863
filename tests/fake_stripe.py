"""A fake Stripe API on 127.0.0.1 for tests: Checkout Sessions and the Connect calls payouts make.

A real HTTP server in a thread (the standard library's). It checks what Stripe
checks for each call (a bearer secret key, a form body with the required
fields) and answers with the object Stripe's API reference shows
(docs.stripe.com/api: checkout/sessions/create, accounts/create,
account_links/create, accounts/retrieve, transfers/create). As Stripe does, a
POST with an Idempotency-Key it has seen gets the first answer back and does
nothing again. Every call is recorded (`calls`: method, path, idempotency key,
form) so a test can count what reached Stripe.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

API_KEY = "sk_test_fake_cozykart"
REQUEST_BODY_BYTES_MAX = 64 * 1024
ONBOARDING_PATH = "/setup/e/"  # where an account link's url leads (Stripe's connect.stripe.com/setup/e/...)
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
    fail_next: int = 0  # answer this many POSTs with a 500 (True: one)
    calls: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)
    accounts: dict[str, dict] = field(default_factory=dict)  # id -> the account object
    transfers: list[dict] = field(default_factory=list)  # each transfer made (not the repeats)
    links: dict[str, dict] = field(default_factory=dict)  # onboarding token -> its account link's form
    onboarding_completes: bool = True  # opening a link finishes onboarding (else the racer gave up)
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

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                self._refuse(401, "Invalid API Key provided")
                return False
            return True

        def do_GET(self) -> None:
            if self.path.startswith(ONBOARDING_PATH):
                return self._onboarding()
            if not self._authorized():
                return None
            with fake.lock:
                fake.calls.append(("GET", self.path, "", {}))
                account = fake.accounts.get(self.path.removeprefix("/v1/accounts/"))
            if not self.path.startswith("/v1/accounts/") or account is None:
                return self._refuse(404, f"No such account: {self.path}")
            return self._answer(200, account)

        def do_POST(self) -> None:
            if not self._authorized():
                return None
            length = int(self.headers.get("Content-Length") or 0)
            if length > REQUEST_BODY_BYTES_MAX:
                return self._refuse(413, "body too large")
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            key = self.headers.get("Idempotency-Key") or ""
            with fake.lock:
                fake.calls.append(("POST", self.path, key, form))
                if fake.fail_next:
                    fake.fail_next -= 1  # True: the next call; a number: that many calls
                    return self._answer(500, {"error": {"type": "api_error", "message": "boom"}})
                if key and key in fake.by_idempotency_key:
                    return self._answer(200, fake.by_idempotency_key[key])
            connect = {
                "/v1/accounts": _new_account,
                "/v1/account_links": _new_account_link,
                "/v1/transfers": _new_transfer,
            }.get(self.path)
            if connect is not None:
                return self._connect(connect, form, key)
            if self.path != "/v1/checkout/sessions":
                return self._refuse(404, f"Unrecognized request URL (POST: {self.path})")
            return self._checkout(form, key)

        def _onboarding(self) -> None:
            """The racer on Stripe's onboarding page: done at once, and sent back to the site's return_url."""
            token = self.path.rsplit("/", 1)[-1]
            with fake.lock:
                fake.calls.append(("GET", ONBOARDING_PATH, "", {}))
                link = fake.links.pop(token, None)  # single use, as Stripe's
            if link is None:
                return self._refuse(404, "This onboarding link was used or has expired")
            if fake.onboarding_completes:
                finish_onboarding(fake, link["account"])
            self.send_response(302)
            self.send_header("Location", link["return_url"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        def _connect(self, make, form: dict[str, str], key: str) -> None:
            with fake.lock:
                made = make(fake, form)
                if key and not isinstance(made, str):
                    fake.by_idempotency_key[key] = made
            if isinstance(made, str):
                return self._refuse(400, made)
            return self._answer(200, made)

        def _checkout(self, form: dict[str, str], key: str) -> None:
            missing = [name for name in REQUIRED_FIELDS if name not in form]
            if missing:
                return self._refuse(400, f"Missing required param: {missing[0]}")
            with fake.lock:
                session_id = f"cs_test_{secrets.token_hex(12)}"
                session = {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": form["mode"],
                    "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                    "currency": form["line_items[0][price_data][currency]"],
                    "metadata": _metadata(form),
                    "success_url": form["success_url"],
                    "cancel_url": form["cancel_url"],
                    "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                }
                fake.sessions.append(form)
                if key:
                    fake.by_idempotency_key[key] = session
            return self._answer(200, session)

    return Handler


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {
        name[len("metadata[") : -1]: value for name, value in form.items() if name.startswith("metadata[")
    }


def _new_account(fake: FakeStripe, form: dict[str, str]) -> dict | str:
    """POST /v1/accounts: an Express account, its transfers capability pending until onboarding."""
    if form.get("type") != "express":
        return "This fake makes Express accounts only: type=express"
    account_id = f"acct_{secrets.token_hex(8)}"
    account = {
        "id": account_id,
        "object": "account",
        "type": "express",
        "capabilities": {"transfers": "inactive"},
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "metadata": _metadata(form),
    }
    fake.accounts[account_id] = account
    return account


def finish_onboarding(fake: FakeStripe, account_id: str) -> dict:
    """What Stripe does when the racer completes onboarding: the account can receive transfers."""
    with fake.lock:
        account = fake.accounts[account_id]
        account.update(capabilities={"transfers": "active"}, payouts_enabled=True, details_submitted=True)
        return dict(account)


def _new_account_link(fake: FakeStripe, form: dict[str, str]) -> dict | str:
    """POST /v1/account_links: a single-use onboarding URL that expires after 300 s."""
    for name in ("account", "type", "refresh_url", "return_url"):
        if not form.get(name):
            return f"Missing required param: {name}"
    if form["account"] not in fake.accounts:
        return f"No such account: '{form['account']}'"
    created, token = int(time.time()), secrets.token_urlsafe(12)
    fake.links[token] = dict(form)
    return {
        "object": "account_link",
        "created": created,
        "expires_at": created + 300,
        "url": f"{fake.base_url}{ONBOARDING_PATH}{form['account']}/{token}",
    }


def _new_transfer(fake: FakeStripe, form: dict[str, str]) -> dict | str:
    """POST /v1/transfers: money to a connected account whose transfers capability is active."""
    for name in ("amount", "currency", "destination"):
        if not form.get(name):
            return f"Missing required param: {name}"
    account = fake.accounts.get(form["destination"])
    if account is None:
        return f"No such destination: '{form['destination']}'"
    if account["capabilities"].get("transfers") != "active":
        return "Your destination account needs to have at least one of the following capabilities enabled: transfers"
    transfer = {
        "id": f"tr_{secrets.token_hex(12)}",
        "object": "transfer",
        "amount": int(form["amount"]),
        "amount_reversed": 0,
        "created": int(time.time()),
        "currency": form["currency"],
        "destination": form["destination"],
        "metadata": _metadata(form),
        "reversed": False,
        "transfer_group": form.get("transfer_group"),
    }
    fake.transfers.append(transfer)
    return transfer


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

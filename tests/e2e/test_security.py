"""The production build against what an attacker can send it (issue 14, items 2, 5, 6, 9).

- The event socket refuses a handshake from a foreign `Origin` (a page on
  another port of the same host drove an admin's session in the review).
- After a real admin login in Chromium and a visit to every admin page (and a
  new overlay key made), no tab state at rest (Reflex's state folder, or Redis
  when several workers share it) holds the session id or the overlay key.
- After logout, the same tab's next page load sends nothing of the person who
  was logged in.
- Every public event handler of every state, sent wrong-typed or oversized
  arguments over a real socket by an anonymous client and by a racer, answers
  with a refusal: no traceback in the server's log, no stuck form.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY

import cozykart.cozykart  # noqa: F401  (every page's state, so app_handlers() lists them all)
from cozykart.settings import PROJECT_ROOT
from cozykart.ui import routes
from cozykart.ui.event_guard import EVENT_TEXT_LENGTH_MAX, app_handlers, parameters_of
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.conftest import (
    E2E_ADMIN_DISCORD_ID,
    ServedApp,
    _app_env,
    _discord_env,
    _run_cli,
    serve_production,
)
from tests.fake_discord import FakeUser
from tests.reflex_viewer import Viewer, run_async

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
HTTP_TIMEOUT_S = 10
SOCKET_TIMEOUT_S = 10
SETTLE_S = 3.0
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()
SESSION_COOKIE = "cozykart_session"
REDIS_URL = os.environ.get("COZYKART_TEST_SECURITY_REDIS_URL") or "redis://127.0.0.1:6379/12"
ADMIN_PAGES = [
    routes.ADMIN_PAYOUTS,
    routes.ADMIN_RESULTS,
    routes.ADMIN_SEASONS,
    routes.ADMIN_SETTINGS,
    routes.ADMIN_WEBHOOKS,
    routes.ADMIN_RECONCILE,
    routes.ADMIN_OUTBOX,
    routes.ADMIN_ROLES,
    routes.ADMIN_OVERLAYS,
]
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
RACER = FakeUser(id="80351110224670555", username="wanda_w", global_name="Wanda Walletkeeper", avatar=None)
# What a client can send in place of each argument: other types, too big, non-ASCII digits.
WRONG_VALUES: list[object] = [
    None,
    True,
    [1, 2],
    {"a": {"b": []}},
    "abc",
    "٣",
    2**70,
    -(2**70),
    1.5,
    "9" * 40,
    "x" * (EVENT_TEXT_LENGTH_MAX + 1),
]

# Forms of the right shape whose fields are not what the page would send (every field name a form reads).
FORM_FIELDS = [
    "race_id",
    "payout_id",
    "racer_id",
    "season_id",
    "amount",
    "position",
    "reason",
    "method",
    "reference",
    "name",
    "points",
    "winner_bonus",
    "split_policy",
    "starts_on",
    "ends_on",
    "sponsor_name",
    "sponsor_url",
    "sponsor_logo_url",
    "value",
]
WRONG_FORMS: list[object] = [
    {field: "9" * 40 for field in FORM_FIELDS},
    {field: "٣" for field in FORM_FIELDS},
    {field: "-1" for field in FORM_FIELDS} | {"²": "1", "position_²": "1", "1" * 30: "1"},
    {field: "" for field in FORM_FIELDS},
    {FORM_DATA_ENTRIES_KEY: [[field, "9" * 40] for field in FORM_FIELDS]},  # as a Reflex form submits
    {FORM_DATA_ENTRIES_KEY: [[field, "٣"] for field in FORM_FIELDS] + [["position_²", "1"]]},
]


def _expect():
    from playwright.sync_api import expect

    return expect


# --- item 6: the socket's origin -----------------------------------------------------


def _handshake_status(base_url: str, origin: str | None) -> int:
    """The HTTP status the event socket answers a websocket handshake with."""
    url = urlsplit(base_url)
    lines = [
        "GET /_event/?EIO=4&transport=websocket&token=origin-probe HTTP/1.1",
        f"Host: {url.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection((url.hostname, url.port), timeout=SOCKET_TIMEOUT_S) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = conn.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_a_page_on_another_origin_cannot_open_the_event_socket(served_app: ServedApp):
    own = served_app.base_url
    port = urlsplit(own).port
    assert _handshake_status(own, own) == 101
    assert _handshake_status(own, None) == 101  # not a browser: it carries no one's cookie
    for foreign in (
        f"http://127.0.0.1:{port + 1}",
        f"http://evil.127.0.0.1.nip.io:{port}",
        "null",
        f"http://evil.localhost:{port}",
    ):
        assert _handshake_status(own, foreign) == 403, foreign


# --- item 2: nothing secret at rest ------------------------------------------------


def _login_in_browser(page, app: ServedApp, fake_discord_server, user: FakeUser, path: str) -> None:
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )
    fake_discord_server.user = user
    page.goto(app.url(path), timeout=PAGE_TIMEOUT_MS)
    _expect()(page.get_by_test_id("account-name")).to_have_text(user.global_name, timeout=PAGE_TIMEOUT_MS)


def _session_id(page) -> str:
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    return cookies[SESSION_COOKIE]


def _visit_admin_pages_and_make_an_overlay_key(page, app: ServedApp, fake_discord_server) -> tuple[str, str]:
    """(session id, overlay key) after an admin's real login and a visit to every admin page."""
    expect = _expect()
    _login_in_browser(page, app, fake_discord_server, ADMIN, routes.ADMIN_PAYOUTS)
    for path in ADMIN_PAGES:
        page.goto(app.url(path), timeout=PAGE_TIMEOUT_MS)
        expect(page.locator("h1").first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("admin-refusal")).to_have_count(0)
    click_and_confirm(page, page.get_by_test_id("regenerate-overlay-key"))
    shown = page.wait_for_function(
        "() => { const el = document.querySelector('[data-testid=overlay-pot-url]');"
        " const text = el && (el.value || el.textContent || ''); return /key=\\S+/.test(text) && text; }",
        timeout=PAGE_TIMEOUT_MS,
    )
    key = str(shown.json_value()).rpartition("key=")[2]
    _open_an_overlay_with(page, app, key)
    page.wait_for_timeout(SETTLE_S * 1000)  # let the state manager write what it writes
    return _session_id(page), key


def _open_an_overlay_with(page, app: ServedApp, key: str) -> None:
    """OBS's tab: opened with the key, which leaves the address before the app reads it."""
    overlay = page.context.new_page()
    overlay.goto(app.url(f"{routes.ALERTS_OVERLAY}?key={key}&preset=neon"), timeout=PAGE_TIMEOUT_MS)
    _expect()(overlay.get_by_test_id("overlay-stage")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert key not in overlay.url and "preset=neon" in overlay.url


def _state_files(states_dir: Path) -> list[Path]:
    return [path for path in states_dir.rglob("*") if path.is_file()] if states_dir.exists() else []


def test_no_session_id_or_overlay_key_is_kept_in_tab_state(served_app, fake_discord_server, page):
    session_id, key = _visit_admin_pages_and_make_an_overlay_key(page, served_app, fake_discord_server)
    assert len(session_id) > 20 and len(key) > 20
    states_dir = Path(served_app.env["REFLEX_STATES_WORKDIR"])
    for path in _state_files(states_dir):
        content = path.read_bytes()
        assert session_id.encode() not in content, f"the session id is at rest in {path}"
        assert key.encode() not in content, f"the overlay key is at rest in {path}"
    if states_dir.exists():
        assert states_dir.stat().st_mode & 0o077 == 0, "the state folder is readable by other users"


@pytest.fixture(scope="module")
def redis_app(
    tmp_path_factory: pytest.TempPathFactory, fake_discord_server
) -> Iterator[tuple[ServedApp, redis.Redis]]:
    """The production app with its tab state in Redis (as several workers keep it), on a test database."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as error:
        pytest.skip(f"Redis state test skipped: Redis at {REDIS_URL} is not reachable ({error})")
    workdir = tmp_path_factory.mktemp("security-redis-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-security-redis"
    env = _app_env(
        db_url,
        workdir / "states",
        {
            **_discord_env(fake_discord_server),
            "REFLEX_WEB_WORKDIR": web_dir,
            "REFLEX_REDIS_URL": REDIS_URL,
            "GRANIAN_WORKERS": "1",
        },
    )
    _run_cli(env, "migrate")
    try:
        with serve_production(env, db_url, workdir) as app:
            yield app, client
    finally:
        client.flushdb()
        client.close()


def _redis_value(client: redis.Redis, name: bytes) -> bytes:
    """Everything stored under `name`, as raw bytes (DUMP would hide it: Redis compresses what it dumps)."""
    kind = client.type(name)
    if kind == b"string":
        return client.get(name) or b""
    if kind == b"hash":
        return b"\0".join(field + b"=" + value for field, value in client.hgetall(name).items())
    if kind == b"list":
        return b"\0".join(client.lrange(name, 0, -1))
    if kind in (b"set", b"zset"):
        members = client.smembers(name) if kind == b"set" else client.zrange(name, 0, -1)
        return b"\0".join(members)
    return client.dump(name) or b""


def test_no_session_id_or_overlay_key_is_kept_in_redis(redis_app, fake_discord_server, page):
    app, client = redis_app
    session_id, key = _visit_admin_pages_and_make_an_overlay_key(page, app, fake_discord_server)
    keys = list(client.scan_iter(count=500))
    assert keys, "the app keeps its tab state in Redis"
    for name in keys:
        stored = _redis_value(client, name)
        assert session_id.encode() not in stored and session_id.encode() not in name, (
            f"session id in Redis {name!r}"
        )
        assert key.encode() not in stored, f"the overlay key is in Redis {name!r}"


# --- item 5: logout clears the tab -------------------------------------------------


def test_after_logout_the_same_tab_receives_nothing_of_the_previous_person(
    served_app, fake_discord_server, page
):
    expect = _expect()
    sockets: list[list[str]] = []  # what each socket the tab opened received, in order of opening

    def on_socket(ws) -> None:
        received: list[str] = []
        sockets.append(received)
        ws.on("framereceived", lambda payload: received.append(str(payload)))

    page.on("websocket", on_socket)
    _login_in_browser(page, served_app, fake_discord_server, RACER, routes.PROFILE)
    page.goto(served_app.url(routes.WALLET), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("payout-amount")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert any(RACER.global_name in frame for frames in sockets for frame in frames), (
        "the tab was sent the name"
    )

    sockets_before_logout = len(sockets)
    page.get_by_test_id("logout-button").click()
    expect(page.get_by_test_id("login-button")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_S * 1000)
    # Only the sockets of the pages loaded after logout: the wallet page's own socket may still
    # deliver its last delta while the browser leaves it.
    after = [frame for frames in sockets[sockets_before_logout:] for frame in frames]
    assert after, "the page after logout talked to the backend"
    leaked = [frame[:200] for frame in after if RACER.global_name in frame]
    assert leaked == [], f"the tab was sent the previous person's data after logout: {leaked}"


# --- item 9: every handler, wrong arguments ------------------------------------------


def _racer_cookie(app: ServedApp, fake_discord_server) -> str:
    """A real session of RACER, through the login routes and the fake Discord."""
    fake_discord_server.user = RACER
    with httpx.Client(base_url=app.base_url, timeout=HTTP_TIMEOUT_S) as client:
        start = client.get(routes.Auth.LOGIN, params={"next": "/"})
        approved = httpx.get(start.headers["location"], timeout=HTTP_TIMEOUT_S)
        callback = urlsplit(approved.headers["location"])
        client.get(f"{callback.path}?{callback.query}")
        return f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"


def _wrong_payloads(handler) -> list[dict]:
    parameters = parameters_of(handler)
    payloads: list[dict] = [{"unexpected": 1}]
    for parameter in parameters:
        values = WRONG_VALUES + (WRONG_FORMS if parameter.annotation is dict else [])
        for value in values:
            payloads.append({other.name: ("1" if other is not parameter else value) for other in parameters})
    payloads.append([] if parameters else {"self": 1})  # type: ignore[arg-type]
    return payloads


async def _send_everything(base_url: str, cookie: str | None) -> Viewer:
    viewer = Viewer(base_url, path=routes.TIP, headers={"Cookie": cookie} if cookie else None)
    await viewer.connect()
    try:
        await viewer.wait_for(lambda v: v.updates > 0, SOCKET_TIMEOUT_S)
        for name, handler in sorted(app_handlers().items()):
            for payload in _wrong_payloads(handler):
                await viewer.send(name, payload)
        await asyncio.sleep(SETTLE_S)
        # The tip form is not stuck: a valid event still works after all of that.
        await viewer.send(_handler_named("TipState", "choose_amount"), {"value": "500"})
        await viewer.wait_for(lambda v: v.var("tip_state", "amount_choice") == "500", SOCKET_TIMEOUT_S)
    finally:
        await viewer.disconnect()
    return viewer


def _handler_named(state_class: str, handler_name: str) -> str:
    for name, handler in app_handlers().items():
        if handler.fn.__qualname__ == f"{state_class}.{handler_name}":
            return name
    raise AssertionError(f"no handler {state_class}.{handler_name}")


def test_every_public_handler_refuses_wrong_arguments_without_a_traceback(served_app, fake_discord_server):
    log_start = served_app.log_path.stat().st_size
    cookie = _racer_cookie(served_app, fake_discord_server)
    for who in (None, cookie):
        viewer = run_async(lambda who=who: _send_everything(served_app.base_url, who))
        refusals = [event for event in viewer.events if "That request was refused" in str(event)]
        assert refusals, "wrong arguments are answered with a refusal"
        assert viewer.var("tip_state", "sending") in (False, None)
    log = served_app.log_path.read_bytes()[log_start:].decode("utf-8", "replace")
    assert "Traceback" not in log, log[log.find("Traceback") - 500 : log.find("Traceback") + 3000]
    assert httpx.get(served_app.url("/ping"), timeout=HTTP_TIMEOUT_S).status_code == 200

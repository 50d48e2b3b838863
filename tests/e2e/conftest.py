"""The served app and a headless Chromium, for end-to-end tests.

`served_app` runs the real Reflex server (`reflex run --env prod`, pages and
API on one port bound to 127.0.0.1) on a fresh SQLite file loaded with the demo
data. It builds into `.web-test/` (or COZYKART_E2E_WEB_DIR, so parallel runs
can each have their own) so a developer's running demo (`.web/`) is never disturbed. `browser` is Debian's Chromium driven by Playwright; when
/usr/bin/chromium is missing the browser tests skip with a message
(./scripts/test installs it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.services import league, overlays
from cozykart.services.handlers import HANDLERS
from cozykart.settings import PROJECT_ROOT, Settings
from tests.fake_discord import CLIENT_ID as DISCORD_CLIENT_ID
from tests.fake_discord import CLIENT_SECRET as DISCORD_CLIENT_SECRET
from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.served_process import stop_process_group, wait_until_ready

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The served app's provider secrets, so tests can sign webhooks it accepts.
STRIPE_WEBHOOK_SECRET = "whsec_e2e_cozykart"
KOFI_VERIFICATION_TOKEN = "kofi-e2e-token"
SHOPIFY_WEBHOOK_SECRET = "shopify-e2e-secret"
# The served app logs in through a fake Discord on loopback (tests/fake_discord.py);
# this Discord id is an admin there.
E2E_ADMIN_DISCORD_ID = "900000000000000777"
SERVER_START_TIMEOUT_S = 420
SERVER_STOP_TIMEOUT_S = 20
POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class ServedApp:
    base_url: str
    db_url: str
    env: dict[str, str]
    log_path: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_env(db_url: str, states_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PATH": os.pathsep.join(
                [
                    str(PROJECT_ROOT / ".venv" / "bin"),
                    str(PROJECT_ROOT / ".tools" / "node_modules" / ".bin"),
                    env.get("PATH", ""),
                ]
            ),
            "REFLEX_DB_URL": db_url,
            "REFLEX_USE_SYSTEM_BUN": "1",
            "REFLEX_TELEMETRY_ENABLED": "0",
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_WEB_WORKDIR": os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test"),
            "REFLEX_STATES_WORKDIR": str(states_dir),
            "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
            "KOFI_VERIFICATION_TOKEN": KOFI_VERIFICATION_TOKEN,
            "SHOPIFY_WEBHOOK_SECRET": SHOPIFY_WEBHOOK_SECRET,
        }
    )
    env.pop("REFLEX_REDIS_URL", None)
    env.update(extra or {})
    return env


def _run_cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "cozykart", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _wait_until_serving(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Until the production app answers its backend ping and its first page."""
    wait_until_ready(
        process,
        log_path,
        lambda: (
            httpx.get(f"{base_url}/ping", timeout=2).status_code == 200
            and httpx.get(base_url + "/", timeout=5).status_code == 200
        ),
        timeout_s=SERVER_START_TIMEOUT_S,
        poll_s=POLL_INTERVAL_S,
    )


def _stop(process: subprocess.Popen) -> None:
    stop_process_group(process, timeout_s=SERVER_STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def fake_discord_server() -> Iterator[FakeDiscord]:
    """The fake Discord the served app's OAuth login talks to."""
    with running_fake_discord() as fake:
        yield fake


def _discord_env(fake: FakeDiscord) -> dict[str, str]:
    return {
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_CLIENT_ID": DISCORD_CLIENT_ID,
        "DISCORD_CLIENT_SECRET": DISCORD_CLIENT_SECRET,
        "DISCORD_BOT_TOKEN": fake.bot_token,  # racers' notices go to the fake's DMs
        "COZYKART_ADMIN_DISCORD_IDS": E2E_ADMIN_DISCORD_ID,
        "COZYKART_DEV_LOGIN": "",
    }


@pytest.fixture(scope="session")
def served_app(
    tmp_path_factory: pytest.TempPathFactory, fake_discord_server: FakeDiscord
) -> Iterator[ServedApp]:
    workdir = tmp_path_factory.mktemp("served-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    env = _app_env(db_url, workdir / "states", _discord_env(fake_discord_server))
    _run_cli(env, "migrate")
    _run_cli(env, "seed-demo")
    with serve_production(env, db_url, workdir) as app:
        yield app


@contextmanager
def serve_production(env: dict[str, str], db_url: str, workdir: Path) -> Iterator[ServedApp]:
    """`reflex run --env prod --single-port` on a free loopback port until the block ends."""
    port = _free_port()
    log_path = workdir / "reflex.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "reflex",
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(port),
                "--backend-port",
                str(port),
                "--backend-host",
                "127.0.0.1",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, process, log_path)
        yield ServedApp(base_url=base_url, db_url=db_url, env=env, log_path=log_path)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def db(served_app) -> Iterator[UnitOfWork]:
    """A unit of work on the served app's database (a test serving another app overrides it)."""
    engine = create_db_engine(served_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM_PATH.exists():
        pytest.skip("browser tests skipped: /usr/bin/chromium is missing (./scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: COZYKART_SCREENSHOT_DIR when set (to look at them), else the test's tmp dir."""
    chosen = Path(os.environ.get("COZYKART_SCREENSHOT_DIR") or tmp_path)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


@pytest.fixture(scope="session")
def served_dev_app(tmp_path_factory: pytest.TempPathFactory):
    """The app as scripts/demo serves it (dev mode, developer login on): tests/e2e/dev_app.py."""
    from tests.e2e.dev_app import serve_dev_app

    with serve_dev_app(
        tmp_path_factory.mktemp("served-dev-app"),
        app_env=_app_env,
        run_cli=_run_cli,
        stop=_stop,
        free_port=_free_port,
    ) as app:
        yield app


OVERLAY_ADMIN_DISCORD_ID = "900000000000000088"


@pytest.fixture(scope="module")
def overlay_key(served_app) -> str:
    """A new overlay key for this module's tests, made by an admin on the served app's database."""
    engine = create_db_engine(served_app.db_url)
    try:
        settings = Settings(db_url=served_app.db_url, admin_discord_ids=frozenset({OVERLAY_ADMIN_DISCORD_ID}))
        admin = league.get_or_create_racer(
            OVERLAY_ADMIN_DISCORD_ID,
            "overlay-admin",
            "Overlay Admin",
            None,
            uow=UnitOfWork(engine, handlers=HANDLERS),
        )
        return overlays.regenerate_overlay_key(
            actor_id=admin.racer_id, uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings)
        )
    finally:
        engine.dispose()

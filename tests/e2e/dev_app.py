"""The app as `scripts/demo` serves it: Reflex's dev mode, with the developer login and demo tips on.

The developer login (COZYKART_DEV_LOGIN=1) and demo tips (COZYKART_DEMO_TIPS=1)
are refused in production mode: the app will not even start with them
(`refuse_dev_login_in_production`, `refuse_demo_tips_in_production`). So the
browser tests that use them run against this second instance, exactly the way a
developer meets it: `reflex run --env dev`, pages on one loopback port and the
backend (API, auth routes, state socket) on another, on its own fresh SQLite
file loaded with the demo data. Its frontend compiles into its own directory,
so it never disturbs the production build the other browser tests share.

Dev mode reloads the backend when a watched file changes. Other work in the
checkout must not restart the server under a test, so the reload watch is
pointed at an empty directory (REFLEX_HOT_RELOAD_OVERRIDE_PATHS).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cozykart.settings import PROJECT_ROOT
from tests.served_process import wait_until_ready

# Dev mode compiles pages on first request; a loaded machine needs a while.
DEV_SERVER_START_TIMEOUT_S = 600
DEV_POLL_INTERVAL_S = 1.0
# The demo's admin (scripts/demo does the same), so /admin pages can be shown too.
DEV_ADMIN_DISCORD_IDS = "demo-shyguy_drift"


@dataclass(frozen=True)
class ServedDevApp:
    base_url: str  # the pages (Vite's dev server)
    backend_url: str  # API, auth routes and the state socket
    db_url: str
    env: dict[str, str]
    log_path: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def backend(self, path: str) -> str:
        return f"{self.backend_url}{path}"


@contextmanager
def serve_dev_app(workdir: Path, *, app_env, run_cli, stop, free_port) -> Iterator[ServedDevApp]:
    """Migrate and seed a fresh database, serve it in dev mode, stop it afterwards.

    `app_env`, `run_cli`, `stop` and `free_port` are the shared conftest's
    helpers, so both served apps are set up the same way.
    """
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    no_reload_dir = workdir / "no-reload"
    no_reload_dir.mkdir()
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-dev"
    env = app_env(
        db_url,
        workdir / "states",
        {
            "COZYKART_DEV_LOGIN": "1",
            "COZYKART_DEMO_TIPS": "1",
            "COZYKART_ADMIN_DISCORD_IDS": DEV_ADMIN_DISCORD_IDS,
            "REFLEX_WEB_WORKDIR": web_dir,
            "REFLEX_HOT_RELOAD_OVERRIDE_PATHS": str(no_reload_dir),
            "REFLEX_ENV_MODE": "dev",
        },
    )
    env.pop("REFLEX_API_URL", None)
    run_cli(env, "migrate")
    run_cli(env, "seed-demo")
    frontend_port, backend_port = free_port(), free_port()
    log_path = workdir / "reflex-dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "reflex",
                "run",
                "--env",
                "dev",
                "--frontend-port",
                str(frontend_port),
                "--backend-port",
                str(backend_port),
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
    # The pages are addressed as `localhost`, the name Reflex gives the backend
    # (api_url): the session cookie the backend sets then reaches the pages' socket.
    app = ServedDevApp(
        base_url=f"http://localhost:{frontend_port}",
        backend_url=f"http://localhost:{backend_port}",
        db_url=db_url,
        env=env,
        log_path=log_path,
    )
    try:
        wait_until_ready(
            process,
            log_path,
            lambda: (
                httpx.get(app.backend("/ping"), timeout=2).status_code == 200
                and httpx.get(app.url("/"), timeout=10).status_code == 200
            ),
            timeout_s=DEV_SERVER_START_TIMEOUT_S,
            poll_s=DEV_POLL_INTERVAL_S,
        )
        yield app
    finally:
        stop(process)

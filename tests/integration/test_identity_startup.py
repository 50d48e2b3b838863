"""The app refuses to start with the developer login on in production mode."""

from __future__ import annotations

import os
import subprocess
import sys

from cozykart.settings import PROJECT_ROOT

IMPORT_TIMEOUT_S = 120


def _import_app(**env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "REFLEX_TELEMETRY_ENABLED": "0", **env}
    return subprocess.run(
        [sys.executable, "-c", "import cozykart.cozykart"],
        cwd=PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
    )


def test_the_app_refuses_to_start_with_dev_login_in_production():
    result = _import_app(REFLEX_ENV_MODE="prod", COZYKART_DEV_LOGIN="1")

    assert result.returncode != 0
    assert "DevLoginInProduction" in result.stderr
    assert "COZYKART_DEV_LOGIN" in result.stderr


def test_the_app_builds_with_dev_login_in_dev_mode():
    result = _import_app(REFLEX_ENV_MODE="dev", COZYKART_DEV_LOGIN="1")

    assert result.returncode == 0, result.stderr[-2000:]

"""The app refuses to start with demo tips (COZYKART_DEMO_TIPS=1) in production mode."""

from __future__ import annotations

from tests.integration.test_identity_startup import _import_app


def test_the_app_refuses_to_start_with_demo_tips_in_production():
    result = _import_app(REFLEX_ENV_MODE="prod", COZYKART_DEMO_TIPS="1", COZYKART_DEV_LOGIN="")

    assert result.returncode != 0
    assert "DemoTipsInProduction" in result.stderr
    assert "COZYKART_DEMO_TIPS" in result.stderr


def test_the_app_builds_with_demo_tips_in_dev_mode():
    result = _import_app(REFLEX_ENV_MODE="dev", COZYKART_DEMO_TIPS="1")

    assert result.returncode == 0, result.stderr[-2000:]

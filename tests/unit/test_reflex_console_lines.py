"""Reflex's console lines on `reflex run` never contradict the README (rxconfig.py's filter)."""

from __future__ import annotations

import logging

import pytest

import rxconfig  # noqa: F401  (installs the filter, as `reflex run` does when it reads the config)


@pytest.fixture
def lines():
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    loggers = [logging.getLogger(name) for name in ("reflex.reflex", "reflex.utils.js_runtimes")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield seen
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_the_first_runs_init_line_keeps_what_happened_and_drops_the_uv_advice(lines):
    # The words reflex/reflex.py logs when `reflex run` initializes the web directory.
    logging.getLogger("reflex.reflex").log(
        logging.INFO,
        "Initialized %s%s.%s%s",
        "cozykart",
        "",
        "",
        " Run `uv run reflex run` to start the app.",
    )
    assert lines == ["Initialized cozykart."]


def test_the_node_version_warning_is_dropped_and_other_warnings_are_not(lines):
    runtimes = logging.getLogger("reflex.utils.js_runtimes")
    runtimes.warning("Your version (20.20.2) of Node.js is out of date. Upgrade to 22.22.0 or higher.")
    runtimes.warning("Bun or npm not found.")
    assert lines == ["Bun or npm not found."]

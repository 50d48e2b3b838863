"""Fault drills' reports, shown in the test run's summary and kept as JSON files.

A drill test calls `record(name, report, summary)` once it has its report: the
summary line is printed under "fault drill reports" at the end of the run (so
the CI log shows acknowledged, applied-once and reconcile figures for every
fault), and the whole report is written to `$COZYKART_DRILL_REPORT_DIR/NAME.json`
when that variable is set.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

REPORT_DIR_ENV = "COZYKART_DRILL_REPORT_DIR"

# A drill bounds each of its own waits; this bounds the whole of it, should one of them not hold.
DRILL_TIMEOUT_S = 900

_recorded: list[tuple[str, str]] = []


def run_in_own_thread(
    function: Callable[..., T], *args: Any, timeout_s: float = DRILL_TIMEOUT_S, **kwargs: Any
) -> T:
    """`function(*args, **kwargs)` in a thread of its own, failing the test after `timeout_s`.

    Drills run asyncio loops, and a browser test may hold this thread's loop. The
    thread is a daemon: a drill that overran fails its test and does not hold up
    the run's exit.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 -- re-raised in the test's thread below
            outcome["error"] = error

    thread = threading.Thread(
        target=target, name=f"drill-{getattr(function, '__name__', 'run')}", daemon=True
    )
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        pytest.fail(f"{getattr(function, '__qualname__', function)} did not finish within {timeout_s:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def record(name: str, report: dict, summary: str) -> None:
    """Keep one drill's report: its summary line for the run's end, its JSON in the report directory."""
    _recorded.append((name, summary))
    directory = os.environ.get(REPORT_DIR_ENV)
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / f"{name}.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")


def recorded() -> list[tuple[str, str]]:
    """Every (name, summary) recorded so far, in order."""
    return list(_recorded)

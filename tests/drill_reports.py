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
from pathlib import Path

REPORT_DIR_ENV = "COZYKART_DRILL_REPORT_DIR"

_recorded: list[tuple[str, str]] = []


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

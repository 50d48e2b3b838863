"""A Reflex server run as its own process group, for the browser tests and the benchmarks:
wait until it answers, and stop the whole group (Reflex starts workers and a frontend below it)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

LOG_TAIL_CHARS = 4000


def wait_until_ready(
    process: subprocess.Popen, log_path: Path, ready: Callable[[], bool], *, timeout_s: float, poll_s: float
) -> None:
    """Polls `ready()` (an HTTP error counts as not yet) until it is true; raises with the log's tail
    when the process exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"reflex exited with {process.returncode}:\n{log_path.read_text()[-LOG_TAIL_CHARS:]}"
            )
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    raise RuntimeError(
        f"reflex did not serve within {timeout_s:.0f} s:\n{log_path.read_text()[-LOG_TAIL_CHARS:]}"
    )


def stop_process_group(process: subprocess.Popen, *, timeout_s: float) -> None:
    """SIGTERM to the process group, SIGKILL when it has not ended within `timeout_s`."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)

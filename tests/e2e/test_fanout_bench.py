"""bench/fanout.py at a tiny size: every viewer, held by client processes of their own, sees each
sale's new pot, and the report carries the server's CPU per round and its memory per step.

Only what the figures are made of is asserted (every viewer counted, CPU and memory read from
/proc), never a speed: the 1,000-viewer run is `python bench/fanout.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, postgres_base_url

ROOT = Path(__file__).resolve().parents[2]
VIEWER_STEPS = (3, 6)
RUN_TIMEOUT_S = 600


def run_fanout(*args: str) -> dict:
    completed = subprocess.run(
        [
            *(sys.executable, "bench/fanout.py", "--viewers", ",".join(map(str, VIEWER_STEPS))),
            *("--rounds", "2", *args, "--json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)  # its only stdout is the report


def assert_every_viewer_measured(run: dict, workers: int) -> None:
    assert run["workers"] == workers and run["redis"] is (workers > 1)
    assert [step["viewers"] for step in run["steps"]] == list(VIEWER_STEPS)
    for step in run["steps"]:
        assert step["missed"] == 0 and step["warmup_missed"] == 0, step
        assert 0 < step["p50_ms"] <= step["p99_ms"] <= step["max_ms"] < 30_000
        assert len(step["round_p99_ms"]) == 2
        # Every viewer's socket is held by a server process (plus the bench's own HTTP connection).
        assert sum(step["viewers_per_worker"].values()) >= step["viewers"]
        assert step["clients_cpu_ms_per_round_median"] > 0  # the viewers' processes received the pushes
    # The webhooks and pushes ran on the server (in ticks of 10 ms: summed over every round).
    assert sum(step["server_cpu_ms_all_rounds"] for step in run["steps"]) > 0
    assert [point["viewers"] for point in run["memory"]] == [0, *VIEWER_STEPS]
    assert all(point["rss_mb"] > 0 for point in run["memory"])
    assert isinstance(run["memory_per_idle_viewer_kb"], float)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_viewer_in_two_client_processes_sees_each_sale_and_the_costs_are_reported(backend):
    args = ["--client-processes", "2"]
    if backend == "postgresql":
        url = postgres_base_url()
        if url is None:
            pytest.skip("PostgreSQL run skipped: set COZYKART_TEST_POSTGRES_URL to run it")
        args += ["--postgres-url", url]

    report = run_fanout(*args)

    assert report["bench"] == "fanout" and report["database"] == backend
    assert report["client_processes"] == 2
    assert_every_viewer_measured(report["runs"][0], workers=1)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_two_workers_with_a_redis_of_the_bench_own_reach_every_viewer():
    report = run_fanout("--workers", "2", "--client-processes", "1")

    assert_every_viewer_measured(report["runs"][0], workers=2)

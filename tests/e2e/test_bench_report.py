"""bench/run.py produces its one JSON report, and survives a bench that fails.

The quick run serves the real app (the webhook and fan-out benches do) at small
sizes; only the report's shape is asserted, never a speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import run

ROOT = Path(__file__).resolve().parents[2]
QUICK_RUN_TIMEOUT_S = 900


def test_quick_run_prints_one_report_with_every_goal_beside_its_figure():
    completed = subprocess.run(
        [sys.executable, "bench/run.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_RUN_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    report = json.loads(completed.stdout)  # the only stdout is the report
    assert completed.returncode == 0, (report["failed"], completed.stderr[-3000:])
    postgres = bool(os.environ.get(run.POSTGRES_URL_ENV))

    assert report["quick"] is True
    assert report["postgresql"] == ("used" if postgres else run.SKIPPED_NO_POSTGRES)
    machine = report["machine"]
    assert machine["cores"] >= 1 and len(machine["load_average_at_start"]) == 3
    assert len(machine["git_commit"]) == 40
    present = [bench.name for bench in run.BENCHES if (ROOT / bench.script).exists()]
    assert set(report["benches"]) == set(run.BENCH_NAMES)
    assert report["failed"] == [name for name in run.BENCH_NAMES if name not in present]
    for name in present:
        outcome = report["benches"][name]
        assert outcome["ok"] is True and isinstance(outcome["result"], dict), outcome
        assert outcome["result"].get("bench") == name

    assert report["ledger_beside_raw_sqlite"]["sqlite_raw_sales_per_s"] > 0
    for point in report["benches"]["scale"]["result"]["sqlite"]["curve"]:
        assert point["late_sale_ms"]["runs"] >= 5 and point["late_sale_ms"]["median"] > 0, point
    assert ("postgresql_service_final_race_sales_per_s" in report["ledger_beside_raw_sqlite"]) is postgres

    goals = report["goals"]
    for goal in goals:
        assert {"goal", "bench", "target", "measured", "unit", "met"} <= set(goal)
        if goal["bench"] in present and (goal.get("database") != "postgresql" or postgres):
            assert isinstance(goal["measured"], int | float) and goal["met"] in (True, False), goal
    postgres_goals = [goal for goal in goals if goal.get("database") == "postgresql"]
    assert {goal["bench"] for goal in postgres_goals} == {
        "webhooks",
        "webhooks_wrk",
        "webhooks_grown",
        "wallet",
        "scale",
    }
    if not postgres:
        assert all(
            goal["skipped"] == run.SKIPPED_NO_POSTGRES and goal["met"] is None for goal in postgres_goals
        )
    assert {goal["bench"] for goal in goals} == {
        "webhooks",
        "webhooks_wrk",
        "webhooks_grown",
        "fanout",
        "standings",
        "wallet",
        "scale",
    }


def test_a_failing_or_missing_bench_is_reported_and_the_run_goes_on(tmp_path, monkeypatch):
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nprint('half a report', file=sys.stderr)\nsys.exit(3)\n")
    no_json = tmp_path / "chatty.py"
    no_json.write_text("print('not json')\n")
    fine = tmp_path / "fine.py"
    fine.write_text(
        "import json, sys\nassert sys.argv[-1] == '--json'\nprint(json.dumps({'bench': 'fine'}))\n"
    )
    monkeypatch.setattr(
        run,
        "BENCHES",
        (
            run.Bench("broken", str(broken)),
            run.Bench("chatty", str(no_json)),
            run.Bench("fine", str(fine)),
            run.Bench("missing", str(tmp_path / "nowhere.py")),
        ),
    )
    monkeypatch.setattr(run, "BENCH_NAMES", ("broken", "chatty", "fine", "missing"))

    outcomes = {
        bench.name: run.run_bench(bench, quick=True, postgres_url=None, timeout_s=60) for bench in run.BENCHES
    }

    assert outcomes["broken"]["ok"] is False and "status 3" in outcomes["broken"]["error"]
    assert "half a report" in outcomes["broken"]["stderr_tail"]
    assert outcomes["chatty"]["ok"] is False and "not one JSON object" in outcomes["chatty"]["error"]
    assert outcomes["fine"] == {**outcomes["fine"], "ok": True, "result": {"bench": "fine"}}
    assert outcomes["missing"]["ok"] is False and outcomes["missing"]["error"].startswith("missing")
    assert run.main(["--only", "broken,fine", "--quick"]) == 1

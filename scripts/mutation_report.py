"""Per-file mutation figures from a finished `mutmut run` (its mutants/*.meta files).

Prints killed, survived and untested counts for every mutated file and in total,
and the score: killed / all mutants, where untested mutants (in code no unit test
calls) count as survivors. A mutant that made the tests time out is counted as
killed (an endless loop is caught: the suite hangs and pytest-timeout fails it),
and is shown in its own column. Exits 1 when the score is below the goal.

    python scripts/mutation_report.py [MUTANTS_DIR] [--min PERCENT] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

SCORE_PERCENT_MIN_DEFAULT = 90.0
# mutmut 3.8.1's exit codes (mutmut/stats.py: status_by_exit_code), folded into four columns.
KILLED_EXIT_CODES = {1, 3, 37}
TIMEOUT_EXIT_CODES = {36, -24, 24, 152, 255}
UNTESTED_EXIT_CODES = {5, 33}
SURVIVED_EXIT_CODES = {0}


def status(exit_code: int | None) -> str:
    if exit_code in KILLED_EXIT_CODES:
        return "killed"
    if exit_code in TIMEOUT_EXIT_CODES:
        return "timeout"
    if exit_code in UNTESTED_EXIT_CODES:
        return "untested"
    if exit_code in SURVIVED_EXIT_CODES:
        return "survived"
    return "other"  # not checked, interrupted, skipped, suspicious, segfault: never a kill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mutants", nargs="?", default="mutants", type=Path)
    parser.add_argument("--min", type=float, default=SCORE_PERCENT_MIN_DEFAULT, dest="score_percent_min")
    parser.add_argument("--survivors", action="store_true", help="also list every mutant not killed")
    arguments = parser.parse_args()

    counts_by_file: dict[str, Counter[str]] = {}
    not_killed: list[tuple[str, str]] = []
    for meta in sorted(arguments.mutants.rglob("*.py.meta")):
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not exit_codes:
            continue
        source = str(meta.relative_to(arguments.mutants)).removesuffix(".meta")
        counts = counts_by_file.setdefault(source, Counter())
        for mutant, exit_code in sorted(exit_codes.items()):
            verdict = status(exit_code)
            counts[verdict] += 1
            if verdict not in {"killed", "timeout"}:
                not_killed.append((mutant, verdict))
    if not counts_by_file:
        print(f"mutation: no results under {arguments.mutants}/; run mutmut first", file=sys.stderr)
        return 2

    columns = ("killed", "timeout", "survived", "untested", "other")
    width = max(len(name) for name in counts_by_file) + 2
    print(f"{'file':<{width}}" + "".join(f"{column:>10}" for column in columns) + f"{'total':>8}{'score':>9}")
    total: Counter[str] = Counter()
    for source, counts in counts_by_file.items():
        total.update(counts)
        print(_row(source, counts, columns, width))
    print(_row("total", total, columns, width))

    if arguments.survivors:
        print()
        for mutant, verdict in not_killed:
            print(f"{verdict:>9}  {mutant}")
    score_percent = _score_percent(total)
    goal_met = score_percent >= arguments.score_percent_min
    print(
        f"\nmutation score {score_percent:.1f}% (goal {arguments.score_percent_min:.0f}%): "
        + ("met" if goal_met else "NOT met")
    )
    return 0 if goal_met else 1


def _score_percent(counts: Counter[str]) -> float:
    all_count = sum(counts.values())
    return 100.0 * (counts["killed"] + counts["timeout"]) / all_count if all_count else 0.0


def _row(label: str, counts: Counter[str], columns: tuple[str, ...], width: int) -> str:
    cells = "".join(f"{counts[column]:>10}" for column in columns)
    return f"{label:<{width}}{cells}{sum(counts.values()):>8}{_score_percent(counts):>8.1f}%"


if __name__ == "__main__":
    sys.exit(main())

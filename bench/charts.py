"""Charts of how cost grows with the league: one PNG per curve, from bench/scale.py's JSON report.

    python bench/charts.py REPORT.json [--charts DIR]

REPORT.json is bench/scale.py's report, or bench/run.py's (the scale bench's
result inside it). Writes into DIR (default docs/bench/):
- reconcile.png: `python -m cozykart reconcile` seconds against postings, with the 10 s goal;
- standings.png: the standings' cold read (p95 and median) against racers, with the 50 ms goal;
- wallet.png: the /wallet page (median) against the racer's wallet lines;
- supporters.png: one refresh of the supporters boards against payments: the
  season board summed over every payment (before) and from the tally (after,
  unchanged and after one tip), and the race board;
- late_sale.png: a late sale split among a final race's racers, against the season's final races.
One line per database; both axes logarithmic, since the sizes go by tens. The
load average of the run is in each title: a figure from a loaded machine is one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt

CHARTS_DIR_DEFAULT = Path(__file__).resolve().parent.parent / "docs" / "bench"
DATABASES = ("sqlite", "postgresql")
MARKERS = {"sqlite": "o", "postgresql": "s"}
FIGURE_SIZE_INCHES = (7.0, 4.5)
DPI = 110


def scale_report(report: dict) -> dict:
    """The scale bench's report, whether given directly or inside bench/run.py's."""
    if report.get("bench") == "scale":
        return report
    inner = report.get("benches", {}).get("scale", {}).get("result")
    if not isinstance(inner, dict):
        raise ValueError("no scale report in this JSON (run bench/scale.py or bench/run.py --only scale)")
    return inner


def _series(report: dict, database: str, x_of, y_of) -> tuple[list, list]:
    xs, ys = [], []
    for point in report.get(database, {}).get("curve", []):
        x, y = x_of(point), y_of(point)
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys


def _new_axes(title: str, report: dict, xlabel: str, ylabel: str):
    figure, axes = plt.subplots(figsize=FIGURE_SIZE_INCHES)
    loads = f"load {report.get('load_average_at_start')} to {report.get('load_average_at_end')}"
    axes.set_title(f"{title}\n({report.get('cores')} cores, {loads})", fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.grid(True, which="both", alpha=0.3)
    return figure, axes


def _save(figure, axes, path: Path) -> Path:
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def _goal(axes, value: float, label: str) -> None:
    axes.axhline(value, color="grey", linestyle="--", linewidth=1, label=label)


def draw_reconcile(report: dict, directory: Path) -> Path:
    figure, axes = _new_axes("reconcile (CLI, wall time)", report, "postings", "seconds")
    for database in DATABASES:
        xs, ys = _series(
            report, database, lambda p: p["totals"]["postings"], lambda p: p["reconcile"]["seconds"]
        )
        if xs:
            axes.plot(xs, ys, marker=MARKERS[database], label=database)
    _goal(axes, 10.0, "goal: 10 s at 1M postings")
    return _save(figure, axes, directory / "reconcile.png")


def _plot_statistics(axes, report: dict, x_of, figures_of, statistics: tuple) -> None:
    """One line per database and (statistic, style): the statistic of the figures `figures_of(point)` gives."""
    for database in DATABASES:
        for statistic, style in statistics:
            xs, ys = _series(report, database, x_of, lambda p, s=statistic: (figures_of(p) or {}).get(s))
            if xs:
                axes.plot(xs, ys, style, marker=MARKERS[database], label=f"{database} {statistic}")


def draw_standings(report: dict, directory: Path) -> Path:
    figure, axes = _new_axes("standings, cold read (cache emptied)", report, "racers", "ms")
    _plot_statistics(
        axes,
        report,
        lambda p: p["totals"]["racers"],
        lambda p: p["standings_cold_ms"],
        (("p95", "-"), ("median", ":")),
    )
    _goal(axes, 50.0, "goal: p95 50 ms at 5k racers")
    return _save(figure, axes, directory / "standings.png")


def draw_wallet(report: dict, directory: Path) -> Path:
    figure, axes = _new_axes("/wallet page (first page, cold)", report, "wallet lines", "ms")
    for database in DATABASES:
        points = report.get(database, {}).get("wallet", [])
        xs = [point["entries"] for point in points]
        ys = [point["first_page_ms"]["median"] for point in points]
        if xs:
            axes.plot(xs, ys, marker=MARKERS[database], label=f"{database} median")
    _goal(axes, 20.0, "goal: 20 ms")
    return _save(figure, axes, directory / "wallet.png")


def draw_supporters(report: dict, directory: Path) -> Path:
    figure, axes = _new_axes("supporters board, one refresh", report, "payments", "ms (median)")
    lines = (
        ("season_full", "season, summed each time (before)", "-"),
        ("season_after_tip", "season, tally after a tip (after)", "--"),
        ("season_unchanged", "season, tally unchanged (after)", ":"),
        ("race", "race board", "-."),
    )
    for database in DATABASES:
        for name, label, style in lines:
            xs, ys = _series(
                report, database, lambda p: p["payments"], lambda p, n=name: p["supporters_ms"][n]["median"]
            )
            if xs:
                axes.plot(xs, ys, style, marker=MARKERS[database], label=f"{database}: {label}")
    return _save(figure, axes, directory / "supporters.png")


def draw_late_sale(report: dict, directory: Path) -> Path:
    figure, axes = _new_axes("late sale into a final race, split at once", report, "final races", "ms")
    _plot_statistics(
        axes,
        report,
        lambda p: p["totals"].get("races"),
        lambda p: p.get("late_sale_ms"),
        (("max", "-"), ("median", ":")),
    )
    return _save(figure, axes, directory / "late_sale.png")


def draw(report: dict, directory: Path) -> list[Path]:
    """Every chart of the scale report into `directory`; the files written."""
    report = scale_report(report)
    directory.mkdir(parents=True, exist_ok=True)
    charts = (draw_reconcile, draw_standings, draw_wallet, draw_supporters, draw_late_sale)
    return [chart(report, directory) for chart in charts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--charts", type=Path, default=CHARTS_DIR_DEFAULT)
    args = parser.parse_args()
    for path in draw(json.loads(args.report.read_text()), args.charts):
        print(path, file=sys.stderr)


if __name__ == "__main__":
    main()

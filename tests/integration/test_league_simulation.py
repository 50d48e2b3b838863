"""A simulated season: random reports, disputes, host rulings and admin fixes.

The standings the services keep are checked against an independent, simple
model written here (it shares no code with cozykart.domain.league), and the
incrementally kept table against a full recomputation.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

import pytest

from cozykart.domain.events import RaceFinalized, ResultsCorrected
from cozykart.domain.league import InvalidResults, NothingToFix, RaceAlreadyFinal
from cozykart.services import league, seasons
from cozykart.services.reads import standings
from tests.integration.league_support import make_league, recording

RACE_COUNT = 16
RACER_COUNT = 12
POINTS = {"default": [15, 12, 10, 8, 6, 4, 2, 1], "3": [5, 3, 1]}


def model_points(position: int | None, size: int) -> int:
    if position is None:
        return 0
    row = POINTS.get(str(size), POINTS["default"])
    return row[position - 1] if position <= len(row) else 0


def valid(placings: dict[int, int | None]) -> bool:
    positions = sorted(p for p in placings.values() if p is not None)
    return positions == list(range(1, len(positions) + 1))


@dataclass
class Model:
    """Final results by race, in race order: {race_id: {racer_id: position or None}}."""

    results: dict[int, dict[int, int | None]] = field(default_factory=dict)

    def standings(self) -> list[tuple[int, int, int, int, int, Fraction | None]]:
        table: dict[int, dict] = {}
        for order, (_race_id, placings) in enumerate(self.results.items()):
            size = len(placings)
            for racer_id, position in placings.items():
                row = table.setdefault(
                    racer_id,
                    {"points": 0, "wins": 0, "podiums": 0, "races": 0, "positions": [], "reached": order},
                )
                points = model_points(position, size)
                row["points"] += points
                row["races"] += 1
                if points > 0:
                    row["reached"] = order
                if position is not None:
                    row["positions"].append(position)
                    row["wins"] += position == 1
                    row["podiums"] += position <= 3
        out = []
        for racer_id, row in table.items():
            average = Fraction(sum(row["positions"]), len(row["positions"])) if row["positions"] else None
            out.append(
                (racer_id, row["points"], row["wins"], row["podiums"], row["races"], average, row["reached"])
            )

        def key(item):
            racer_id, points, wins, _podiums, _races, average, reached = item
            return (-points, -wins, average is None, average or 0, reached, racer_id)

        return [item[:6] for item in sorted(out, key=key)]


def move(placings: dict[int, int | None], racer_id: int, target: int | None) -> dict[int, int | None]:
    finishers = [
        r for r, p in sorted(placings.items(), key=lambda kv: kv[1] or 0) if p is not None and r != racer_id
    ]
    if target is not None:
        finishers.insert(target - 1, racer_id)
    moved = dict.fromkeys(placings)
    moved.update({r: index for index, r in enumerate(finishers, start=1)})
    return moved


@pytest.mark.parametrize("seed", [7])
def test_simulated_season_matches_an_independent_model(database, seed):
    draw = random.Random(seed)
    lg = make_league(database, RACER_COUNT)
    season = seasons.create_season(
        "Simulated",
        starts_on=date(2026, 11, 1),
        ends_on=date(2027, 1, 31),
        points_table=POINTS,
        **lg.kw(lg.admin_id),
    )
    seasons.activate_season(season.season_id, **lg.kw(lg.admin_id))
    model = Model()
    paths: Counter[str] = Counter()
    finalized: list[int] = []
    fixes = 0

    with recording(lg, RaceFinalized, ResultsCorrected) as events:
        for index in range(RACE_COUNT):
            size = draw.choice([2, 3, 3, 5, 8, 8])
            field_ids = draw.sample(lg.racer_ids, size)
            race_id = lg.live_race(field_ids, f"Race {index}")
            dnf_count = draw.choice([0, 0, 0, 1, 2]) if size > 2 else 0
            truth_order = draw.sample(field_ids, size)
            truth = {r: (i + 1 if i < size - dnf_count else None) for i, r in enumerate(truth_order)}

            reports: dict[int, int | None] = {}
            silent = {r for r in field_ids if draw.random() < 0.1}
            honest = index % 4 == 1  # now and then: all true, the last one silent (the host confirms)
            if honest:
                silent = {truth_order[-1]}
            speakers = [r for r in field_ids if r not in silent]
            draw.shuffle(speakers)
            before_end = speakers[: len(speakers) // 2]
            after_end = speakers[len(speakers) // 2 :]
            final = False

            for racer_id in before_end:
                _report(lg, draw, race_id, truth, reports, racer_id, ended=False, honest=honest)
            view = league.end_race(race_id, **lg.kw(lg.host_id))
            final = view.is_final
            assert final == (len(reports) == size and valid(reports))
            for racer_id in after_end:
                if final:
                    with pytest.raises(RaceAlreadyFinal):
                        league.report_result(race_id, 1, **lg.kw(racer_id))
                    continue
                final = _report(lg, draw, race_id, truth, reports, racer_id, ended=True, honest=honest)

            paths["disputed"] += league.get_race(race_id, uow=database.uow()).disputed
            if final:
                paths["reports"] += 1
                result = dict(reports)
            else:
                as_they_stand = {r: reports.get(r) for r in field_ids}
                if (honest or draw.random() < 0.5) and valid(as_they_stand):
                    league.confirm_results(race_id, missing_acknowledged=True, **lg.kw(lg.host_id))
                    paths["confirmed"] += 1
                    result = as_they_stand
                else:
                    if not valid(as_they_stand):
                        with pytest.raises(InvalidResults):
                            league.confirm_results(race_id, **lg.kw(lg.host_id))
                    table = {r: ("dnf" if p is None else p) for r, p in truth.items()}
                    league.set_results(race_id, table, **lg.kw(lg.admin_id if index % 2 else lg.host_id))
                    paths["ruled"] += 1
                    result = dict(truth)
            model.results[race_id] = result
            finalized.append(race_id)

            # Admin fixes, now and then, of this race or an earlier one.
            for _ in range(draw.choice([0, 0, 0, 1, 2])):
                target_race = draw.choice(finalized)
                placings = model.results[target_race]
                racer_id = draw.choice(list(placings))
                target = draw.choice([*range(1, len(placings) + 1), None])
                finishers_others = sum(1 for r, p in placings.items() if p is not None and r != racer_id)
                raw = "dnf" if target is None else target
                if target is not None and target > finishers_others + 1:
                    with pytest.raises(InvalidResults):
                        league.admin_fix_result(
                            target_race, racer_id, raw, reason="check", **lg.kw(lg.admin_id)
                        )
                    continue
                moved = move(placings, racer_id, target)
                if moved == placings:
                    with pytest.raises(NothingToFix):
                        league.admin_fix_result(
                            target_race, racer_id, raw, reason="check", **lg.kw(lg.admin_id)
                        )
                    continue
                view = league.admin_fix_result(
                    target_race, racer_id, raw, reason=f"fix {fixes}", **lg.kw(lg.admin_id)
                )
                assert {e.racer.racer_id: e.position for e in view.entries} == moved
                model.results[target_race] = moved
                fixes += 1

            if index % 6 == 5:  # and check as the season goes
                _check(database, season.season_id, model)

    # Every way to a final result was taken.
    assert all(paths[path] > 0 for path in ("disputed", "reports", "confirmed", "ruled")), paths
    assert [e.outcome.race_id for e in events if isinstance(e, RaceFinalized)] == finalized
    corrections = [e for e in events if isinstance(e, ResultsCorrected)]
    assert len(corrections) == fixes > 0
    # The last event about each race carries the results the model has.
    last: dict[int, object] = {}
    for event in events:
        last[event.outcome.race_id] = event.outcome
    for race_id, outcome in last.items():
        assert {r.racer_id: r.position for r in outcome.results} == model.results[race_id]
        size = len(model.results[race_id])
        assert {r.racer_id: r.points for r in outcome.results} == {
            r: model_points(p, size) for r, p in model.results[race_id].items()
        }
    _check(database, season.season_id, model)

    closed = seasons.close_season(season.season_id, **lg.kw(lg.admin_id))
    assert closed.champion.racer_id == model.standings()[0][0]
    _check(database, season.season_id, model)


def _report(lg, draw, race_id, truth, reports, racer_id, *, ended: bool, honest: bool) -> bool:
    """One racer reports (sometimes wrongly); the race is final exactly when the model says."""
    size = len(truth)
    claim = truth[racer_id]
    if not honest and draw.random() < 0.2:
        claim = draw.choice([*range(1, size + 1), None])
    if not ended and draw.random() < 0.3:  # a first, wrong attempt, corrected before the end
        league.report_result(race_id, draw.randint(1, size), **lg.kw(racer_id))
    view = league.report_result(race_id, "DNF" if claim is None else claim, **lg.kw(racer_id))
    reports[racer_id] = claim
    complete = len(reports) == size
    expect_final = ended and complete and valid(reports)
    assert view.is_final == expect_final, (reports, view)
    if not view.is_final:
        claimed = [p for p in reports.values() if p is not None]
        conflict = len(claimed) != len(set(claimed)) or (complete and not valid(reports))
        assert view.disputed == conflict
        assert view.entry_of(racer_id).reported_position == claim
    return view.is_final


def _check(database, season_id: int, model: Model) -> None:
    expected = model.standings()
    view = standings.season_standings(season_id, uow=database.uow())
    got = [
        (
            row.racer.racer_id,
            row.points,
            row.wins,
            row.podiums,
            row.races,
            None if row.average_finish is None else row.average_finish,
        )
        for row in view.rows
    ]
    assert [g[:5] for g in got] == [e[:5] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert (g[5] is None) == (e[5] is None)
        if e[5] is not None:
            assert g[5] == pytest.approx(float(e[5]))
    assert [row.rank for row in view.rows] == list(range(1, len(expected) + 1))
    # The incrementally kept table equals a full recomputation from every result.
    stored = standings.stored_standings(season_id, uow=database.uow())
    assert stored == standings.recompute_standings(season_id, uow=database.uow())

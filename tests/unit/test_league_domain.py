"""League rules in plain Python: positions, report resolution, points tables, standings order."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain import league
from cozykart.domain.errors import CozyKartError, InvalidInput, NotFound, PermissionDenied
from cozykart.domain.league import (
    DNF,
    InvalidPointsTable,
    InvalidPosition,
    InvalidResults,
    Placing,
    PointsTable,
    Resolution,
    ResultLine,
    compute_standings,
    judge_reports,
    parse_placing,
    points_progression,
    require_valid_order,
    tally,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_domain_imports_only_the_standard_library_and_the_domain():
    source = Path(league.__file__).read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] in {
                "__future__",
                "collections",
                "dataclasses",
                "datetime",
                "enum",
                "fractions",
                "itertools",
                "json",
                "typing",
            } or node.module.startswith("cozykart.domain"), node.module
        if isinstance(node, ast.Import):
            assert all(alias.name in {"json"} for alias in node.names)


def test_every_refusal_is_a_cozykart_error_with_a_message():
    assert issubclass(league.RaceNotFound, NotFound)
    assert issubclass(league.NotTheHost, PermissionDenied)
    assert issubclass(league.NotAMember, PermissionDenied)
    assert issubclass(league.InvalidPosition, InvalidInput)
    for error in (
        league.LobbyFull("Cup"),
        league.AlreadyInLobby("Cup"),
        league.LobbyNotOpen("Cup"),
        league.LobbyTooSmall("Cup", 1),
        league.RaceAlreadyLive("Cup"),
        league.RaceAlreadyLive(),
        league.RaceNotLive("Cup"),
        league.RaceNotStarted("Cup"),
        league.RaceStillLive("Cup"),
        league.RaceAlreadyFinal("Cup"),
        league.RaceNotFinal("Cup"),
        league.RaceCancelled("Cup"),
        league.SeasonAlreadyActive("S"),
        league.SeasonNotActive("S"),
        league.SeasonClosed("S"),
        league.SeasonNameTaken("S"),
        league.SeasonHasUnfinishedRaces("S", ["A", "B"]),
        league.NothingToFix(),
        league.TooManyOpenLobbies(),
        league.ReasonRequired(),
        league.InvalidLobbyName(),
        league.NotTheHost("Cup"),
        league.NotAMember("Cup"),
        league.InvalidPosition("x", 8),
    ):
        assert isinstance(error, CozyKartError)
        assert str(error) == error.message and str(error).endswith(".")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1, Placing(1)),
        ("8", Placing(8)),
        (" 3 ", Placing(3)),
        ("#2", Placing(2)),
        ("1st", Placing(1)),
        ("2nd", Placing(2)),
        ("3rd", Placing(3)),
        ("4th", Placing(4)),
        ("DNF", DNF),
        ("dnf", DNF),
        (DNF, DNF),
    ],
)
def test_positions_racers_can_type(raw, expected):
    assert parse_placing(raw, 8) == expected


@pytest.mark.parametrize(
    "raw", [0, 9, -1, "0", "9", "", " ", "one", "1.0", 1.0, True, False, None, "٣", "²", [1]]
)
def test_positions_that_are_refused(raw):
    with pytest.raises(InvalidPosition, match="1 to 8"):
        parse_placing(raw, 8)


def test_position_range_follows_the_race_size():
    assert parse_placing(3, 3) == Placing(3)
    with pytest.raises(InvalidPosition, match="1 to 3"):
        parse_placing(4, 3)


def test_reports_resolve_to_confirmed_incomplete_or_disputed():
    racers = [1, 2, 3]
    assert judge_reports(racers, {1: Placing(1)}).resolution == Resolution.INCOMPLETE
    assert judge_reports(racers, {1: Placing(2), 2: Placing(1), 3: Placing(3)}).is_confirmed
    assert judge_reports(racers, {1: Placing(1), 2: Placing(2), 3: DNF}).is_confirmed
    assert judge_reports(racers, {1: DNF, 2: DNF, 3: DNF}).is_confirmed
    early = judge_reports(racers, {1: Placing(1), 2: Placing(1)})
    assert early.is_disputed and early.problem == "two racers claim #1"
    gap = judge_reports(racers, {1: Placing(1), 2: Placing(3), 3: DNF})
    assert gap.is_disputed and gap.problem == "nobody finished #2"
    # A gap is not a dispute while someone may still fill it.
    assert judge_reports(racers, {1: Placing(1), 2: Placing(3)}).resolution == Resolution.INCOMPLETE
    # Reports of racers not in the race are ignored.
    assert judge_reports([1, 2], {1: Placing(1), 2: Placing(2), 9: Placing(1)}).is_confirmed


def test_require_valid_order_names_the_problem():
    require_valid_order({1: Placing(1), 2: DNF})
    with pytest.raises(InvalidResults, match="two racers claim #2"):
        require_valid_order({1: Placing(2), 2: Placing(2), 3: Placing(1)})
    with pytest.raises(InvalidResults, match="nobody finished #1"):
        require_valid_order({1: Placing(2), 2: DNF})


@given(st.permutations(range(1, 9)), st.integers(min_value=0, max_value=8))
def test_any_permutation_with_trailing_dnfs_is_confirmed(order, dnf_count):
    racers = list(range(100, 108))
    finishers = 8 - dnf_count
    reports = {}
    for racer, position in zip(racers, order, strict=True):
        reports[racer] = Placing(position) if position <= finishers else DNF
    assert judge_reports(racers, reports).is_confirmed


@given(st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=6)), min_size=6, max_size=6))
def test_confirmed_exactly_when_the_finishers_hold_one_to_f(values):
    racers = list(range(6))
    reports = {
        racer: DNF if value is None else Placing(value) for racer, value in zip(racers, values, strict=True)
    }
    positions = sorted(value for value in values if value is not None)
    valid = positions == list(range(1, len(positions) + 1))
    assert judge_reports(racers, reports).is_confirmed == valid
    assert (league.order_problem(reports) is None) == valid


def test_default_points_table_and_dnf():
    table = PointsTable()
    assert [table.points_for(Placing(p), 8) for p in range(1, 9)] == [15, 12, 10, 8, 6, 4, 2, 1]
    assert table.points_for(DNF, 8) == 0
    assert table.points_for(Placing(3), 3) == 10


def test_per_size_tables_and_short_rows():
    table = PointsTable.build({"default": [10, 5], "2": [3, 1], 4: [9, 6, 3, 0]})
    assert table.points_for(Placing(1), 2) == 3
    assert table.points_for(Placing(4), 4) == 0
    assert table.points_for(Placing(3), 8) == 0  # beyond the row: 0
    assert table.points_for(Placing(1), 5) == 10
    assert PointsTable.from_json(table.to_json()) == table
    assert PointsTable.build([5, 3, 1]).default == (5, 3, 1)
    assert PointsTable.build(None) == PointsTable()


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [1, 2],
        [-1],
        [1.5],
        [True],
        "15,12",
        list(range(9, 0, -1)),
        {"0": [1]},
        {"9": [1]},
        {"x": [1]},
        {"3": [3, 2, 1, 0]},
        [1001],
    ],
)
def test_points_tables_that_are_refused(raw):
    with pytest.raises(InvalidPointsTable):
        PointsTable.build(raw)


def test_split_policies():
    league.check_split_policy("even", 5000)
    league.check_split_policy("winner_bonus", 10_000)
    league.check_split_policy("by_points", 0)
    for policy, bps in (("random", 0), ("even", -1), ("even", 10_001)):
        with pytest.raises(league.InvalidSplitPolicy):
            league.check_split_policy(policy, bps)


# --- standings -------------------------------------------------------------------


def _line(racer_id, race, position, points):
    return ResultLine(racer_id, race, T0 + timedelta(hours=race), position, points)


def _order(lines):
    return [row.racer_id for row in compute_standings(lines)]


def test_points_decide_first():
    assert _order([_line(1, 1, 2, 12), _line(2, 1, 1, 15)]) == [2, 1]


def test_tie_on_points_goes_to_more_wins():
    lines = [_line(1, 1, 1, 15), _line(1, 2, 8, 1), _line(2, 1, 2, 12), _line(2, 2, 5, 4)]
    assert [tally(r, lines).points for r in (1, 2)] == [16, 16]
    assert _order(lines) == [1, 2]


def test_tie_on_points_and_wins_goes_to_the_better_average_finish():
    lines = [_line(1, 1, 2, 10), _line(1, 2, 4, 10), _line(2, 1, 3, 10), _line(2, 2, 2, 10)]
    assert tally(1, lines).average_finish == Fraction(3) and tally(2, lines).average_finish == Fraction(5, 2)
    assert _order(lines) == [2, 1]


def test_a_racer_without_a_finish_ranks_below_one_with_any_average():
    lines = [_line(1, 1, None, 0), _line(2, 1, 8, 0)]
    assert tally(1, lines).average_finish is None
    assert _order(lines) == [2, 1]


def test_last_tie_break_is_who_reached_the_total_first():
    # Same points, no wins, same average (3): racer 2 got all their points in race 1.
    lines = [_line(1, 1, 3, 0), _line(1, 2, 3, 10), _line(2, 1, 3, 10), _line(2, 2, 3, 0)]
    assert (tally(1, lines).reached_race_id, tally(2, lines).reached_race_id) == (2, 1)
    assert _order(lines) == [2, 1]


def test_complete_tie_falls_back_to_racer_id():
    lines = [_line(7, 1, 2, 5), _line(3, 1, 2, 5)]
    assert _order(lines) == [3, 7]


def test_tally_counts_races_wins_podiums_and_points_after_each_race():
    lines = [_line(1, 3, 3, 10), _line(1, 1, 1, 15), _line(1, 2, None, 0), _line(1, 4, 5, 6)]
    row = tally(1, lines)
    assert (row.points, row.wins, row.podiums, row.races, row.finishes) == (31, 1, 2, 4, 3)
    assert row.average_finish == Fraction(9, 3)
    assert row.reached_race_id == 4
    assert [total for _, total in points_progression(lines)] == [15, 15, 25, 31]
    assert tally(2, lines) is None


@given(
    st.lists(
        st.tuples(
            st.integers(1, 6), st.integers(1, 30), st.one_of(st.none(), st.integers(1, 8)), st.integers(0, 15)
        ),
        max_size=60,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_standings_are_ordered_by_the_rules_pairwise(raw):
    lines = [_line(racer, race, position, points) for racer, race, position, points in raw]
    rows = compute_standings(lines)
    assert sorted(row.racer_id for row in rows) == sorted({line.racer_id for line in lines})
    for better, worse in itertools.pairwise(rows):
        a, b = better, worse
        key_a = (
            -a.points,
            -a.wins,
            a.average_finish is None,
            a.average_finish or 0,
            (a.reached_started_at, a.reached_race_id),
            a.racer_id,
        )
        key_b = (
            -b.points,
            -b.wins,
            b.average_finish is None,
            b.average_finish or 0,
            (b.reached_started_at, b.reached_race_id),
            b.racer_id,
        )
        assert key_a < key_b
    for row in rows:
        own = [line for line in lines if line.racer_id == row.racer_id]
        assert row.points == sum(line.points for line in own)
        assert row.races == len(own)
        assert row.wins == sum(1 for line in own if line.position == 1)

"""League rules at their edges (domain/league.py): names, positions, points tables, split policies, tallies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain import league
from cozykart.domain.league import (
    DNF,
    FIX_REASON_LENGTH_MAX,
    LOBBY_NAME_LENGTH_MAX,
    POINTS_PER_POSITION_MAX,
    InvalidLobbyName,
    InvalidPointsTable,
    InvalidPosition,
    InvalidResults,
    InvalidSplitPolicy,
    Placing,
    PointsTable,
    RacerTally,
    ReasonRequired,
    Resolution,
    ResultLine,
    check_split_policy,
    clean_lobby_name,
    clean_reason,
    compute_standings,
    judge_reports,
    order_problem,
    parse_placing,
    points_progression,
    require_valid_order,
    standing_key,
    tally,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def message_of(error_type, call, *args):
    with pytest.raises(error_type) as caught:
        call(*args)
    return str(caught.value)


# --- names and reasons --------------------------------------------------------


def test_a_lobby_name_is_trimmed_and_collapsed():
    assert clean_lobby_name("  Friday   night\tcup ") == "Friday night cup"
    assert clean_lobby_name("x") == "x"
    assert clean_lobby_name("n" * LOBBY_NAME_LENGTH_MAX) == "n" * LOBBY_NAME_LENGTH_MAX


@pytest.mark.parametrize("raw", ["", "   ", None, "n" * (LOBBY_NAME_LENGTH_MAX + 1)])
def test_lobby_names_that_are_refused(raw):
    assert (
        message_of(InvalidLobbyName, clean_lobby_name, raw) == "Give the lobby a name of 1 to 60 characters."
    )


def test_a_fix_reason_is_trimmed_and_bounded():
    assert clean_reason("  wrong   order ") == "wrong order"
    assert clean_reason("r") == "r"
    assert clean_reason("r" * FIX_REASON_LENGTH_MAX) == "r" * FIX_REASON_LENGTH_MAX
    for raw in ("", " ", None, "r" * (FIX_REASON_LENGTH_MAX + 1)):
        assert (
            message_of(ReasonRequired, clean_reason, raw)
            == "Say why the result is fixed (1 to 500 characters)."
        )


# --- positions ----------------------------------------------------------------


def test_a_placing_describes_itself():
    assert Placing(3).describe() == "#3"
    assert DNF.describe() == "DNF"
    assert DNF.dnf and not Placing(1).dnf


@pytest.mark.parametrize(
    ("raw", "racer_count", "position"),
    [
        ("1st", 8, 1),
        ("2nd", 8, 2),
        ("3rd", 8, 3),
        ("4th", 8, 4),
        ("#5", 8, 5),
        (" 6 ", 8, 6),
        ("8", 8, 8),
        (1, 1, 1),
        (Placing(2), 2, 2),
        ("DNF", 4, None),
        ("did not finish", 4, None),
        (DNF, 2, None),
    ],
)
def test_positions_at_the_edges_of_the_race(raw, racer_count, position):
    assert parse_placing(raw, racer_count) == Placing(position)


@pytest.mark.parametrize(
    "raw", [0, 5, "0", "5", "5th", "1 st", "st", "\u0663", "1.0", 1.0, True, Placing(5), [1]]
)
def test_positions_outside_a_four_racer_race_are_refused_with_the_range(raw):
    message = message_of(InvalidPosition, parse_placing, raw, 4)
    assert message == f"{raw!r} is not a finishing position: give a whole number from 1 to 4, or DNF."


@pytest.mark.parametrize("raw", ["", "  ", None])
def test_an_unchosen_position_is_refused_asking_for_a_choice(raw):
    message = message_of(InvalidPosition, parse_placing, raw, 4)
    assert message == "Choose a finishing position: 1 to 4, or DNF."


# --- results ------------------------------------------------------------------


def test_order_problems_are_named():
    assert order_problem({1: Placing(1), 2: Placing(1)}) == "two racers claim #1"
    assert order_problem({1: Placing(1), 2: Placing(3)}) == "#3 is beyond the 2 racers"
    assert order_problem({1: Placing(1), 2: Placing(3), 3: DNF}) == "nobody finished #2"
    assert order_problem({1: Placing(2), 2: DNF}) == "nobody finished #1"
    assert order_problem({1: DNF, 2: DNF}) is None
    assert order_problem({1: Placing(2), 2: Placing(1)}) is None


def test_require_valid_order_refuses_with_the_problem():
    assert message_of(InvalidResults, require_valid_order, {1: Placing(2)}) == (
        "Those results are not a finishing order: #2 is beyond the 1 racers. Fix the table and try again."
    )
    assert require_valid_order({1: Placing(1)}) is None


def test_reports_of_a_race_resolve_as_they_come_in():
    assert judge_reports([1, 2], {1: Placing(1)}).resolution == Resolution.INCOMPLETE
    assert judge_reports([1, 2], {1: Placing(1), 2: None}).resolution == Resolution.INCOMPLETE
    disputed = judge_reports([1, 2, 3], {1: Placing(2), 2: Placing(2)})
    assert disputed.is_disputed and disputed.problem == "two racers claim #2"
    gap = judge_reports([1, 2], {1: Placing(1), 2: Placing(2), 3: Placing(3)})
    assert gap.is_confirmed and gap.problem is None
    both_dnf = judge_reports([1, 2], {1: DNF, 2: DNF})
    assert both_dnf.is_confirmed
    hole = judge_reports([1, 2], {1: Placing(2), 2: DNF})
    assert hole.is_disputed and not hole.is_confirmed and hole.problem == "nobody finished #1"


# --- points tables ------------------------------------------------------------


def test_equal_points_for_neighbouring_positions_are_allowed():
    """`[10, 5, 0, 0]`: a worse position may score the same, never more."""
    assert PointsTable.build([10, 5, 0, 0]).default == (10, 5, 0, 0)
    assert PointsTable.build([0, 0]).default == (0, 0)


def test_a_one_value_table_and_the_bounds_of_a_value():
    assert PointsTable.build([1]).default == (1,)
    assert PointsTable.build([POINTS_PER_POSITION_MAX, 0]).default == (1000, 0)
    assert PointsTable.build([1] * 8).default == (1,) * 8
    assert PointsTable.build({"2": [1, 0]}).row_for(2) == (1, 0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "the default row needs 1 to 8 values, got 0."),
        ([1] * 9, "the default row needs 1 to 8 values, got 9."),
        ({"3": [3, 2, 1, 0]}, "the 3-racer row needs 1 to 3 values, got 4."),
        ({"1": []}, "the 1-racer row needs 1 to 1 values, got 0."),
        ([POINTS_PER_POSITION_MAX + 1], "the default row: points are whole numbers from 0 to 1000."),
        ([-1], "the default row: points are whole numbers from 0 to 1000."),
        ([True, False], "the default row: points are whole numbers from 0 to 1000."),
        ([2.5], "the default row: points are whole numbers from 0 to 1000."),
        ({"2": [0, 1]}, "the 2-racer row: a better position never scores fewer points than a worse one."),
        ([5, 6], "the default row: a better position never scores fewer points than a worse one."),
        ("15,12", "A points row is a list of whole numbers, best position first."),
        ({"default": 5}, "A points row is a list of whole numbers, best position first."),
        ({"four": [1]}, "Points table rows are keyed by race size (1..8) or 'default', not 'four'."),
        ({"0": [1]}, "A race has 1 to 8 racers; there is no size 0."),
        ({"9": [1]}, "A race has 1 to 8 racers; there is no size 9."),
    ],
)
def test_points_tables_that_are_refused_say_why(raw, message):
    assert message_of(InvalidPointsTable, PointsTable.build, raw) == message


def test_a_points_table_is_checked_however_it_is_made():
    with pytest.raises(InvalidPointsTable):
        PointsTable(default=(1, 2))
    with pytest.raises(InvalidPointsTable):
        PointsTable(by_size=((2, (1, 2, 3)),))


def test_rows_by_size_and_the_default_for_the_rest():
    table = PointsTable.build({"default": [9, 5, 1], 4: [4, 3, 2, 1], "1": [7]})
    assert table.default == (9, 5, 1)
    assert table.by_size == ((1, (7,)), (4, (4, 3, 2, 1)))
    assert table.row_for(4) == (4, 3, 2, 1)
    assert table.row_for(1) == (7,)
    assert table.row_for(3) == (9, 5, 1)
    assert table.points_for(Placing(3), 3) == 1
    assert table.points_for(Placing(4), 5) == 0  # beyond its row
    assert table.points_for(DNF, 4) == 0
    assert table.points_for(Placing(1), 1) == 7
    with pytest.raises(AssertionError):
        table.points_for(Placing(3), 2)
    assert PointsTable.build(None) == PointsTable()
    assert PointsTable.build({}).default == league.DEFAULT_POINTS_TABLE


def test_a_points_table_is_stored_as_compact_json():
    table = PointsTable.build({"default": [3, 1], "2": [2, 0]})
    assert table.to_json() == '{"default":[3,1],"2":[2,0]}'
    assert PointsTable.from_json(table.to_json()) == table
    assert json.loads(PointsTable().to_json()) == {"default": [15, 12, 10, 8, 6, 4, 2, 1]}


# --- split policies -----------------------------------------------------------


@pytest.mark.parametrize("bonus_bps", [0, 1, 5000, 9999, 10_000])
@pytest.mark.parametrize("policy", ["even", "winner_bonus", "by_points"])
def test_every_split_policy_accepts_a_bonus_from_0_to_100_percent(policy, bonus_bps):
    assert check_split_policy(policy, bonus_bps) is None


@pytest.mark.parametrize("bonus_bps", [-1, 10_001, True])
def test_a_bonus_outside_0_to_100_percent_is_refused(bonus_bps):
    assert message_of(InvalidSplitPolicy, check_split_policy, "winner_bonus", bonus_bps) == (
        "The winner's bonus is 0 to 10000 basis points (0% to 100%) of the pool."
    )


def test_an_unknown_split_policy_is_refused():
    assert message_of(InvalidSplitPolicy, check_split_policy, "winner_takes_all", 5000) == (
        "Split policy must be one of even, winner_bonus, by_points; got 'winner_takes_all'."
    )


# --- standings ----------------------------------------------------------------


def line(
    racer_id: int, race_id: int, position: int | None, points: int, *, day: int | None = None
) -> ResultLine:
    return ResultLine(
        racer_id, race_id, T0 + timedelta(days=day if day is not None else race_id), position, points
    )


def test_a_tally_counts_only_its_racer_in_race_order():
    lines = [line(1, 2, 3, 10), line(2, 1, 1, 15), line(1, 1, 1, 15), line(1, 3, None, 0), line(1, 4, 4, 0)]
    row = tally(1, lines)
    assert (row.points, row.wins, row.podiums, row.races, row.finishes, row.position_sum) == (
        25,
        1,
        2,
        4,
        3,
        8,
    )
    assert (row.reached_started_at, row.reached_race_id) == (T0 + timedelta(days=2), 2)
    assert row.average_finish == league.Fraction(8, 3)
    assert tally(3, lines) is None


def test_a_racer_who_never_scored_reached_their_total_at_their_first_race():
    row = tally(1, [line(1, 5, None, 0), line(1, 2, 4, 0)])
    assert row.reached_race_id == 2 and row.points == 0 and row.podiums == 0
    assert row.average_finish == 4
    assert tally(1, [line(1, 1, None, 0)]).average_finish is None


def test_fourth_is_not_a_podium():
    assert tally(1, [line(1, 1, 4, 8)]).podiums == 0
    assert tally(1, [line(1, 1, 3, 10)]).podiums == 1


def test_the_standing_key_orders_every_tie_break():
    row = tally(7, [line(7, 1, 2, 12)])
    assert standing_key(row) == (-12, 0, False, 2, T0 + timedelta(days=1), 1, 7)
    no_finish = tally(8, [line(8, 1, None, 0)])
    assert standing_key(no_finish) == (0, 0, True, 0, T0 + timedelta(days=1), 1, 8)


def test_standings_rank_best_first():
    lines = [line(1, 1, 2, 12), line(2, 1, 1, 15), line(3, 1, None, 0), line(4, 1, 3, 12, day=1)]
    assert [row.racer_id for row in compute_standings(lines)] == [2, 1, 4, 3]
    assert compute_standings([]) == []


def test_points_progression_runs_the_total_in_race_order():
    lines = [line(1, 2, 1, 15), line(1, 1, 2, 12)]
    assert [(entry.race_id, total) for entry, total in points_progression(lines)] == [(1, 12), (2, 27)]


def test_a_tally_refuses_impossible_counts():
    values = dict(
        racer_id=1,
        points=0,
        wins=0,
        podiums=0,
        races=1,
        finishes=0,
        position_sum=0,
        reached_started_at=T0,
        reached_race_id=1,
    )
    assert RacerTally(**values).races == 1
    for bad in (
        {"races": 0},
        {"finishes": 2},
        {"wins": 1},
        {"podiums": 1},
        {"points": -1},
        {"finishes": 1, "position_sum": 0},
    ):
        with pytest.raises(AssertionError):
            RacerTally(**{**values, **bad})


@given(st.lists(st.tuples(st.integers(1, 4), st.sampled_from([None, 1, 2, 3, 4])), min_size=1, max_size=12))
def test_a_tally_adds_up_its_lines(results):
    lines = [
        line(racer_id, race_id, position, 0 if position is None else 5 - position)
        for race_id, (racer_id, position) in enumerate(results, start=1)
    ]
    for row in compute_standings(lines):
        own = [entry for entry in lines if entry.racer_id == row.racer_id]
        assert row.races == len(own)
        assert row.points == sum(entry.points for entry in own)
        assert row.wins == sum(entry.position == 1 for entry in own)
        assert row.finishes == sum(entry.position is not None for entry in own)


# --- the errors' messages -----------------------------------------------------


def test_refusals_say_what_to_do_next():
    assert str(league.RaceNotFound(4)) == "There is no race #4."
    assert str(league.SeasonNotFound(2)) == "There is no season #2."
    assert str(league.SeasonNotFound()) == "There is no season yet."
    assert str(league.RacerNotFound(9)) == "There is no racer #9."
    assert (
        str(league.RaceAlreadyLive("Cup")) == "'Cup' is live right now; end it before starting another race."
    )
    assert (
        str(league.RaceAlreadyLive())
        == "Another race is live right now; end it before starting another race."
    )
    assert str(league.SeasonHasUnfinishedRaces("S1", ["A", "B"])) == (
        "'S1' still has races without final results ('A', 'B'); finish them first."
    )
    assert str(league.NothingToFix()) == "Those results are already what the fix asks for; nothing changed."

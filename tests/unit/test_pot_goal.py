"""The pot goal's rules: what a goal may be, and how far the pool got toward it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cozykart.domain.errors import InvalidInput
from cozykart.domain.pot_goal import (
    GOAL_CENTS_MAX,
    GoalProgress,
    is_reached,
    parse_goal_cents,
    percent_of,
    validate_goal_cents,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [("250", 25000), ("$1,000.50", 100050), (".99", 99), (" 40 ", 4000), ("1000000", GOAL_CENTS_MAX)],
)
def test_a_goal_is_parsed_like_every_money_input(text, cents):
    assert parse_goal_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Enter an amount"),
        ("0", "must be positive"),
        ("0.00", "must be positive"),
        ("-5", "must be positive"),
        ("1.005", "two decimals"),
        ("1e5", "is not an amount"),
        ("nan", "is not an amount"),
        ("1000000.01", r"above the limit of \$1,000,000\.00"),
    ],
)
def test_a_bad_goal_is_refused_with_words_a_person_can_act_on(text, words):
    with pytest.raises(InvalidInput, match=words):
        parse_goal_cents(text)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, GOAL_CENTS_MAX + 1, "100"])
def test_only_positive_whole_cents_up_to_the_limit_are_a_goal(value):
    with pytest.raises(InvalidInput):
        validate_goal_cents(value)


def test_percent_is_floored_and_kept_between_0_and_100():
    assert percent_of(0, 1000) == 0
    assert percent_of(999, 1000) == 99  # never rounds up to "done"
    assert percent_of(1000, 1000) == 100
    assert percent_of(5000, 1000) == 100
    assert percent_of(10, 0) == 0
    assert is_reached(1000, 1000) and not is_reached(999, 1000)


def test_a_reached_goal_stays_full_after_a_refund_lowered_the_pool():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    assert GoalProgress(1, goal_cents=1000, pool_cents=400, reached_at=None).percent == 40
    reached = GoalProgress(1, goal_cents=1000, pool_cents=400, reached_at=at)
    assert reached.reached and reached.percent == 100

"""Money at its edges (domain/money.py): what people type, the limits, basis points, both allocators."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain.errors import InvalidInput
from cozykart.domain.money import (
    AMOUNT_CENTS_MAX,
    AMOUNT_TEXT_LENGTH_MAX,
    allocate,
    allocate_in_order,
    bps_part,
    format_cents,
    parse_amount_cents,
    require_positive_cents,
    tie_break_order,
)


def refused(call, *args) -> str:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("$ 20", 2000),
        (" 20 ", 2000),
        ("20.5", 2050),
        ("3.05", 305),
        (".99", 99),
        ("0.01", 1),
        ("5.", 500),
        ("€1,234.56", 123456),
        ("1,000,000", 100_000_000),
        ("100000000", AMOUNT_CENTS_MAX),
        ("100,000,000.00", AMOUNT_CENTS_MAX),
        ("0", 0),
    ],
)
def test_amounts_people_type_at_the_edges(text, cents):
    assert parse_amount_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an amount, like 20.00."),
        ("   ", "Enter an amount, like 20.00."),
        ("-5", "The amount must be positive."),
        ("\u22125", "The amount must be positive."),
        ("1.005", "Amounts have at most two decimals (whole cents)."),
        ("1" * (AMOUNT_TEXT_LENGTH_MAX + 1), "That amount is too long to be real."),
        ("100000000.01", "The amount is above the limit of $100,000,000.00."),
        ("$", "'$' is not an amount; write it like 20 or 20.50."),
        (".", "'.' is not an amount; write it like 20 or 20.50."),
        ("1,00", "'1,00' is not an amount; write it like 20 or 20.50."),
        (" 2e3 ", "'2e3' is not an amount; write it like 20 or 20.50."),
        ("20$", "'20$' is not an amount; write it like 20 or 20.50."),
    ],
)
def test_amounts_that_are_refused_say_what_to_type(text, message):
    assert refused(parse_amount_cents, text) == message


def test_an_amount_at_the_length_limit_is_read():
    text = "0" * (AMOUNT_TEXT_LENGTH_MAX - 3) + "1.5"
    assert len(text) == AMOUNT_TEXT_LENGTH_MAX
    assert parse_amount_cents(text) == 150


def test_an_amount_must_be_text():
    assert refused(parse_amount_cents, 20) == "Type the amount as text, like 20.00."


def test_positive_cents_from_one_to_the_limit():
    assert require_positive_cents(1) == 1
    assert require_positive_cents(AMOUNT_CENTS_MAX) == AMOUNT_CENTS_MAX
    assert refused(require_positive_cents, 0, "The tip") == "The tip must be positive."
    assert refused(require_positive_cents, -1) == "The amount must be positive."
    assert refused(require_positive_cents, AMOUNT_CENTS_MAX + 1, "The payout") == (
        "The payout is above the limit of $100,000,000.00."
    )
    for value in (True, 1.0, "1"):
        assert refused(require_positive_cents, value) == "The amount must be a whole number of cents."


def test_format_cents_at_the_edges():
    assert format_cents(0) == "$0.00"
    assert format_cents(-1) == "-$0.01"
    assert format_cents(100, "usd") == "$1.00"
    assert format_cents(123456, "chf") == "1,234.56 CHF"
    assert format_cents(-5, "CHF") == "-0.05 CHF"
    with pytest.raises(AssertionError):
        format_cents(True)


def test_bps_part_at_0_and_100_percent():
    assert bps_part(999, 0) == 0
    assert bps_part(999, 10_000) == 999
    assert bps_part(999, 3333) == 332
    for amount, rate in ((-1, 0), (1, -1), (1, 10_001)):
        with pytest.raises(AssertionError):
            bps_part(amount, rate)


def test_the_tie_break_order_is_a_shuffle_of_every_index_by_the_seed():
    assert sorted(tie_break_order(8, "a")) == list(range(8))
    orders = {tuple(tie_break_order(4, f"payment:{n}")) for n in range(50)}
    assert len(orders) > 10
    assert tie_break_order(4, "x") == tie_break_order(4, "x")


def test_allocate_gives_odd_cents_to_the_largest_remainders_first():
    assert allocate(10, [1, 1, 1], seed="s").count(4) == 1
    assert allocate(100, [2, 1], seed="s") == [67, 33]
    assert allocate(5, [0, 1], seed="s") == [0, 5]
    assert allocate(0, [3, 1], seed="s") == [0, 0]
    assert allocate(2, [49, 49, 2], seed="s") == [1, 1, 0]


def test_allocate_refuses_what_it_cannot_split():
    for total, weights in ((-1, [1]), (1, []), (1, [0, 0]), (1, [-1, 2]), (1, [1.5])):
        with pytest.raises(AssertionError):
            allocate(total, weights, seed="s")


def test_the_odd_cent_of_300_sales_spreads_with_the_seed():
    got = Counter(allocate(1, [1, 1], seed=f"payment:{sale}").index(1) for sale in range(300))
    assert 100 <= got[0] <= 200


@given(st.integers(0, 10_000), st.lists(st.integers(0, 50), min_size=1, max_size=8).filter(any), st.randoms())
def test_allocate_in_order_is_the_floor_or_ceiling_of_each_exact_share(total, weights, random):
    order = list(range(len(weights)))
    random.shuffle(order)
    shares = allocate_in_order(total, weights, order=order)
    weight_total = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        floor_cents = total * weight // weight_total
        ceiling_cents = -(-total * weight // weight_total)
        assert floor_cents <= share <= ceiling_cents
    assert sum(shares) == total


def test_allocate_in_order_deals_odd_cents_in_order_and_never_to_a_zero_weight():
    assert allocate_in_order(1, [1, 1, 1], order=[2, 0, 1]) == [0, 0, 1]
    assert allocate_in_order(2, [1, 1, 1], order=[2, 0, 1]) == [1, 0, 1]
    assert allocate_in_order(5, [0, 2, 2], order=[0, 1, 2]) == [0, 3, 2]
    assert allocate_in_order(7, [3, 0], order=[1, 0]) == [7, 0]
    assert allocate_in_order(0, [1, 2], order=[0, 1]) == [0, 0]
    for total, weights, order in ((1, [1, 1], [0, 0]), (1, [0, 0], [0, 1]), (-1, [1], [0]), (1, [], [])):
        with pytest.raises(AssertionError):
            allocate_in_order(total, weights, order=order)

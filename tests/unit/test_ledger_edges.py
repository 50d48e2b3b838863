"""Ledger rules at their edges (domain/ledger.py): holds on built postings, every split policy at 1, 2 and 8
racers and at 0%/100% bonus, odd-cent rotation, clawbacks, wallets, payouts, reasons, account codes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain import ledger
from cozykart.domain.events import RaceOutcome, RaceResult, SplitRule
from cozykart.domain.ledger import (
    CLEARING,
    COSTS,
    DESCRIPTION_LENGTH_MAX,
    HOUSE,
    PAYOUTS_SENT,
    AccountKind,
    BelowPayoutThreshold,
    DebtBlocksPayout,
    InsufficientFunds,
    Posting,
    RefundTooLarge,
    Transaction,
    TransactionBuilder,
    TransactionKind,
    WalletBalances,
    check_payout_request,
    clawback_shares,
    in_flight_account,
    pool_account,
    race_holdings,
    race_split_order,
    require_payout_method,
    require_reason,
    season_deviation,
    split_pool,
    split_weights,
    wallet_account,
    wallet_balances,
)
from cozykart.domain.money import format_cents

NOW = datetime(2026, 11, 1, tzinfo=UTC)
HELD_UNTIL = NOW + timedelta(days=14)
TABLE = (15, 12, 10, 8, 6, 4, 2, 1)


def outcome(policy: str, racer_count: int, *, bonus_bps: int = 5000, winner: int | None = 1) -> RaceOutcome:
    """Racers 1..racer_count finish in id order from `winner` (None: nobody finished)."""
    racer_ids = tuple(range(1, racer_count + 1))
    results = []
    for racer_id in racer_ids:
        position = None if winner is None else (racer_id - winner) % racer_count + 1
        results.append(
            RaceResult(racer_id, position, position is None, TABLE[position - 1] if position else 0)
        )
    return RaceOutcome(1, "Rainbow Road", 1, "final", racer_ids, tuple(results), SplitRule(policy, bonus_bps))


def shares(policy: str, racer_count: int, pool_cents: int, **options) -> list[int]:
    split = split_pool(pool_cents, split_weights(outcome(policy, racer_count, **options)), seed="payment:1")
    return [split[racer_id] for racer_id in sorted(split)]


# --- holds on a built posting -------------------------------------------------


def built(*posts) -> dict[str, Posting]:
    builder = TransactionBuilder()
    for account, amount_cents, available_at in posts:
        builder.post(account, amount_cents, "sale", payment_id=7, available_at=available_at)
    transaction = builder.build(
        key="k", kind=TransactionKind.ADJUSTMENT, description="d", reference="r", occurred_at=NOW
    )
    return {posting.account.code: posting for posting in transaction.postings}


def test_a_one_cent_credit_is_held():
    postings = built((wallet_account(1), 1, HELD_UNTIL), (HOUSE, -1, None))
    assert postings["racer:1:wallet"].available_at == HELD_UNTIL
    assert postings["racer:1:wallet"].amount_cents == 1


def test_a_debit_never_carries_a_hold_date():
    postings = built((wallet_account(1), -5, HELD_UNTIL), (HOUSE, 5, None))
    assert postings["racer:1:wallet"].available_at is None


def test_a_merged_credit_keeps_its_hold():
    postings = built(
        (wallet_account(1), 300, HELD_UNTIL), (wallet_account(1), 200, None), (HOUSE, -500, None)
    )
    assert postings["racer:1:wallet"].amount_cents == 500
    assert postings["racer:1:wallet"].available_at == HELD_UNTIL
    later = built((wallet_account(1), 300, None), (wallet_account(1), 200, HELD_UNTIL), (HOUSE, -500, None))
    assert later["racer:1:wallet"].available_at == HELD_UNTIL


def test_a_merged_posting_keeps_its_first_description_and_cancelling_postings_vanish():
    builder = TransactionBuilder()
    builder.post(wallet_account(1), 300, "first", payment_id=1)
    builder.post(wallet_account(1), 200, "second", payment_id=1)
    builder.post(wallet_account(2), 100, "gone", payment_id=1)
    builder.post(wallet_account(2), -100, "gone", payment_id=1)
    builder.post(wallet_account(1), 50, "other payment", payment_id=2)
    builder.post(HOUSE, 0, "nothing")
    builder.post(HOUSE, -550, "house")
    assert [
        (p.account.code, p.payment_id, p.amount_cents, p.description) for p in builder.postings.values()
    ] == [
        ("racer:1:wallet", 1, 500, "first"),
        ("racer:1:wallet", 2, 50, "other payment"),
        ("house", None, -550, "house"),
    ]
    assert set(builder.accounts) == {"racer:1:wallet", "racer:2:wallet", "house"}


def test_a_description_is_cut_to_300_characters_and_a_longer_one_is_never_stored():
    builder = TransactionBuilder()
    builder.post(HOUSE, 1, "d" * (DESCRIPTION_LENGTH_MAX + 50))
    assert builder.postings[("house", None)].description == "d" * DESCRIPTION_LENGTH_MAX
    assert Posting(HOUSE, 1, "d" * DESCRIPTION_LENGTH_MAX).description == "d" * DESCRIPTION_LENGTH_MAX
    for description in ("", "d" * (DESCRIPTION_LENGTH_MAX + 1)):
        with pytest.raises(AssertionError):
            Posting(HOUSE, 1, description)
    for amount in (0, True, 1.0):
        with pytest.raises(AssertionError):
            Posting(HOUSE, amount, "d")


def test_a_transaction_needs_a_key_a_zone_postings_that_balance_and_a_limit():
    postings = (Posting(HOUSE, 5, "d"), Posting(CLEARING, -5, "d"))
    fields = dict(key="k", kind=TransactionKind.ADJUSTMENT, description="d", reference="r", occurred_at=NOW)
    assert Transaction(postings=postings, **fields).postings == postings
    for bad in (
        {"key": ""},
        {"occurred_at": NOW.replace(tzinfo=None)},
        {"postings": ()},
        {"postings": (Posting(HOUSE, 5, "d"),)},
    ):
        with pytest.raises(AssertionError):
            Transaction(**{**fields, "postings": postings, **bad})
    with pytest.raises(AssertionError):
        Transaction(**fields, postings=(Posting(HOUSE, 1, "d"), Posting(HOUSE, -1, "d")) * 50_001)


# --- split policies at 1, 2 and 8 racers --------------------------------------


def test_winner_bonus_with_two_racers_pays_the_winner_70_percent():
    assert shares("winner_bonus", 2, 1000, bonus_bps=7000) == [700, 300]
    assert shares("winner_bonus", 2, 1000, bonus_bps=7000, winner=2) == [300, 700]


@pytest.mark.parametrize(
    ("racer_count", "bonus_bps", "expected"),
    [
        (1, 0, [1000]),
        (1, 7000, [1000]),
        (1, 10_000, [1000]),
        (2, 0, [0, 1000]),
        (2, 10_000, [1000, 0]),
        (2, 5000, [500, 500]),
        (8, 0, [0, 143, 143, 143, 143, 143, 143, 142]),
        (8, 10_000, [1000, 0, 0, 0, 0, 0, 0, 0]),
        (8, 3000, [300, 100, 100, 100, 100, 100, 100, 100]),
    ],
)
def test_winner_bonus_at_1_2_and_8_racers_and_at_0_and_100_percent(racer_count, bonus_bps, expected):
    split = shares("winner_bonus", racer_count, 1000, bonus_bps=bonus_bps)
    assert sum(split) == 1000
    assert sorted(split[1:]) == sorted(expected[1:]) and split[0] == expected[0]


def test_winner_bonus_weights_are_the_bonus_times_the_others():
    assert split_weights(outcome("winner_bonus", 3, bonus_bps=7000)) == {1: 14_000, 2: 3000, 3: 3000}
    assert split_weights(outcome("winner_bonus", 2, bonus_bps=0)) == {1: 0, 2: 10_000}
    assert split_weights(outcome("winner_bonus", 2, bonus_bps=10_000)) == {1: 10_000, 2: 0}
    assert split_weights(outcome("winner_bonus", 1, bonus_bps=7000)) == {1: 1}


@pytest.mark.parametrize("bonus_bps", [0, 10_000])
@pytest.mark.parametrize("racer_count", [1, 2, 8])
def test_a_race_at_0_or_100_percent_is_distributed_payment_by_payment(racer_count, bonus_bps):
    weights = split_weights(outcome("winner_bonus", racer_count, bonus_bps=bonus_bps))
    order = race_split_order(1, weights, {})
    holdings = race_holdings([(1, 999), (2, 1), (3, 1000)], weights, order)
    totals = Counter()
    for column in holdings.values():
        totals.update(column)
    assert sum(totals.values()) == 2000
    if racer_count == 1 or bonus_bps == 10_000:
        assert totals[1] == 2000
    else:
        assert totals[1] == 0


def test_winner_bonus_without_one_winner_is_even():
    assert split_weights(outcome("winner_bonus", 3, winner=None)) == {1: 1, 2: 1, 3: 1}
    tied = RaceOutcome(
        1,
        "R",
        1,
        "final",
        (1, 2),
        (RaceResult(1, 1, False, 15), RaceResult(2, 1, False, 15)),
        SplitRule("winner_bonus", 7000),
    )
    assert split_weights(tied) == {1: 1, 2: 1}
    stranger = RaceOutcome(
        1, "R", 1, "final", (1, 2), (RaceResult(9, 1, False, 15),), SplitRule("winner_bonus", 7000)
    )
    assert split_weights(stranger) == {1: 1, 2: 1}
    dnf_first = RaceOutcome(
        1, "R", 1, "final", (1, 2), (RaceResult(1, 1, True, 0),), SplitRule("winner_bonus", 7000)
    )
    assert split_weights(dnf_first) == {1: 1, 2: 1}


@pytest.mark.parametrize("racer_count", [1, 2, 8])
def test_even_split_at_1_2_and_8_racers(racer_count):
    split = shares("even", racer_count, 1001)
    assert sum(split) == 1001 and max(split) - min(split) <= 1
    assert split_weights(outcome("even", racer_count)) == dict.fromkeys(range(1, racer_count + 1), 1)


@pytest.mark.parametrize(
    ("racer_count", "expected"), [(1, [1000]), (2, [556, 444]), (8, [259, 207, 172, 138, 103, 69, 35, 17])]
)
def test_by_points_at_1_2_and_8_racers(racer_count, expected):
    assert shares("by_points", racer_count, 1000) == expected


def test_by_points_counts_no_negative_points_and_is_even_when_nobody_scored():
    negative = RaceOutcome(
        1,
        "R",
        1,
        "final",
        (1, 2),
        (RaceResult(1, 1, False, 5), RaceResult(2, 2, False, -3)),
        SplitRule("by_points", 0),
    )
    assert split_weights(negative) == {1: 5, 2: 0}
    assert split_weights(outcome("by_points", 3, winner=None)) == {1: 1, 2: 1, 3: 1}


def test_an_empty_roster_has_no_weights_and_a_repeated_racer_counts_once():
    assert split_weights(RaceOutcome(1, "R", 1, "final", (), (), SplitRule("even", 0))) == {}
    assert split_weights(RaceOutcome(1, "R", 1, "final", (2, 2, 1), (), SplitRule("even", 0))) == {1: 1, 2: 1}


def test_split_pool_names_each_racer_by_id():
    assert split_pool(1000, {5: 3, 2: 1}, seed="s") == {2: 250, 5: 750}


# --- odd cents rotate ---------------------------------------------------------


def test_the_odd_cent_of_300_sales_goes_to_either_racer():
    winners = Counter(
        racer_id
        for sale in range(300)
        for racer_id, cents in split_pool(1, {1: 1, 2: 1}, seed=f"payment:{sale}").items()
        if cents
    )
    assert 100 <= winners[1] <= 200 and winners[1] + winners[2] == 300


def test_one_cent_clawbacks_take_from_every_wallet_in_turn():
    hit = Counter(
        code
        for refund in range(300)
        for code, cents in clawback_shares(
            1, {"racer:1:wallet": 50, "racer:2:wallet": 50}, seed=f"refund:{refund}"
        ).items()
        if cents
    )
    assert 100 <= hit["racer:1:wallet"] <= 200 and sum(hit.values()) == 300


def test_the_first_in_line_for_a_race_rotates_with_the_race():
    firsts = Counter(race_split_order(race_id, [1, 2, 3, 4], {})[0] for race_id in range(400))
    assert set(firsts) == {1, 2, 3, 4} and min(firsts.values()) >= 60


def test_the_racer_the_season_owes_most_is_first_in_line():
    deviation = {1: Fraction(1, 2), 2: Fraction(-1, 2), 3: Fraction(0)}
    for race_id in range(20):
        assert race_split_order(race_id, [1, 2, 3, 3], deviation) == (2, 3, 1)


def test_season_deviation_is_cents_held_minus_the_exact_share():
    races = [({1: 1, 2: 1}, {1: 51, 2: 50}), ({1: 1, 2: 2}, {1: 34, 2: 66}), ({}, {3: 5})]
    assert season_deviation(races) == {
        1: Fraction(1, 2) + Fraction(2, 3),
        2: Fraction(-1, 2) - Fraction(2, 3),
        3: Fraction(5),
    }
    assert season_deviation([]) == {}


def test_race_holdings_split_each_payment_so_the_totals_are_the_whole_pools_split():
    holdings = race_holdings([(10, 1), (11, 1), (12, 1)], {1: 1, 2: 1, 3: 1}, (3, 1, 2))
    assert holdings == {10: {1: 0, 2: 0, 3: 1}, 11: {1: 1, 2: 0, 3: 0}, 12: {1: 0, 2: 1, 3: 0}}
    with pytest.raises(AssertionError):
        race_holdings([(10, 1)], {1: 1, 2: 1}, (1,))
    with pytest.raises(AssertionError):
        race_holdings([(10, -1)], {1: 1}, (1,))


# --- clawbacks ----------------------------------------------------------------


def test_a_clawback_takes_in_proportion_to_what_each_account_still_holds():
    credited = {"house": 600, "racer:1:wallet": 300, "racer:2:wallet": 100, "racer:3:wallet": 0, "costs": -5}
    assert clawback_shares(1000, credited, seed="r") == {
        "house": 600,
        "racer:1:wallet": 300,
        "racer:2:wallet": 100,
    }
    assert clawback_shares(500, credited, seed="r") == {
        "house": 300,
        "racer:1:wallet": 150,
        "racer:2:wallet": 50,
    }


def test_a_clawback_of_more_than_remains_is_refused():
    with pytest.raises(RefundTooLarge) as caught:
        clawback_shares(1001, {"house": 1000}, seed="r")
    assert str(caught.value) == "That is more than what remains of the payment to take back."
    assert clawback_shares(1000, {"house": 1000}, seed="r") == {"house": 1000}
    with pytest.raises(AssertionError):
        clawback_shares(0, {"house": 1000}, seed="r")


# --- wallets and payouts ------------------------------------------------------


def test_wallet_balances_at_their_edges():
    assert wallet_balances(
        wallet_balance_cents=500,
        held_credit_cents=500,
        in_payout_cents=0,
        lifetime_earned_cents=500,
        paid_out_cents=0,
    ) == WalletBalances(0, 500, 0, 0, 500, 0)
    assert wallet_balances(
        wallet_balance_cents=500,
        held_credit_cents=800,
        in_payout_cents=7,
        lifetime_earned_cents=900,
        paid_out_cents=3,
    ) == WalletBalances(0, 500, 7, 0, 900, 3)
    assert wallet_balances(
        wallet_balance_cents=-1,
        held_credit_cents=200,
        in_payout_cents=0,
        lifetime_earned_cents=0,
        paid_out_cents=0,
    ) == WalletBalances(0, 0, 0, 1, 0, 0)
    assert (
        wallet_balances(
            wallet_balance_cents=0,
            held_credit_cents=0,
            in_payout_cents=0,
            lifetime_earned_cents=0,
            paid_out_cents=0,
        ).wallet_balance_cents
        == 0
    )
    with pytest.raises(AssertionError):
        wallet_balances(
            wallet_balance_cents=0,
            held_credit_cents=-1,
            in_payout_cents=0,
            lifetime_earned_cents=0,
            paid_out_cents=0,
        )


@pytest.mark.parametrize(
    "name", ["available_cents", "held_cents", "in_payout_cents", "debt_cents", "paid_out_cents"]
)
def test_no_wallet_figure_is_negative(name):
    values = dict(
        available_cents=0,
        held_cents=0,
        in_payout_cents=0,
        debt_cents=0,
        lifetime_earned_cents=0,
        paid_out_cents=0,
    )
    with pytest.raises(AssertionError):
        WalletBalances(**{**values, name: -1})
    with pytest.raises(AssertionError):
        WalletBalances(**{**values, "debt_cents": 1, "held_cents": 1})


@given(st.integers(-10_000, 10_000), st.integers(0, 10_000))
def test_held_is_the_credits_in_hold_up_to_the_positive_balance(balance_cents, held_credit_cents):
    summary = wallet_balances(
        wallet_balance_cents=balance_cents,
        held_credit_cents=held_credit_cents,
        in_payout_cents=0,
        lifetime_earned_cents=0,
        paid_out_cents=0,
    )
    assert summary.held_cents == min(held_credit_cents, max(balance_cents, 0))
    assert summary.debt_cents == max(-balance_cents, 0)
    assert summary.wallet_balance_cents == balance_cents


def refusal(balances, amount_cents):
    with pytest.raises(ledger.LedgerError) as caught:
        check_payout_request(balances, amount_cents, payout_min_cents=2000, format_amount=format_cents)
    return type(caught.value), str(caught.value)


def test_payout_requests_at_the_threshold_and_at_what_is_available():
    balances = WalletBalances(2500, 300, 0, 0, 2800, 0)
    assert check_payout_request(balances, 2000, payout_min_cents=2000, format_amount=format_cents) is None
    assert check_payout_request(balances, 2500, payout_min_cents=2000, format_amount=format_cents) is None
    assert refusal(balances, 1999) == (BelowPayoutThreshold, "The smallest payout is $20.00.")
    assert refusal(balances, 2501) == (
        InsufficientFunds,
        "You can withdraw up to $25.00 right now ($3.00 is still on hold).",
    )
    assert refusal(WalletBalances(2500, 0, 0, 0, 2500, 0), 2501) == (
        InsufficientFunds,
        "You can withdraw up to $25.00 right now.",
    )
    assert refusal(WalletBalances(0, 0, 0, 1, 0, 0), 2000) == (
        DebtBlocksPayout,
        "You owe $0.01 from refunded sales; new earnings clear it before you can cash out.",
    )


def test_a_reason_is_3_to_500_characters():
    assert require_reason("  abc  ") == "abc"
    assert require_reason("r" * 500) == "r" * 500
    for reason in ("ab", "  ab  ", "", None, "r" * 501):
        with pytest.raises(ledger.InvalidInput) as caught:
            require_reason(reason)
        assert str(caught.value) == "Give a reason of 3 to 500 characters; it is kept in the ledger."


@pytest.mark.parametrize(
    ("raw", "method"),
    [
        ("store_credit", "store_credit"),
        (" Gift Card ", "gift_card"),
        ("PAYPAL", "paypal"),
        ("bank", "bank"),
        ("store-credit", "store_credit"),
    ],
)
def test_payout_methods(raw, method):
    assert require_payout_method(raw) == method


@pytest.mark.parametrize("raw", ["cash", "", None, "gift  card"])
def test_an_unknown_payout_method_lists_the_choices(raw):
    with pytest.raises(ledger.InvalidInput) as caught:
        require_payout_method(raw)
    assert str(caught.value) == "Choose a payout method: store credit, gift card, PayPal, bank transfer."


# --- accounts -----------------------------------------------------------------


def test_every_account_has_its_code_and_kind():
    assert (HOUSE.code, HOUSE.kind) == ("house", AccountKind.HOUSE)
    assert (CLEARING.code, CLEARING.kind) == ("clearing", AccountKind.CLEARING)
    assert (COSTS.code, COSTS.kind) == ("costs", AccountKind.COSTS)
    assert (PAYOUTS_SENT.code, PAYOUTS_SENT.kind) == ("payouts_sent", AccountKind.PAYOUTS_SENT)
    assert (ledger.house_code(), ledger.clearing_code(), ledger.costs_code(), ledger.payouts_sent_code()) == (
        "house",
        "clearing",
        "costs",
        "payouts_sent",
    )
    assert pool_account(4) == ledger.AccountRef("race:4:pool", AccountKind.RACE_POOL, race_id=4)
    assert wallet_account(5) == ledger.AccountRef("racer:5:wallet", AccountKind.WALLET, racer_id=5)
    assert in_flight_account(6) == ledger.AccountRef(
        "racer:6:in_flight", AccountKind.PAYOUT_IN_FLIGHT, racer_id=6
    )

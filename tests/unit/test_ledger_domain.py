"""The ledger's pure rules: balanced transactions, split policies, clawbacks, wallets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cozykart.domain.events import RaceOutcome, RaceResult, SplitRule
from cozykart.domain.ledger import (
    CLEARING,
    HOUSE,
    BelowPayoutThreshold,
    DebtBlocksPayout,
    InsufficientFunds,
    Posting,
    RefundTooLarge,
    Transaction,
    TransactionBuilder,
    TransactionKind,
    check_payout_request,
    clawback_shares,
    split_pool,
    split_weights,
    wallet_account,
    wallet_balances,
)
from cozykart.domain.money import format_cents

RELAXED = settings(deadline=None)  # machines under load time out the default 200 ms

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _outcome(policy: str, positions: dict[int, int | None], *, bonus_bps: int = 5000) -> RaceOutcome:
    table = [15, 12, 10, 8, 6, 4, 2, 1]
    results = tuple(
        RaceResult(racer_id=r, position=p, dnf=p is None, points=table[p - 1] if p else 0)
        for r, p in positions.items()
    )
    return RaceOutcome(
        race_id=1,
        name="Rainbow Road",
        season_id=1,
        status="final",
        racer_ids=tuple(positions),
        results=results,
        split=SplitRule(policy, bonus_bps),
    )


def test_a_transaction_that_does_not_balance_is_refused():
    with pytest.raises(AssertionError):
        Transaction(
            key="k",
            kind=TransactionKind.ADJUSTMENT,
            description="d",
            reference="r",
            occurred_at=NOW,
            postings=(Posting(HOUSE, 5, "x"), Posting(CLEARING, -4, "y")),
        )


def test_a_posting_never_holds_a_float_or_zero():
    with pytest.raises(AssertionError):
        Posting(HOUSE, 5.0, "x")  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        Posting(HOUSE, 0, "x")


def test_builder_merges_postings_on_the_same_account_and_payment():
    builder = TransactionBuilder()
    builder.post(HOUSE, 5, "a", payment_id=1)
    builder.post(HOUSE, -5, "b", payment_id=1)
    builder.post(CLEARING, 0, "nothing")
    assert builder.postings == {}


def test_even_split_weighs_every_racer_alike_including_dnf():
    assert split_weights(_outcome("even", {1: 1, 2: 2, 3: None})) == {1: 1, 2: 1, 3: 1}


def test_winner_bonus_gives_the_winner_half_and_the_rest_evenly():
    weights = split_weights(_outcome("winner_bonus", {1: 2, 2: 1, 3: 3, 4: 4}))
    assert split_pool(1200, weights, seed="s") == {1: 200, 2: 600, 3: 200, 4: 200}


def test_winner_bonus_without_a_winner_is_even():
    assert split_weights(_outcome("winner_bonus", {1: None, 2: None})) == {1: 1, 2: 1}


def test_by_points_in_proportion_to_points_and_even_when_nobody_scored():
    weights = split_weights(_outcome("by_points", {1: 1, 2: 2, 3: None}))
    assert weights == {1: 15, 2: 12, 3: 0}
    assert split_pool(2700, weights, seed="s") == {1: 1500, 2: 1200, 3: 0}
    assert split_weights(_outcome("by_points", {1: None, 2: None})) == {1: 1, 2: 1}


def test_empty_roster_has_no_weights():
    assert split_weights(_outcome("even", {})) == {}


@RELAXED
@given(
    st.dictionaries(st.sampled_from([f"acct{n}" for n in range(8)]), st.integers(1, 10**6), min_size=1),
    st.data(),
)
def test_clawback_takes_in_proportion_and_never_more_than_held(credited, data):
    held_total = sum(credited.values())
    amount = data.draw(st.integers(1, held_total))
    shares = clawback_shares(amount, credited, seed="refund")
    assert sum(shares.values()) == amount
    assert all(0 <= shares[code] <= credited[code] for code in shares)
    assert clawback_shares(held_total, credited, seed="refund") == credited
    with pytest.raises(RefundTooLarge):
        clawback_shares(held_total + 1, credited, seed="refund")


def test_wallet_balances_hold_debt_and_available():
    held = wallet_balances(
        wallet_balance_cents=1000,
        held_credit_cents=700,
        in_payout_cents=0,
        lifetime_earned_cents=1000,
        paid_out_cents=0,
    )
    assert (held.available_cents, held.held_cents, held.debt_cents) == (300, 700, 0)
    refunded = wallet_balances(
        wallet_balance_cents=200,
        held_credit_cents=700,
        in_payout_cents=0,
        lifetime_earned_cents=200,
        paid_out_cents=0,
    )
    assert (refunded.available_cents, refunded.held_cents) == (0, 200)
    debt = wallet_balances(
        wallet_balance_cents=-450,
        held_credit_cents=100,
        in_payout_cents=0,
        lifetime_earned_cents=0,
        paid_out_cents=450,
    )
    assert (debt.available_cents, debt.held_cents, debt.debt_cents) == (0, 0, 450)


def test_payout_rules_in_order_debt_threshold_funds():
    def check(balance, amount):
        balances = wallet_balances(
            wallet_balance_cents=balance,
            held_credit_cents=0,
            in_payout_cents=0,
            lifetime_earned_cents=0,
            paid_out_cents=0,
        )
        check_payout_request(balances, amount, payout_min_cents=2000, format_amount=format_cents)

    with pytest.raises(DebtBlocksPayout):
        check(-1, 2000)
    with pytest.raises(BelowPayoutThreshold):
        check(5000, 1999)
    with pytest.raises(InsufficientFunds, match=r"\$30\.00"):
        check(3000, 3001)
    check(3000, 3000)


def test_account_codes_name_their_owner():
    assert wallet_account(7).code == "racer:7:wallet"

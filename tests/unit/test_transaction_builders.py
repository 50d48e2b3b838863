"""The domain builds every money transaction (issue 16, item 1): one pure builder per flow.

Each builder is given plain values and returns a balanced transaction. For each:
the postings sum to zero, the input cents are conserved (what came in went
somewhere, what moved arrived), no share is negative where none may be, every
line's description names what it is for, and a hold is only ever on a wallet's
credit.
"""

from __future__ import annotations

import string
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cozykart.domain.errors import InvalidInput
from cozykart.domain.events import RaceOutcome, RaceResult, SplitRule
from cozykart.domain.ledger import (
    CLEARING,
    COSTS,
    HOUSE,
    PAYOUT_METHODS,
    PAYOUTS_SENT,
    AccountKind,
    RefundTooLarge,
    Transaction,
    TransactionKind,
    in_flight_account,
    pool_account,
    race_holdings,
    season_deviation,
    split_weights,
    wallet_account,
)
from cozykart.domain.money import BPS_PER_WHOLE
from cozykart.domain.transactions import (
    Holding,
    PaymentFacts,
    PostedLine,
    RaceBook,
    SaleFacts,
    SaleRace,
    adjustment_transaction,
    clawback_transaction,
    correction_transaction,
    direct_payout_transaction,
    distribution_transaction,
    hold_until,
    payout_paid_transaction,
    payout_rejected_transaction,
    payout_request_transaction,
    race_order,
    reinstatement_transaction,
    sale_split,
    sale_transaction,
    tip_split,
    tip_transaction,
)

RELAXED = settings(max_examples=150, deadline=None)  # machines under load time out the default 200 ms
CURRENCY = "USD"
AT = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
HOLD_UNTIL = AT + timedelta(days=7)
RACE_ID = 7
NEW_PAYMENT_ID = 1000
POINTS = (15, 12, 10, 8, 6, 4, 2, 1)

amounts = st.integers(min_value=1, max_value=10**7)
rates_bps = st.integers(min_value=0, max_value=BPS_PER_WHOLE)
words = st.text(alphabet=string.ascii_letters + string.digits + " -", min_size=1, max_size=40).filter(
    str.strip
)
holds = st.sampled_from([None, HOLD_UNTIL])


# --- what every transaction keeps ---------------------------------------------------------


def _keeps_the_invariants(transaction: Transaction) -> None:
    """Balanced, and a hold only on a wallet's credit."""
    assert sum(posting.amount_cents for posting in transaction.postings) == 0
    for posting in transaction.postings:
        if posting.available_at is not None:
            assert posting.amount_cents > 0 and posting.account.kind == AccountKind.WALLET, posting


def _carries_its_rounding(book: RaceBook, transaction: Transaction) -> None:
    """A settle says the race's rounding after it: each racer's cents held minus its exact share, under one cent."""
    if book.outcome.season_id is None:
        assert transaction.rounding is None
        return
    weights = split_weights(book.outcome)
    totals: dict[int, int] = defaultdict(int)
    for by_racer in _held_after(book, transaction).values():
        for racer_id, cents in by_racer.items():
            totals[racer_id] += cents
    held_cents, weight_total = sum(totals.values()), sum(weights.values())
    assert transaction.rounding is not None
    assert (transaction.rounding.race_id, transaction.rounding.season_id) == (RACE_ID, book.outcome.season_id)
    rounding = dict(transaction.rounding.deviation)
    assert rounding == {
        racer_id: totals[racer_id] - Fraction(held_cents * weight, weight_total)
        for racer_id, weight in weights.items()
    }
    assert sum(rounding.values()) == 0 and all(abs(cents) < 1 for cents in rounding.values())


def _by_account(transaction: Transaction) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for posting in transaction.postings:
        totals[posting.account.code] += posting.amount_cents
    return dict(totals)


def _wallet_lines(transaction: Transaction, payment_id: int | None = None) -> list:
    return [
        posting
        for posting in transaction.postings
        if posting.account.kind == AccountKind.WALLET
        and (payment_id is None or posting.payment_id == payment_id)
    ]


# --- races and what their racers hold -----------------------------------------------------


@st.composite
def outcomes(draw, *, min_racers: int = 0) -> RaceOutcome:
    count = draw(st.integers(min_value=min_racers, max_value=6))
    racer_ids = sorted(draw(st.sets(st.integers(min_value=1, max_value=60), min_size=count, max_size=count)))
    positions = draw(st.permutations(range(1, count + 1)))
    return RaceOutcome(
        race_id=RACE_ID,
        name="Rainbow Road",
        season_id=draw(st.sampled_from([None, 3])),
        status="final",
        racer_ids=tuple(racer_ids),
        results=tuple(
            RaceResult(racer_id=racer_id, position=position, dnf=False, points=POINTS[position - 1])
            for racer_id, position in zip(racer_ids, positions, strict=True)
        ),
        split=SplitRule(draw(st.sampled_from(["even", "winner_bonus", "by_points"])), draw(rates_bps)),
    )


def _season(outcome: RaceOutcome, held_by_racer: dict[int, int]) -> dict:
    """The season's rounding from one other final race of the same racers holding `held_by_racer`."""
    if outcome.season_id is None or not held_by_racer:
        return {}
    other = RaceOutcome(
        RACE_ID + 1, "Moo Moo Meadows", outcome.season_id, "final", outcome.racer_ids, (), outcome.split
    )
    return season_deviation([(split_weights(other), held_by_racer)])


@st.composite
def books(
    draw, *, min_racers: int = 0, fair: bool = True, results_from: RaceOutcome | None = None
) -> RaceBook:
    """A final race as the ledger holds it: earlier payments split fairly (by `results_from`'s weights if given)."""
    outcome = draw(outcomes(min_racers=min_racers))
    season_held = draw(
        st.dictionaries(st.sampled_from(outcome.racer_ids or (1,)), st.integers(0, 500), max_size=4)
    )
    season = _season(outcome, season_held)
    earlier = draw(st.lists(st.integers(min_value=1, max_value=5000), max_size=5))
    columns = [(100 + index, cents) for index, cents in enumerate(earlier)]
    sales = {payment_id: SaleFacts(f"Tee {payment_id}", cents * 3) for payment_id, cents in columns}
    held: dict[int, dict[int, int]] = {}
    weighed = results_from or outcome
    weights = split_weights(weighed)
    if weights and columns:
        bare = RaceBook(weighed, {}, {}, season, HOLD_UNTIL, CURRENCY)
        held = race_holdings(columns, weights, race_order(bare, weights)) if fair else {}
        if not fair:
            for payment_id, cents in columns:
                racers = draw(st.lists(st.sampled_from(sorted(weights)), min_size=1, max_size=3))
                held[payment_id] = {racer_id: cents // len(racers) for racer_id in racers}
    if not held:
        sales = {}
    return RaceBook(outcome, held, sales, season, draw(holds), CURRENCY)


def _held_after(book: RaceBook, transaction: Transaction) -> dict[int, dict[int, int]]:
    """The book's holdings with the transaction's wallet lines applied."""
    held = {payment_id: dict(by_racer) for payment_id, by_racer in book.held.items()}
    for posting in _wallet_lines(transaction):
        by_racer = held.setdefault(posting.payment_id, {})
        by_racer[posting.account.racer_id] = by_racer.get(posting.account.racer_id, 0) + posting.amount_cents
    return held


def _fair(book: RaceBook, held: dict[int, dict[int, int]]) -> dict[int, dict[int, int]]:
    """What the racers should hold of each payment, given the payments' totals in `held`."""
    weights = split_weights(book.outcome)
    columns = [(payment_id, sum(held[payment_id].values())) for payment_id in sorted(held)]
    target = race_holdings(columns, weights, race_order(book, weights))
    return {payment_id: {r: c for r, c in by_racer.items() if c} for payment_id, by_racer in target.items()}


def _nonzero(held: dict[int, dict[int, int]]) -> dict[int, dict[int, int]]:
    return {payment_id: {r: c for r, c in by_racer.items() if c} for payment_id, by_racer in held.items()}


# --- sales ---------------------------------------------------------------------------------


@RELAXED
@given(amounts, st.data(), rates_bps, st.booleans())
def test_sale_split_conserves_the_gross_and_floors_the_pool(gross_cents, data, rate_bps, race_live):
    cost_cents = data.draw(st.integers(min_value=0, max_value=gross_cents))
    split = sale_split(gross_cents, cost_cents, rate_bps, race_live=race_live)
    assert split.cost_cents + split.pool_cents + split.house_cents == gross_cents
    base_cents = gross_cents - cost_cents
    expected_pool_cents = base_cents * rate_bps // BPS_PER_WHOLE if race_live else 0
    assert split.pool_cents == expected_pool_cents and split.house_cents >= 0


@RELAXED
@given(amounts, st.data(), rates_bps, words, st.sampled_from(["none", "live", "final"]))
def test_a_sale_is_balanced_conserves_its_gross_and_credits_no_negative_share(
    gross_cents, data, rate_bps, item, where
):
    cost_cents = data.draw(st.integers(min_value=0, max_value=gross_cents))
    split = sale_split(gross_cents, cost_cents, rate_bps, race_live=where != "none")
    book = data.draw(books()) if where == "final" else None
    race = None if where == "none" else SaleRace(RACE_ID, "Rainbow Road", final=where == "final", book=book)
    sale = sale_transaction(
        key="payment:k",
        reference="stripe:k",
        payment_id=NEW_PAYMENT_ID,
        item=item,
        gross_cents=gross_cents,
        split=split,
        race=race,
        sold_at=AT,
        currency=CURRENCY,
    )
    _keeps_the_invariants(sale)
    totals = _by_account(sale)
    assert totals[CLEARING.code] == -gross_cents
    assert totals.get(COSTS.code, 0) == cost_cents
    new_lines = [posting for posting in sale.postings if posting.payment_id == NEW_PAYMENT_ID]
    assert all(p.amount_cents > 0 for p in new_lines if p.account != CLEARING), "no negative share of a sale"
    assert all(repr(item) in p.description for p in new_lines), "every line names the sale"
    racers_cents = sum(p.amount_cents for p in _wallet_lines(sale, NEW_PAYMENT_ID))
    pool_cents = totals.get(pool_account(RACE_ID).code, 0)
    if where == "final" and split_weights(book.outcome):
        assert racers_cents == split.pool_cents and pool_cents == 0
        assert _wallet_lines(sale) == _wallet_lines(sale, NEW_PAYMENT_ID), (
            "a late sale posts its own column only"
        )
        assert all(p.available_at == book.hold_until for p in _wallet_lines(sale))
    else:
        assert racers_cents == 0
        assert pool_cents == (split.pool_cents if where == "live" else 0)
        assert totals.get(HOUSE.code, 0) == gross_cents - cost_cents - pool_cents
    assert sale.kind == (TransactionKind.HOUSE_CUT if where == "none" else TransactionKind.COMMISSION)


# --- tips ----------------------------------------------------------------------------------


@RELAXED
@given(amounts, rates_bps, words, st.one_of(st.none(), words), holds)
def test_a_tip_pays_the_fee_to_the_house_and_the_rest_to_the_dj_held(
    tip_cents, fee_bps, song, fan_name, until
):
    split = tip_split(tip_cents, fee_bps)
    assert (
        split.fee_cents == tip_cents * fee_bps // BPS_PER_WHOLE
        and split.dj_cents == tip_cents - split.fee_cents
    )
    tip = tip_transaction(
        key="payment:t",
        reference="kofi:t",
        payment_id=5,
        dj_racer_id=42,
        tip_cents=tip_cents,
        split=split,
        song=song,
        fan_name=fan_name,
        tipped_at=AT,
        hold_until=until,
        currency=CURRENCY,
    )
    _keeps_the_invariants(tip)
    totals = _by_account(tip)
    assert totals[CLEARING.code] == -tip_cents
    assert (
        totals.get(HOUSE.code, 0) == split.fee_cents
        and totals.get(wallet_account(42).code, 0) == split.dj_cents
    )
    assert all(p.amount_cents > 0 for p in tip.postings if p.account != CLEARING)
    assert all(repr(song) in p.description and (fan_name or "a fan") in p.description for p in tip.postings)
    assert all(p.available_at == until for p in _wallet_lines(tip))


# --- refunds, disputes, disputes won -----------------------------------------------------------


@st.composite
def paid_sales(draw):
    """A sale and what each account holds of it: a live race's pool, or a final race's racers."""
    final = draw(st.booleans())
    book = draw(books(min_racers=1)) if final else None
    payment_id = NEW_PAYMENT_ID
    holdings = [Holding(HOUSE, draw(st.integers(0, 5000))), Holding(COSTS, draw(st.integers(0, 500)))]
    if book is not None and book.held:
        payment_id = draw(st.sampled_from(sorted(book.held)))
        holdings += [Holding(wallet_account(r), c) for r, c in book.held[payment_id].items()]
    elif book is None:
        holdings.append(Holding(pool_account(RACE_ID), draw(st.integers(0, 5000))))
    gross_cents = sum(h.net_cents for h in holdings)
    holdings.append(Holding(CLEARING, -gross_cents))
    payment = PaymentFacts(payment_id, "sale", draw(words), gross_cents, RACE_ID)
    return payment, holdings, book


def _clawback(payment, holdings, book, amount_cents, kind=TransactionKind.REFUND_CLAWBACK):
    return clawback_transaction(
        key="refund:r1",
        kind=kind,
        words="Refund",
        payment=payment,
        amount_cents=amount_cents,
        holdings=holdings,
        book=book,
        at=AT,
        currency=CURRENCY,
    )


@RELAXED
@given(paid_sales(), st.data())
def test_a_clawback_takes_back_in_proportion_exactly_the_amount(sale, data):
    payment, holdings, book = sale
    remaining_cents = sum(h.net_cents for h in holdings if h.account != CLEARING)
    if remaining_cents == 0:
        with pytest.raises(InvalidInput):
            _clawback(payment, holdings, book, None)
        return
    amount_cents = data.draw(st.one_of(st.none(), st.integers(min_value=1, max_value=remaining_cents)))
    clawback = _clawback(payment, holdings, book, amount_cents)
    taken_cents = remaining_cents if amount_cents is None else amount_cents
    _keeps_the_invariants(clawback.transaction)
    assert clawback.amount_cents == taken_cents == sum(clawback.taken_cents.values())
    assert _by_account(clawback.transaction)[CLEARING.code] == taken_cents
    held = {h.account.code: h.net_cents for h in holdings}
    for posting in clawback.transaction.postings:
        if posting.account != CLEARING and posting.account.kind != AccountKind.WALLET:
            assert -held[posting.account.code] <= posting.amount_cents < 0, "never more than it holds"
        if posting.payment_id == payment.payment_id:
            assert repr(payment.item) in posting.description
        assert posting.available_at is None or posting.account.kind == AccountKind.WALLET
    if amount_cents is None:  # a full refund returns exactly what each account got
        this_payment = [p for p in clawback.transaction.postings if p.payment_id == payment.payment_id]
        assert {p.account.code: -p.amount_cents for p in this_payment if p.account != CLEARING} == {
            code: cents for code, cents in held.items() if code != CLEARING.code and cents > 0
        }
    if book is not None:  # the race stays fair to the cent
        after = _held_after(book, clawback.transaction)
        assert _nonzero(after) == _fair(book, after)


@RELAXED
@given(paid_sales(), st.data())
def test_a_clawback_of_more_than_remains_is_refused(sale, data):
    payment, holdings, book = sale
    remaining_cents = sum(h.net_cents for h in holdings if h.account != CLEARING)
    with pytest.raises(RefundTooLarge if remaining_cents else InvalidInput):
        _clawback(payment, holdings, book, remaining_cents + data.draw(st.integers(1, 1000)))


def _lines(transaction: Transaction) -> list[PostedLine]:
    return [PostedLine(p.account, p.amount_cents, p.description, p.payment_id) for p in transaction.postings]


def _reinstate(clawback: Transaction, payment, book) -> Transaction:
    return reinstatement_transaction(
        key="dispute:d1:reinstated",
        reference="dispute:d1",
        clawback_description=clawback.description,
        lines=_lines(clawback),
        payment_id=payment.payment_id,
        race_id=RACE_ID,
        payment=payment,
        book=book,
        at=AT,
        hold_until=HOLD_UNTIL,
        currency=CURRENCY,
    )


@RELAXED
@given(paid_sales(), st.data())
def test_a_dispute_won_returns_exactly_what_the_dispute_took(sale, data):
    payment, holdings, book = sale
    remaining_cents = sum(h.net_cents for h in holdings if h.account != CLEARING)
    if remaining_cents == 0:
        return
    amount_cents = data.draw(st.one_of(st.none(), st.integers(min_value=1, max_value=remaining_cents)))
    taken = _clawback(payment, holdings, book, amount_cents, TransactionKind.DISPUTE_CLAWBACK).transaction
    after_book = None
    if book is not None:
        after_book = RaceBook(
            book.outcome,
            _held_after(book, taken),
            book.sales,
            book.season_rounding,
            book.hold_until,
            CURRENCY,
        )
    won = _reinstate(taken, payment, after_book)
    _keeps_the_invariants(won)
    assert won.kind == TransactionKind.DISPUTE_REINSTATED and won.description.startswith("Dispute won")
    if book is None:  # the clawback negated, line by line
        assert {(p.account.code, p.payment_id): p.amount_cents for p in won.postings} == {
            (p.account.code, p.payment_id): -p.amount_cents for p in taken.postings
        }
        assert all(p.description.startswith("Dispute won, reinstated: ") for p in won.postings)
    else:  # each racer holds again exactly what it held before the dispute
        assert _nonzero(_held_after(after_book, won)) == _nonzero(dict(book.held))
        outside = {code: cents for code, cents in _by_account(taken).items() if not code.startswith("racer:")}
        assert {c: -v for c, v in outside.items()} == {
            c: v for c, v in _by_account(won).items() if not c.startswith("racer:")
        }


# --- race pools ----------------------------------------------------------------------------------


@RELAXED
@given(books(), st.lists(st.integers(min_value=1, max_value=10**6), max_size=6), words)
def test_a_distribution_empties_the_pool_into_the_racers_wallets(book, pool_cents, item):
    pool = [(NEW_PAYMENT_ID + n, cents, SaleFacts(item, cents * 2)) for n, cents in enumerate(pool_cents)]
    split = distribution_transaction(key="race:7:distribution", book=book, pool=pool, at=AT)
    if not pool:
        assert split is None
        return
    _keeps_the_invariants(split)
    totals = _by_account(split)
    assert totals[pool_account(RACE_ID).code] == -sum(pool_cents)
    new_ids = {payment_id for payment_id, _cents, _sale in pool}
    if split_weights(book.outcome):
        for payment_id, cents, _sale in pool:
            assert sum(p.amount_cents for p in _wallet_lines(split, payment_id)) == cents
        assert all(p.amount_cents > 0 for p in _wallet_lines(split)), "no negative share"
        assert all(p.payment_id in new_ids for p in _wallet_lines(split)), (
            "the earlier payments stay as they were"
        )
        assert all(p.available_at == book.hold_until for p in _wallet_lines(split))
        assert _nonzero(_held_after(book, split)) == _fair(book, _held_after(book, split))
        _carries_its_rounding(book, split)
    else:
        assert totals[HOUSE.code] == sum(pool_cents)
        assert split.rounding is None
    assert all(repr(item) in p.description for p in split.postings if p.account.kind != AccountKind.RACE_POOL)
    assert all("Rainbow Road" in p.description for p in split.postings)


@RELAXED
@given(st.data(), words)
def test_a_correction_moves_shares_between_racers_and_nothing_else(data, reason):
    old = data.draw(outcomes(min_racers=1))
    book = data.draw(books(min_racers=1, results_from=old))
    fix = correction_transaction(key="race:7:correction:1", book=book, reason=reason, at=AT)
    if fix is None:
        assert not book.held or _nonzero(dict(book.held)) == _fair(book, dict(book.held))
        return
    _keeps_the_invariants(fix)
    _carries_its_rounding(book, fix)
    assert all(p.account.kind == AccountKind.WALLET for p in fix.postings)
    for payment_id in {p.payment_id for p in fix.postings}:
        assert sum(p.amount_cents for p in fix.postings if p.payment_id == payment_id) == 0
    assert all(reason in p.description for p in fix.postings)
    after = _held_after(book, fix)
    assert _nonzero(after) == _fair(book, after)
    assert all(share >= 0 for by_racer in after.values() for share in by_racer.values()), "no negative share"


def test_a_correction_of_a_race_with_no_racers_writes_nothing():
    outcome = RaceOutcome(RACE_ID, "Rainbow Road", None, "final", (), (), SplitRule("even", 0))
    book = RaceBook(outcome, {}, {}, {}, HOLD_UNTIL, CURRENCY)
    assert correction_transaction(key="k", book=book, reason="typo", at=AT) is None


# --- payouts and adjustments ---------------------------------------------------------------------

methods = st.sampled_from(sorted(PAYOUT_METHODS))


@RELAXED
@given(amounts, st.integers(min_value=1, max_value=10**6), words)
def test_a_payout_request_moves_the_amount_from_the_wallet_to_in_flight(amount_cents, payout_id, name):
    request = payout_request_transaction(
        key=f"payout:{payout_id}:request",
        payout_id=payout_id,
        racer_id=9,
        racer_name=name,
        amount_cents=amount_cents,
        at=AT,
        currency=CURRENCY,
    )
    _keeps_the_invariants(request)
    assert _by_account(request) == {
        wallet_account(9).code: -amount_cents,
        in_flight_account(9).code: amount_cents,
    }
    assert all(f"Payout #{payout_id}" in p.description and p.available_at is None for p in request.postings)
    assert request.payout_id == payout_id and name in request.description


@RELAXED
@given(amounts, st.integers(min_value=1, max_value=10**6), methods, words)
def test_a_paid_payout_moves_the_amount_from_in_flight_to_payouts_sent(
    amount_cents, payout_id, method, reference
):
    paid = payout_paid_transaction(
        key=f"payout:{payout_id}:decision",
        payout_id=payout_id,
        racer_id=9,
        amount_cents=amount_cents,
        method=method,
        reference=reference,
        admin_racer_id=1,
        at=AT,
        currency=CURRENCY,
    )
    _keeps_the_invariants(paid)
    assert _by_account(paid) == {in_flight_account(9).code: -amount_cents, PAYOUTS_SENT.code: amount_cents}
    assert all(
        f"Payout #{payout_id}" in p.description and PAYOUT_METHODS[method] in p.description
        for p in paid.postings
    )
    assert paid.kind == TransactionKind.PAYOUT and paid.actor_racer_id == 1 and reference in paid.description


@RELAXED
@given(amounts, st.integers(min_value=1, max_value=10**6), words)
def test_a_rejected_payout_returns_the_amount_to_the_wallet_unheld(amount_cents, payout_id, reason):
    rejected = payout_rejected_transaction(
        key=f"payout:{payout_id}:decision",
        payout_id=payout_id,
        racer_id=9,
        amount_cents=amount_cents,
        reason=reason,
        admin_racer_id=1,
        at=AT,
        currency=CURRENCY,
    )
    _keeps_the_invariants(rejected)
    assert _by_account(rejected) == {
        in_flight_account(9).code: -amount_cents,
        wallet_account(9).code: amount_cents,
    }
    assert all(
        f"Payout #{payout_id} rejected" in p.description and p.available_at is None for p in rejected.postings
    )
    assert rejected.kind == TransactionKind.PAYOUT_RELEASED and reason in rejected.description


@RELAXED
@given(amounts, st.integers(min_value=1, max_value=10**6), methods, words, words)
def test_a_direct_payout_moves_the_amount_from_the_wallet_to_payouts_sent(
    amount_cents, payout_id, method, reference, name
):
    paid = direct_payout_transaction(
        key=f"payout:{payout_id}:decision",
        payout_id=payout_id,
        racer_id=9,
        racer_name=name,
        amount_cents=amount_cents,
        method=method,
        reference=reference,
        admin_racer_id=1,
        at=AT,
        currency=CURRENCY,
    )
    _keeps_the_invariants(paid)
    assert _by_account(paid) == {wallet_account(9).code: -amount_cents, PAYOUTS_SENT.code: amount_cents}
    assert all(f"payout #{payout_id}" in p.description.lower() for p in paid.postings)
    assert name in paid.description and PAYOUT_METHODS[method] in paid.description


@RELAXED
@given(st.integers(min_value=-(10**7), max_value=10**7).filter(bool), words, words, words)
def test_an_adjustment_moves_the_amount_between_wallet_and_house_with_its_reason(
    amount_cents, reason, admin_name, racer_name
):
    adjustment = adjustment_transaction(
        key="adjustment:a1",
        racer_id=9,
        racer_name=racer_name,
        admin_racer_id=1,
        admin_name=admin_name,
        amount_cents=amount_cents,
        reason=reason,
        at=AT,
        currency=CURRENCY,
    )
    _keeps_the_invariants(adjustment)
    assert _by_account(adjustment) == {wallet_account(9).code: amount_cents, HOUSE.code: -amount_cents}
    assert all(reason in p.description and admin_name in p.description for p in adjustment.postings)
    assert adjustment.kind == TransactionKind.ADJUSTMENT and adjustment.actor_racer_id == 1


def test_a_hold_is_the_hold_period_after_now_or_none():
    assert hold_until(AT, 0) is None
    assert hold_until(AT, 14) == AT + timedelta(days=14)

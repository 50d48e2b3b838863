"""The ledger's rules: accounts, transactions of postings that sum to zero, splits.

Sign convention: a posting's `amount_cents` is added to its account's balance.
A racer's wallet balance is what the league owes the racer; the provider
clearing account goes negative by what fans paid in; the sum over every account
is always zero, because every transaction's postings sum to zero.

Pure Python: no database, no framework.

Errors a person can act on (all `CozyKartError`, drawn in `cozykart.domain.errors`):
    InsufficientFunds      the amount is more than is available to withdraw
    BelowPayoutThreshold   a payout request is under the minimum
    DebtBlocksPayout       the racer owes the league; earnings clear it first
    PayoutNotPending       the payout was already paid or rejected
    PaymentNotFound        a refund or dispute names a payment not recorded (yet)
    RefundTooLarge         a refund or dispute exceeds what remains of the payment
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from cozykart.domain.errors import Conflict, InvalidInput, NotFound
from cozykart.domain.events import RaceOutcome, SplitRule
from cozykart.domain.league import SPLIT_POLICIES
from cozykart.domain.money import BPS_PER_WHOLE, allocate, allocate_in_order

DESCRIPTION_LENGTH_MAX = 300
REASON_LENGTH_MIN = 3
REASON_LENGTH_MAX = 500
POSTINGS_PER_TRANSACTION_MAX = 100_000


# --- errors -------------------------------------------------------------------


class LedgerError(Conflict):
    """A money movement was refused."""


class InsufficientFunds(LedgerError):
    pass


class BelowPayoutThreshold(LedgerError):
    pass


class DebtBlocksPayout(LedgerError):
    pass


class PayoutNotPending(LedgerError):
    pass


class PaymentNotFound(NotFound):
    pass


class RefundTooLarge(LedgerError):
    pass


# --- accounts -----------------------------------------------------------------


class AccountKind(StrEnum):
    HOUSE = "house"  # the league's own revenue
    CLEARING = "clearing"  # money in from providers (negative: what fans paid)
    COSTS = "costs"  # manufacturing cost owed for merch
    PAYOUTS_SENT = "payouts_sent"  # money that left to racers
    RACE_POOL = "race_pool"  # a race's Live Pot until it is distributed
    WALLET = "wallet"  # a racer's earnings (negative: debt)
    PAYOUT_IN_FLIGHT = "in_flight"  # a racer's requested, not yet paid payouts


# Accounts whose balance may never be below zero; reconciliation checks it.
NON_NEGATIVE_KINDS = frozenset({AccountKind.RACE_POOL, AccountKind.PAYOUT_IN_FLIGHT, AccountKind.COSTS})


def house_code() -> str:
    return "house"


def clearing_code() -> str:
    return "clearing"


def costs_code() -> str:
    return "costs"


def payouts_sent_code() -> str:
    return "payouts_sent"


def pool_code(race_id: int) -> str:
    return f"race:{race_id}:pool"


def wallet_code(racer_id: int) -> str:
    return f"racer:{racer_id}:wallet"


def in_flight_code(racer_id: int) -> str:
    return f"racer:{racer_id}:in_flight"


@dataclass(frozen=True)
class AccountRef:
    """An account named by its code; created on first use."""

    code: str
    kind: AccountKind
    racer_id: int | None = None
    race_id: int | None = None


HOUSE = AccountRef(house_code(), AccountKind.HOUSE)
CLEARING = AccountRef(clearing_code(), AccountKind.CLEARING)
COSTS = AccountRef(costs_code(), AccountKind.COSTS)
PAYOUTS_SENT = AccountRef(payouts_sent_code(), AccountKind.PAYOUTS_SENT)


def pool_account(race_id: int) -> AccountRef:
    return AccountRef(pool_code(race_id), AccountKind.RACE_POOL, race_id=race_id)


def wallet_account(racer_id: int) -> AccountRef:
    return AccountRef(wallet_code(racer_id), AccountKind.WALLET, racer_id=racer_id)


def in_flight_account(racer_id: int) -> AccountRef:
    return AccountRef(in_flight_code(racer_id), AccountKind.PAYOUT_IN_FLIGHT, racer_id=racer_id)


# --- transactions -------------------------------------------------------------


class TransactionKind(StrEnum):
    COMMISSION = "COMMISSION"  # a sale during a race: house share + the race's pool
    HOUSE_CUT = "HOUSE_CUT"  # a sale with no live race: all to the house
    POOL_DISTRIBUTION = "POOL_DISTRIBUTION"  # a final race's pool to its racers
    RESULT_CORRECTION = "RESULT_CORRECTION"  # an admin fix moved shares between racers
    TIP = "TIP"  # DJ credited, platform fee to the house
    REFUND_CLAWBACK = "REFUND_CLAWBACK"  # a refund taken back in proportion
    DISPUTE_CLAWBACK = "DISPUTE_CLAWBACK"  # a dispute opened: taken back in proportion
    DISPUTE_REINSTATED = "DISPUTE_REINSTATED"  # a dispute won: the clawback reversed
    PAYOUT_REQUEST = "PAYOUT_REQUEST"  # wallet -> in flight
    PAYOUT = "PAYOUT"  # in flight (or wallet, direct) -> paid out
    PAYOUT_RELEASED = "PAYOUT_RELEASED"  # a rejected or cancelled payout: in flight -> wallet
    PAYOUT_RETURNED = "PAYOUT_RETURNED"  # a paid payout came back (its Stripe transfer reversed): -> wallet
    ADJUSTMENT = "ADJUSTMENT"  # an admin's correction with a reason


# The kinds that bring a payment's money in: exactly one per payment.
MONEY_IN_KINDS = frozenset({TransactionKind.COMMISSION, TransactionKind.HOUSE_CUT, TransactionKind.TIP})
# What takes a payment's money back from the racers it credited, and gives it back when a dispute is won.
TAKEN_BACK_KINDS = frozenset(
    {TransactionKind.REFUND_CLAWBACK, TransactionKind.DISPUTE_CLAWBACK, TransactionKind.DISPUTE_REINSTATED}
)
# Wallet movements that are not earnings (they move earnings towards payment).
PAYOUT_KINDS = frozenset(
    {
        TransactionKind.PAYOUT_REQUEST,
        TransactionKind.PAYOUT,
        TransactionKind.PAYOUT_RELEASED,
        TransactionKind.PAYOUT_RETURNED,
    }
)


@dataclass(frozen=True)
class Posting:
    account: AccountRef
    amount_cents: int
    description: str
    payment_id: int | None = None
    available_at: datetime | None = None  # a held credit becomes available at this instant

    def __post_init__(self) -> None:
        assert isinstance(self.amount_cents, int) and not isinstance(self.amount_cents, bool)
        assert self.amount_cents != 0, "a posting moves at least one cent"
        assert self.description and len(self.description) <= DESCRIPTION_LENGTH_MAX, self.description


@dataclass(frozen=True)
class RaceRounding:
    """A final race's rounding once a transaction has settled it: racer -> cents held minus the exact share.

    Stored beside the ledger (a figure derived from it, checked by reconcile), so a
    settle of another race of the season sums these instead of re-reading every
    final race of the season (`season_deviation`).
    """

    race_id: int
    season_id: int
    deviation: tuple[tuple[int, Fraction], ...]  # (racer id, cents), by racer id


@dataclass(frozen=True)
class Transaction:
    """Postings that sum to zero, under one idempotency key (and the race it settles, when it does)."""

    key: str
    kind: TransactionKind
    description: str
    reference: str
    occurred_at: datetime
    postings: tuple[Posting, ...]
    payment_id: int | None = None
    race_id: int | None = None
    payout_id: int | None = None
    actor_racer_id: int | None = None
    rounding: RaceRounding | None = None

    def __post_init__(self) -> None:
        assert self.key, "every transaction has an idempotency key"
        assert self.occurred_at.tzinfo is not None
        assert 0 < len(self.postings) <= POSTINGS_PER_TRANSACTION_MAX, len(self.postings)
        assert_balanced(self.postings)


def assert_balanced(postings: Iterable[Posting]) -> None:
    total_cents = sum(posting.amount_cents for posting in postings)
    assert total_cents == 0, f"postings must sum to zero, got {total_cents}"


@dataclass
class TransactionBuilder:
    """Collects postings, merging repeats on the same account and payment."""

    postings: dict[tuple[str, int | None], Posting] = field(default_factory=dict)
    accounts: dict[str, AccountRef] = field(default_factory=dict)
    rounding: RaceRounding | None = None  # set by the settle of a final race

    def post(
        self,
        account: AccountRef,
        amount_cents: int,
        description: str,
        *,
        payment_id: int | None = None,
        available_at: datetime | None = None,
    ) -> None:
        if amount_cents == 0:
            return
        slot = (account.code, payment_id)
        previous = self.postings.pop(slot, None)
        if previous is not None:
            amount_cents += previous.amount_cents
            description = previous.description
            available_at = previous.available_at or available_at
            if amount_cents == 0:
                return
        self.accounts[account.code] = account
        self.postings[slot] = Posting(
            account=account,
            amount_cents=amount_cents,
            description=description[:DESCRIPTION_LENGTH_MAX],
            payment_id=payment_id,
            available_at=available_at if amount_cents > 0 else None,
        )

    def build(self, **fields) -> Transaction:
        return Transaction(postings=tuple(self.postings.values()), **fields)


# --- splits -------------------------------------------------------------------


def split_weights(outcome: RaceOutcome) -> dict[int, int]:
    """Each racer's weight in the race's pool under the season's split rule.

    even: every racer of the race weighs 1. winner_bonus: the winner (position 1)
    takes `winner_bonus_bps` of the pool and the others share the rest evenly
    (weights chosen so one allocation does both). by_points: league points of the
    race. When the rule cannot apply (no winner, no points), the split is even.
    An empty roster gives no weights: the pool then goes to the house.
    """
    results = [(r.racer_id, r.position, r.dnf, r.points) for r in outcome.results]
    return rule_weights(outcome.split, outcome.racer_ids, results)


def rule_weights(
    rule: SplitRule, racer_ids: Iterable[int], results: Sequence[tuple[int, int | None, bool, int]]
) -> dict[int, int]:
    """`split_weights` from a race's entrants and its results as (racer, position, dnf, points) rows.

    Reconcile weighs every final race of a league with this, from rows it read,
    without building a RaceOutcome per race.
    """
    racer_ids = sorted(set(racer_ids))
    if not racer_ids:
        return {}
    assert rule.policy in SPLIT_POLICIES, rule.policy
    even = dict.fromkeys(racer_ids, 1)
    if rule.policy == "winner_bonus":
        winners = [racer_id for racer_id, position, dnf, _points in results if position == 1 and not dnf]
        if len(winners) != 1 or winners[0] not in even:
            return even
        if len(racer_ids) == 1:
            return even
        bonus_bps = rule.winner_bonus_bps
        assert 0 <= bonus_bps <= BPS_PER_WHOLE, bonus_bps
        others_count = len(racer_ids) - 1
        # winner: bonus/W of the pool; each other: (W - bonus) / (W * others).
        weights = {racer_id: BPS_PER_WHOLE - bonus_bps for racer_id in racer_ids}
        weights[winners[0]] = bonus_bps * others_count
        if sum(weights.values()) == 0:
            return even
        return weights
    if rule.policy == "by_points":
        points = {racer_id: max(scored, 0) for racer_id, _position, _dnf, scored in results}
        weights = {racer_id: points.get(racer_id, 0) for racer_id in racer_ids}
        if sum(weights.values()) == 0:
            return even
        return weights
    return even


def split_pool(pool_cents: int, weights: dict[int, int], *, seed: str) -> dict[int, int]:
    """The pool split by `weights` (racer id -> weight) with the one allocator."""
    racer_ids = sorted(weights)
    assert racer_ids
    shares = allocate(pool_cents, [weights[racer_id] for racer_id in racer_ids], seed=seed)
    return dict(zip(racer_ids, shares, strict=True))


def season_deviation(races: Iterable[tuple[dict[int, int], dict[int, int]]]) -> dict[int, Fraction]:
    """Each racer's rounding so far over a season's races: cents held minus the exact share.

    `races` gives, per race, its weights (racer -> weight) and what each racer
    holds from it (racer -> cents). Negative: the odd cents went to others. An
    exact share costs no Fraction (reconcile recomputes 250,000 races with this).
    """
    deviation: dict[int, Fraction] = {}
    for weights, held in races:
        held_total_cents = sum(held.values())
        weight_total = sum(weights.values())
        for racer_id in {*weights, *held}:
            cents = held.get(racer_id, 0)
            if weight_total:  # cents - T*w/W, in W-ths of a cent first
                excess = cents * weight_total - held_total_cents * weights.get(racer_id, 0)
                rounding = Fraction(excess, weight_total) if excess else _NO_CENTS
            else:
                rounding = Fraction(cents)
            previous = deviation.get(racer_id)
            deviation[racer_id] = rounding if previous is None else previous + rounding
    return deviation


_NO_CENTS = Fraction(0)


def race_rounding(
    race_id: int, season_id: int | None, weights: dict[int, int], totals: dict[int, int]
) -> RaceRounding | None:
    """A final race's rounding while its racers hold `totals` (racer -> cents) by `weights`; None outside a season.

    The one definition of what `race_rounding_share` stores: a settle writes it,
    reconcile recomputes it from the ledger with this same function.
    """
    if season_id is None:
        return None
    deviation = season_deviation([(weights, totals)])
    return RaceRounding(race_id, season_id, tuple(sorted(deviation.items())))


def race_split_order(
    race_id: int, racer_ids: Iterable[int], deviation: dict[int, Fraction]
) -> tuple[int, ...]:
    """Who is first in line for a race's odd cents: the racers the season's rounding owes most.

    Ties (a season's first race, or racers owed alike) are broken by an order
    shuffled by the race's id, so no racer id is always first.
    """
    return tuple(
        sorted(
            set(racer_ids),
            key=lambda racer_id: (
                deviation.get(racer_id, Fraction(0)),
                hashlib.sha256(f"race:{race_id}\x1f{racer_id}".encode()).digest(),
            ),
        )
    )


def race_holdings(
    columns: Sequence[tuple[int, int]], weights: dict[int, int], order: Sequence[int]
) -> dict[int, dict[int, int]]:
    """What each racer should hold of each payment of a race (payment -> racer -> cents).

    `columns` are the race's payments in a fixed order (payment id) with the
    cents the racers hold of each, together. The racers' totals are the split
    of the race's whole pool (`allocate_in_order`, ties by `order`), so each is
    within one cent of its exact share; payment j's column is the split of the
    first j payments' cents minus the split of the first j-1, never negative
    because the split never shrinks as its total grows.
    """
    racer_ids = sorted(weights)
    assert racer_ids and set(order) == set(racer_ids), (racer_ids, order)
    weight_list = [weights[racer_id] for racer_id in racer_ids]
    position = {racer_id: index for index, racer_id in enumerate(racer_ids)}
    order_indexes = [position[racer_id] for racer_id in order]
    previous = [0] * len(racer_ids)
    cumulative_cents = 0
    holdings: dict[int, dict[int, int]] = {}
    for payment_id, cents in columns:
        assert cents >= 0, (payment_id, cents)
        cumulative_cents += cents
        current = allocate_in_order(cumulative_cents, weight_list, order=order_indexes)
        column = {
            racer_id: now - before for racer_id, now, before in zip(racer_ids, current, previous, strict=True)
        }
        assert all(share >= 0 for share in column.values()) and sum(column.values()) == cents
        holdings[payment_id] = column
        previous = current
    return holdings


def clawback_shares(amount_cents: int, credited_cents: dict[str, int], *, seed: str) -> dict[str, int]:
    """How much to take back from each credited account (code -> cents).

    In proportion to what each account still holds of the payment, with the same
    allocator; taking back everything returns exactly what each one got.
    """
    codes = sorted(code for code, cents in credited_cents.items() if cents > 0)
    held_total_cents = sum(credited_cents[code] for code in codes)
    if amount_cents > held_total_cents:
        raise RefundTooLarge("That is more than what remains of the payment to take back.")
    assert amount_cents > 0 and codes
    shares = allocate(amount_cents, [credited_cents[code] for code in codes], seed=seed)
    return dict(zip(codes, shares, strict=True))


# --- wallets ------------------------------------------------------------------


@dataclass(frozen=True)
class WalletBalances:
    """A racer's wallet as a racer reads it. All cents, none negative."""

    available_cents: int
    held_cents: int
    in_payout_cents: int
    debt_cents: int
    lifetime_earned_cents: int  # what was earned, before refunds took any back
    paid_out_cents: int
    refunds_taken_back_cents: int = 0  # refunds and chargebacks taken back, less disputes won back

    def __post_init__(self) -> None:
        for name in (
            "available_cents",
            "held_cents",
            "in_payout_cents",
            "debt_cents",
            "paid_out_cents",
            "refunds_taken_back_cents",
        ):
            assert getattr(self, name) >= 0, (name, getattr(self, name))
        assert self.debt_cents == 0 or self.available_cents + self.held_cents == 0

    @property
    def wallet_balance_cents(self) -> int:
        return self.available_cents + self.held_cents - self.debt_cents


def wallet_balances(
    *,
    wallet_balance_cents: int,
    held_credit_cents: int,
    in_payout_cents: int,
    lifetime_earned_cents: int,
    paid_out_cents: int,
    refunds_taken_back_cents: int = 0,
) -> WalletBalances:
    """Split a wallet balance into available, held and debt.

    Credits still in their hold period are held, up to what the wallet actually
    has (a refund may already have taken part of them back). A negative balance
    is debt: nothing is available until earnings cover it.
    """
    assert held_credit_cents >= 0
    positive_cents = max(wallet_balance_cents, 0)
    held_cents = min(held_credit_cents, positive_cents)
    summary = WalletBalances(
        available_cents=positive_cents - held_cents,
        held_cents=held_cents,
        in_payout_cents=in_payout_cents,
        debt_cents=max(-wallet_balance_cents, 0),
        lifetime_earned_cents=lifetime_earned_cents,
        paid_out_cents=paid_out_cents,
        refunds_taken_back_cents=refunds_taken_back_cents,
    )
    assert summary.wallet_balance_cents == wallet_balance_cents
    return summary


def check_payout_request(
    balances: WalletBalances, amount_cents: int, *, payout_min_cents: int, format_amount
) -> None:
    """Refuse a payout request that breaks a rule; the message says which."""
    if balances.debt_cents > 0:
        raise DebtBlocksPayout(
            f"You owe {format_amount(balances.debt_cents)} from refunded sales; "
            "new earnings clear it before you can cash out."
        )
    if amount_cents < payout_min_cents:
        raise BelowPayoutThreshold(f"The smallest payout is {format_amount(payout_min_cents)}.")
    if amount_cents > balances.available_cents:
        raise InsufficientFunds(
            f"You can withdraw up to {format_amount(balances.available_cents)} right now"
            + (f" ({format_amount(balances.held_cents)} is still on hold)." if balances.held_cents else ".")
        )


def require_reason(reason: str) -> str:
    cleaned = (reason or "").strip()
    if not REASON_LENGTH_MIN <= len(cleaned) <= REASON_LENGTH_MAX:
        raise InvalidInput(
            f"Give a reason of {REASON_LENGTH_MIN} to {REASON_LENGTH_MAX} characters; it is kept in the ledger."
        )
    return cleaned


class PayoutStatus(StrEnum):
    """Where a payout request stands (the payout row's `status`, stored as its text).

    The ledger is the truth: a payout is pending until its one decision
    transaction (`payout:<id>:decision`) pays it (`PAYOUT`), or releases its
    money back to the wallet (`PAYOUT_RELEASED`): an admin rejected it, or the
    racer cancelled it.
    """

    PENDING = "pending"
    PAID = "paid"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


PAYOUT_METHODS = {
    "store_credit": "store credit",
    "gift_card": "gift card",
    "paypal": "PayPal",
    "bank": "bank transfer",
}
# Paid only by a transfer to the racer's connected account (services/stripe_payouts.py), never marked by hand.
STRIPE_PAYOUT_METHOD = "stripe"
PAID_BY_WORDS = {**PAYOUT_METHODS, STRIPE_PAYOUT_METHOD: "Stripe"}  # every way a payout is paid, in words


def require_payout_method(method: str) -> str:
    key = (method or "").strip().lower().replace(" ", "_").replace("-", "_")
    if key not in PAYOUT_METHODS:
        raise InvalidInput("Choose a payout method: " + ", ".join(PAYOUT_METHODS.values()) + ".")
    return key


# --- events the ledger emits (for announcements and the live dashboard) --------


@dataclass(frozen=True)
class SaleRecorded:
    payment_id: int
    race_id: int | None
    gross_cents: int
    pool_cents: int
    item: str
    fan_name: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class TipRecorded:
    payment_id: int
    dj_racer_id: int
    tip_cents: int
    dj_cents: int
    fan_name: str | None
    song: str
    message: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class PayoutPaid:
    payout_id: int
    racer_id: int
    amount_cents: int
    method: str
    paid_at: datetime


@dataclass(frozen=True)
class PayoutRejected:
    payout_id: int
    racer_id: int
    amount_cents: int
    reason: str
    rejected_at: datetime


@dataclass(frozen=True)
class PayoutReturned:
    """A paid payout came back to the racer's wallet (its Stripe transfer reversed, in part or whole)."""

    payout_id: int
    racer_id: int
    amount_cents: int  # what came back this time
    transaction_key: str
    returned_at: datetime


@dataclass(frozen=True)
class WalletInDebt:
    """A refund or chargeback took back more than a racer's wallet held: they owe `debt_cents`."""

    racer_id: int
    debt_cents: int
    transaction_key: str  # the clawback's
    cause: str  # the clawback's TransactionKind: a refund or a dispute
    at: datetime

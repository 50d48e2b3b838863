"""Money as integer cents: the one formatter, the one parser, basis points, the allocator.

Floats never touch money. Every division here says where its remainder goes:

- `bps_part(amount_cents, rate_bps)` takes the floor of the rate's share; the
  fraction of a cent left over stays with the rest (`amount_cents - part`).
- `allocate(total_cents, weights, seed=...)` splits by largest remainder: each
  share is first floored, then the odd cents go one each to the shares with the
  largest remainders; ties (always the case for equal weights) are broken by an
  order shuffled by `seed`, so the odd cents of one transaction always land on
  the same racers, yet over many transactions they spread across everybody.
  It is for one-off splits by arbitrary weights (a refund across the accounts
  that hold a payment).
- `allocate_in_order(total_cents, weights, order=...)` splits a running total
  (a race's pool, which grows with late sales and shrinks with refunds): each
  share is the floor or the ceiling of its exact proportion, like largest
  remainder, and growing the total never takes a cent from anyone (largest
  remainder cannot promise that: the Alabama paradox). The odd cents go in a
  fixed cycle of `sum(weights)` cents, dealt earliest-deadline-first with ties
  broken by `order`, so the caller decides who is first in line.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from cozykart.domain.errors import InvalidInput

BPS_PER_WHOLE = 10_000
CENTS_PER_UNIT = 100
AMOUNT_CENTS_MAX = 100_000_000_00  # one hundred million units: far above any merch sale or payout
AMOUNT_TEXT_LENGTH_MAX = 32
ALLOCATION_SHARES_MAX = 10_000
CYCLE_CENTS_MAX = 2_000_000  # the reduced weights' sum: one cycle of odd cents (winner_bonus at odd bps)
CYCLES_CACHED_MAX = 256

_CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥"}

# "50", "50.5", "50.50", "$50.50", "1,234.56", ".99" (a leading currency symbol is allowed).
_AMOUNT_PATTERN = re.compile(
    r"^(?P<symbol>[$€£¥])?(?P<units>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<fraction>[0-9]*))?$"
)


def format_cents(amount_cents: int, currency: str = "USD") -> str:
    """The one way cents become text: 5000 -> "$50.00", -105 -> "-$1.05", 123456 -> "$1,234.56"."""
    assert isinstance(amount_cents, int) and not isinstance(amount_cents, bool), amount_cents
    sign = "-" if amount_cents < 0 else ""
    units, cents = divmod(abs(amount_cents), CENTS_PER_UNIT)
    symbol = _CURRENCY_SYMBOLS.get(currency.upper())
    number = f"{units:,}.{cents:02d}"
    if symbol is None:
        return f"{sign}{number} {currency.upper()}"
    return f"{sign}{symbol}{number}"


def parse_amount_cents(text: str) -> int:
    """Cents from what a person typed: "50" -> 5000, "50.5" -> 5050, "$1,234.56" -> 123456.

    Refuses negatives, more than two decimals, exponents, "nan" and anything that
    is not a plain amount, with a message the person can act on.
    """
    if not isinstance(text, str):
        raise InvalidInput("Type the amount as text, like 20.00.")
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise InvalidInput("Enter an amount, like 20.00.")
    if len(cleaned) > AMOUNT_TEXT_LENGTH_MAX:
        raise InvalidInput("That amount is too long to be real.")
    if cleaned.startswith(("-", "\u2212")):
        raise InvalidInput("The amount must be positive.")
    match = _AMOUNT_PATTERN.match(cleaned)
    if match is None or (match["units"] is None and not match["fraction"]):
        raise InvalidInput(f"{text.strip()!r} is not an amount; write it like 20 or 20.50.")
    fraction = match["fraction"]
    if fraction is not None and len(fraction) > 2:
        raise InvalidInput("Amounts have at most two decimals (whole cents).")
    units = int((match["units"] or "0").replace(",", ""))
    cents = int((fraction or "").ljust(2, "0"))
    amount_cents = units * CENTS_PER_UNIT + cents
    if amount_cents > AMOUNT_CENTS_MAX:
        raise InvalidInput(f"The amount is above the limit of {format_cents(AMOUNT_CENTS_MAX)}.")
    return amount_cents


def require_positive_cents(amount_cents: int, what: str = "The amount") -> int:
    """Refuse anything but a positive whole number of cents (never a float or a bool)."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise InvalidInput(f"{what} must be a whole number of cents.")
    if amount_cents <= 0:
        raise InvalidInput(f"{what} must be positive.")
    if amount_cents > AMOUNT_CENTS_MAX:
        raise InvalidInput(f"{what} is above the limit of {format_cents(AMOUNT_CENTS_MAX)}.")
    return amount_cents


def bps_part(amount_cents: int, rate_bps: int) -> int:
    """The floor of `rate_bps` basis points of `amount_cents`.

    The fraction of a cent that the floor drops stays with the rest of the amount
    (`amount_cents - bps_part(...)`), never created or lost.
    """
    assert amount_cents >= 0, amount_cents
    assert 0 <= rate_bps <= BPS_PER_WHOLE, rate_bps
    part_cents, _fraction_dropped = divmod(amount_cents * rate_bps, BPS_PER_WHOLE)
    assert 0 <= part_cents <= amount_cents
    return part_cents


def tie_break_order(count: int, seed: str) -> list[int]:
    """Indexes 0..count-1 in an order shuffled deterministically by `seed`."""
    return sorted(range(count), key=lambda index: hashlib.sha256(f"{seed}\x1f{index}".encode()).digest())


def allocate(total_cents: int, weights: Sequence[int], *, seed: str) -> list[int]:
    """Split `total_cents` in proportion to `weights`, conserving every cent.

    Largest remainder: share_i = floor(total * w_i / W); the cents left over go
    one each to the largest remainders, ties broken by `tie_break_order(seed)`.
    A zero weight never receives anything. The same inputs always give the same
    shares; a different seed moves the odd cents to other shares.
    """
    assert isinstance(total_cents, int) and total_cents >= 0, total_cents
    assert 0 < len(weights) <= ALLOCATION_SHARES_MAX, len(weights)
    assert all(isinstance(w, int) and w >= 0 for w in weights), weights
    weight_total = sum(weights)
    assert weight_total > 0, "at least one weight must be positive"

    shares_cents: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        share_cents, remainder = divmod(total_cents * weight, weight_total)
        shares_cents.append(share_cents)
        remainders.append(remainder)
    leftover_cents = total_cents - sum(shares_cents)
    # Each remainder is < weight_total, and they sum to leftover * weight_total,
    # so fewer odd cents are left than there are shares with a remainder.
    assert 0 <= leftover_cents < len(weights) or leftover_cents == 0

    rank = {index: position for position, index in enumerate(tie_break_order(len(weights), seed))}
    by_claim = sorted(range(len(weights)), key=lambda index: (-remainders[index], rank[index]))
    for index in by_claim[:leftover_cents]:
        assert remainders[index] > 0
        shares_cents[index] += 1

    assert sum(shares_cents) == total_cents
    assert all(share >= 0 for share in shares_cents)
    return shares_cents


def allocate_in_order(total_cents: int, weights: Sequence[int], *, order: Sequence[int]) -> list[int]:
    """Split `total_cents` in proportion to `weights`: within one cent, monotone in the total.

    With the weights reduced by their gcd to `w` (sum `W`), `total = k * W + s`:
    every share gets `k * w_i` exactly, and the `s` odd cents are the first `s`
    of a cycle of `W` cents dealt one at a time (`_odd_cent_cycle`). Properties:
    - share_i is floor or ceiling of total * w_i / sum(weights) (the quota);
    - allocate_in_order(total + 1) is allocate_in_order(total) plus one cent to
      one share (no share ever shrinks when the total grows);
    - equal weights: the odd cents go to the shares first in `order`, so shares
      differ by at most one cent; a zero weight never receives anything.
    `order` lists the indexes 0..len-1, first in line first.
    """
    assert isinstance(total_cents, int) and total_cents >= 0, total_cents
    assert 0 < len(weights) <= ALLOCATION_SHARES_MAX, len(weights)
    assert all(isinstance(w, int) and w >= 0 for w in weights), weights
    assert sorted(order) == list(range(len(weights))), order
    divisor = math.gcd(*weights)
    assert divisor > 0, "at least one weight must be positive"
    reduced = tuple(weight // divisor for weight in weights)
    rank = [0] * len(weights)
    for position, index in enumerate(order):
        rank[index] = position
    cycles, odd_cents = divmod(total_cents, sum(reduced))
    dealt = Counter(_odd_cent_cycle(reduced, tuple(rank))[:odd_cents])
    shares_cents = [cycles * weight + dealt[index] for index, weight in enumerate(reduced)]
    assert sum(shares_cents) == total_cents
    return shares_cents


@lru_cache(maxsize=CYCLES_CACHED_MAX)
def _odd_cent_cycle(weights: tuple[int, ...], rank: tuple[int, ...]) -> tuple[int, ...]:
    """Who gets each of the `W = sum(weights)` cents of one cycle, in turn.

    Share i's (a+1)-th cent may be dealt from cent number floor(a * W / w_i) + 1
    (earlier would put it above its ceiling) and must be dealt by cent number
    ceil((a + 1) * W / w_i) (later would leave it below its floor). Dealing each
    cent to the ready share with the earliest deadline (ties: lowest rank) meets
    every deadline, so every prefix of the cycle is within one cent of exact.
    """
    weight_total = sum(weights)
    assert 0 < weight_total <= CYCLE_CENTS_MAX, weight_total
    waiting = [(1, index) for index, weight in enumerate(weights) if weight > 0]  # (first cent, share)
    heapq.heapify(waiting)
    ready: list[tuple[int, int, int]] = []  # (deadline, rank, share)
    dealt = [0] * len(weights)
    cycle: list[int] = []
    for cent in range(1, weight_total + 1):
        while waiting and waiting[0][0] <= cent:
            _first, index = heapq.heappop(waiting)
            deadline = -(-(dealt[index] + 1) * weight_total // weights[index])
            heapq.heappush(ready, (deadline, rank[index], index))
        deadline, _rank, index = heapq.heappop(ready)
        assert deadline >= cent, "a share fell below its floor"
        cycle.append(index)
        dealt[index] += 1
        if dealt[index] < weights[index]:
            heapq.heappush(waiting, (dealt[index] * weight_total // weights[index] + 1, index))
    assert dealt == list(weights)
    return tuple(cycle)

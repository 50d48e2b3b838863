"""Every money transaction, built: one pure function per flow.

A builder takes plain values (amounts, names, what the ledger holds) and returns
a balanced `Transaction` whose every line says what it is for. A service loads
those facts, asks here, writes what comes back and emits; nothing here reads a
database or a clock. Each builder asserts the postings sum to zero (and
`Transaction` again when built); the repository asserts it a third time as it
writes the balances.

    sale_split / sale_transaction      a merch sale: COMMISSION, or HOUSE_CUT with no race live
    tip_split / tip_transaction        a DJ tip: TIP
    clawback_transaction               a refund or a dispute opened: REFUND_/DISPUTE_CLAWBACK
    reinstatement_transaction          a dispute won: DISPUTE_REINSTATED
    distribution_transaction           a final race's pool to its racers: POOL_DISTRIBUTION
    correction_transaction             a final race settled by corrected results: RESULT_CORRECTION
    payout_request_transaction         wallet -> in flight: PAYOUT_REQUEST
    payout_paid_transaction            in flight -> payouts sent: PAYOUT
    payout_rejected_transaction        in flight -> wallet: PAYOUT_RELEASED
    direct_payout_transaction          wallet -> payouts sent: PAYOUT
    adjustment_transaction             wallet <-> house: ADJUSTMENT

Whatever a final race's racers receive or give back is settled for the race as a
whole (`_settle_race`, docs/LEDGER.md "Race splits"): the service hands over a
`RaceBook` (what each racer holds of each of the race's payments, and the
season's other final races) and the domain posts, per payment and racer, what
the racer should hold less what it holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from cozykart.domain.errors import InvalidInput
from cozykart.domain.events import RaceOutcome
from cozykart.domain.ledger import (
    CLEARING,
    COSTS,
    HOUSE,
    PAID_BY_WORDS,
    PAYOUTS_SENT,
    AccountKind,
    AccountRef,
    RaceRounding,
    Transaction,
    TransactionBuilder,
    TransactionKind,
    assert_balanced,
    clawback_shares,
    in_flight_account,
    pool_account,
    race_holdings,
    race_rounding,
    race_split_order,
    split_weights,
    wallet_account,
)
from cozykart.domain.money import bps_part, format_cents

TRANSACTION_DESCRIPTION_LENGTH_MAX = 300

# --- facts a builder is given ---------------------------------------------------------


@dataclass(frozen=True)
class SaleFacts:
    """A payment as its lines name it: what was bought (or the song tipped for) and its gross."""

    item: str
    gross_cents: int


@dataclass(frozen=True)
class RaceBook:
    """What the ledger holds of a final race: all a settle of it needs.

    `held`: payment id -> racer id -> cents the racer's wallet holds of it.
    `sales`: payment id -> the payment, for the words of its lines.
    `season_rounding`: each racer's rounding over the season's other final races
      (cents held minus the exact share, summed: `season_deviation`).
    `hold_until`: when a credit posted now becomes available (None: no hold).
    """

    outcome: RaceOutcome
    held: Mapping[int, Mapping[int, int]]
    sales: Mapping[int, SaleFacts]
    season_rounding: Mapping[int, Fraction]
    hold_until: datetime | None
    currency: str


@dataclass(frozen=True)
class SaleRace:
    """The race live when a sale was paid. `book` is given when the race is final and the pool has cents."""

    race_id: int
    name: str
    final: bool
    book: RaceBook | None = None


@dataclass(frozen=True)
class SaleSplit:
    """A sale's gross: costs + pool + house."""

    cost_cents: int
    pool_cents: int
    house_cents: int


@dataclass(frozen=True)
class TipSplit:
    """A tip: the platform fee (floored) + what the DJ gets."""

    fee_cents: int
    dj_cents: int


@dataclass(frozen=True)
class PaymentFacts:
    """A recorded payment, as a refund, a dispute or its reinstatement needs it."""

    payment_id: int
    kind: str  # sale | tip
    item: str
    gross_cents: int
    race_id: int | None


@dataclass(frozen=True)
class Holding:
    """What one account holds of a payment (net over its postings)."""

    account: AccountRef
    net_cents: int


@dataclass(frozen=True)
class PostedLine:
    """A posting already written (a clawback's, when its dispute is won)."""

    account: AccountRef
    amount_cents: int
    description: str
    payment_id: int | None


@dataclass(frozen=True)
class Clawback:
    transaction: Transaction
    amount_cents: int  # returned to the fan
    taken_cents: dict[str, int]  # account code -> cents taken back


def hold_until(now: datetime, hold_days: int) -> datetime | None:
    """When a wallet credit posted at `now` becomes available; None with no hold period."""
    assert hold_days >= 0, hold_days
    return now + timedelta(days=hold_days) if hold_days > 0 else None


def sale_words(item: str, gross_cents: int, currency: str) -> str:
    return f"{item!r} sale ({format_cents(gross_cents, currency)})"


def _finish(builder: TransactionBuilder, **fields) -> Transaction:
    """The builder's postings as one transaction, its invariants asserted here (and by `Transaction`)."""
    postings = tuple(builder.postings.values())
    assert_balanced(postings)
    for posting in postings:
        assert posting.available_at is None or (
            posting.amount_cents > 0 and posting.account.kind == AccountKind.WALLET
        ), posting
    fields["description"] = fields["description"][:TRANSACTION_DESCRIPTION_LENGTH_MAX]
    return Transaction(postings=postings, rounding=builder.rounding, **fields)


# --- a final race's racers, settled as a whole ---------------------------------------


def race_order(book: RaceBook, weights: Mapping[int, int]) -> tuple[int, ...]:
    """The race's racers, first in line for its odd cents first (see `race_split_order`)."""
    deviation = dict(book.season_rounding) if book.outcome.season_id is not None else {}
    return race_split_order(book.outcome.race_id, weights, deviation)


def _settle_race(
    builder: TransactionBuilder,
    book: RaceBook,
    changes: Mapping[int, int],
    describe: Callable[[int, str], str | None],
) -> bool:
    """Post what each racer should hold of each payment of the race now, less what they hold.

    `changes` is this event's change to what the racers (together) hold of a
    payment: + a distribution, a late sale or a dispute won, - a refund. The
    targets are `race_holdings` of the race's payments (id order) by its
    weights, odd cents first to the racers the season's rounding owes most.
    `describe(payment_id, sale_words)` words this event's lines (None: a line
    that only moves odd cents, worded as such). False when the race has no
    racers (nothing is posted).
    """
    outcome = book.outcome
    weights = split_weights(outcome)
    if not weights:
        return False
    held = book.held
    words = {
        payment_id: sale_words(sale.item, sale.gross_cents, book.currency)
        for payment_id, sale in book.sales.items()
    }
    columns = [
        (payment_id, sum(held.get(payment_id, {}).values()) + changes.get(payment_id, 0))
        for payment_id in sorted({*held, *changes})
    ]
    target = race_holdings(columns, weights, race_order(book, weights))
    builder.rounding = _race_rounding(outcome, weights, target)
    for payment_id, _cents in columns:
        was, should = held.get(payment_id, {}), target[payment_id]
        for racer_id in sorted({*was, *should}):
            line = describe(payment_id, words[payment_id])
            builder.post(
                wallet_account(racer_id),
                should.get(racer_id, 0) - was.get(racer_id, 0),
                line or f"Odd cents of race {outcome.name!r} handed round again ({words[payment_id]})",
                payment_id=payment_id,
                available_at=book.hold_until,
            )
    return True


def _race_rounding(
    outcome: RaceOutcome, weights: Mapping[int, int], held: Mapping[int, Mapping[int, int]]
) -> RaceRounding | None:
    """The race's rounding while its racers hold `held` (payment -> racer -> cents): `race_rounding` of the totals."""
    totals: dict[int, int] = dict.fromkeys(weights, 0)
    for by_racer in held.values():
        for racer_id, cents in by_racer.items():
            totals[racer_id] = totals.get(racer_id, 0) + cents
    return race_rounding(outcome.race_id, outcome.season_id, dict(weights), totals)


def settled_rounding(book: RaceBook) -> RaceRounding | None:
    """The race's rounding as the book holds it, by its (perhaps corrected) weights; None without racers."""
    weights = split_weights(book.outcome)
    return _race_rounding(book.outcome, weights, book.held) if weights else None


def _credit_race(
    builder: TransactionBuilder, book: RaceBook, changes: Mapping[int, int], *, suffix: str
) -> None:
    """Give a final race's racers these payments' cents (payment -> cents), or the house if it has none."""
    name = book.outcome.name

    def describe(payment_id: int, words: str) -> str | None:
        return f"Share of {words}{suffix} in race {name!r}" if payment_id in changes else None

    if _settle_race(builder, book, changes, describe):
        return
    for payment_id, cents in changes.items():
        sale = book.sales[payment_id]
        builder.post(
            HOUSE,
            cents,
            f"Pool of {sale_words(sale.item, sale.gross_cents, book.currency)}{suffix}: race {name!r} had no racers",
            payment_id=payment_id,
        )


# --- money in ---------------------------------------------------------------------------


def sale_split(gross_cents: int, cost_cents: int, commission_rate_bps: int, *, race_live: bool) -> SaleSplit:
    """The gross less its cost is the base; the pool is the commission rate of it, floored (the rest: house)."""
    assert 0 <= cost_cents <= gross_cents, (cost_cents, gross_cents)
    base_cents = gross_cents - cost_cents
    pool_cents = bps_part(base_cents, commission_rate_bps) if race_live else 0
    split = SaleSplit(cost_cents=cost_cents, pool_cents=pool_cents, house_cents=base_cents - pool_cents)
    assert split.cost_cents + split.pool_cents + split.house_cents == gross_cents
    assert min(split.pool_cents, split.house_cents) >= 0, split
    return split


def sale_transaction(
    *,
    key: str,
    reference: str,
    payment_id: int,
    item: str,
    gross_cents: int,
    split: SaleSplit,
    race: SaleRace | None,
    sold_at: datetime,
    currency: str,
) -> Transaction:
    """Clearing -gross; costs, the house share, and the race's pool (or its racers, once final)."""
    assert split.cost_cents + split.pool_cents + split.house_cents == gross_cents, (split, gross_cents)
    words = sale_words(item, gross_cents, currency)
    builder = TransactionBuilder()
    builder.post(CLEARING, -gross_cents, f"Paid in for {words}", payment_id=payment_id)
    builder.post(COSTS, split.cost_cents, f"Manufacturing cost of {words}", payment_id=payment_id)
    if race is None:
        assert split.pool_cents == 0
        builder.post(
            HOUSE, split.house_cents, f"{words}, no race live: all to the house", payment_id=payment_id
        )
        kind, description = TransactionKind.HOUSE_CUT, f"Merch sale: {words}, no race live"
    else:
        builder.post(
            HOUSE, split.house_cents, f"House share of {words} in race {race.name!r}", payment_id=payment_id
        )
        if not race.final:
            builder.post(
                pool_account(race.race_id),
                split.pool_cents,
                f"Commission on {words} into the Live Pot of race {race.name!r}",
                payment_id=payment_id,
            )
        elif split.pool_cents > 0:
            assert race.book is not None and race.book.outcome.race_id == race.race_id
            book = _with_sale(race.book, payment_id, SaleFacts(item, gross_cents))
            _credit_race(builder, book, {payment_id: split.pool_cents}, suffix="")
        kind, description = TransactionKind.COMMISSION, f"Merch sale: {words} during race {race.name!r}"
    return _finish(
        builder,
        key=key,
        kind=kind,
        description=description,
        reference=reference,
        occurred_at=sold_at,
        payment_id=payment_id,
        race_id=race.race_id if race is not None else None,
    )


def _with_sale(book: RaceBook, payment_id: int, sale: SaleFacts) -> RaceBook:
    sales = {**book.sales, payment_id: sale}
    return replace(book, sales=sales)


def tip_split(tip_cents: int, tip_fee_bps: int) -> TipSplit:
    """The platform fee is the fee rate of the tip, floored; the DJ gets the rest (the odd fraction too)."""
    fee_cents = bps_part(tip_cents, tip_fee_bps)
    split = TipSplit(fee_cents=fee_cents, dj_cents=tip_cents - fee_cents)
    assert split.fee_cents + split.dj_cents == tip_cents and min(split.fee_cents, split.dj_cents) >= 0, split
    return split


def tip_transaction(
    *,
    key: str,
    reference: str,
    payment_id: int,
    dj_racer_id: int,
    tip_cents: int,
    split: TipSplit,
    song: str,
    fan_name: str | None,
    tipped_at: datetime,
    hold_until: datetime | None,
    currency: str,
) -> Transaction:
    """Clearing -tip, house +fee, the DJ's wallet +the rest (held)."""
    assert split.fee_cents + split.dj_cents == tip_cents, (split, tip_cents)
    money = format_cents(tip_cents, currency)
    words = f"Tip from {fan_name or 'a fan'} for {song!r} ({money})"
    builder = TransactionBuilder()
    builder.post(CLEARING, -tip_cents, f"Paid in: {words}", payment_id=payment_id)
    builder.post(HOUSE, split.fee_cents, f"Platform fee on {words}", payment_id=payment_id)
    builder.post(
        wallet_account(dj_racer_id),
        split.dj_cents,
        f"{words}, less {format_cents(split.fee_cents, currency)} fee",
        payment_id=payment_id,
        available_at=hold_until,
    )
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.TIP,
        description=words,
        reference=reference,
        occurred_at=tipped_at,
        payment_id=payment_id,
    )


# --- money taken back, and returned ----------------------------------------------------


def clawback_transaction(
    *,
    key: str,
    kind: TransactionKind,
    words: str,
    payment: PaymentFacts,
    amount_cents: int | None,
    holdings: Sequence[Holding],
    book: RaceBook | None,
    at: datetime,
    currency: str,
) -> Clawback:
    """Clearing +amount; each account the payment credited -its share, in proportion.

    `amount_cents` None takes back whatever remains. The racers of a final race
    (`book`) count as one holder: what they give back together is then settled
    so the race stays fair to the cent, which for a full refund is exactly what
    each got of it. Refused when nothing remains or the amount is more than remains.
    """
    assert kind in (TransactionKind.REFUND_CLAWBACK, TransactionKind.DISPUTE_CLAWBACK), kind
    credited = {
        h.account.code: h.net_cents
        for h in holdings
        if h.account.kind != AccountKind.CLEARING and h.net_cents > 0
    }
    refs = {h.account.code: h.account for h in holdings}
    remaining_cents = sum(credited.values())
    if remaining_cents == 0:
        raise InvalidInput("Nothing remains of that payment to take back.")
    amount_cents = remaining_cents if amount_cents is None else amount_cents
    money = format_cents(amount_cents, currency)
    what = f"{payment.item!r} {payment.kind} ({format_cents(payment.gross_cents, currency)})"
    builder = TransactionBuilder()
    builder.post(
        CLEARING, amount_cents, f"{words} {what}: {money} returned to the fan", payment_id=payment.payment_id
    )
    line = f"{words} {what}: taken back in proportion"
    shares, racers_cents = _clawback_by_holder(amount_cents, credited, refs, book, seed=key)
    for code, share_cents in shares.items():
        builder.post(refs[code], -share_cents, line, payment_id=payment.payment_id)
    taken_cents = shares
    if racers_cents:
        assert book is not None
        book = _with_sale(book, payment.payment_id, SaleFacts(payment.item, payment.gross_cents))
        _settle_race(
            builder,
            book,
            {payment.payment_id: -racers_cents},
            lambda payment_id, _w: line if payment_id == payment.payment_id else None,
        )
        taken_cents = {
            code: -posting.amount_cents
            for (code, payment_id), posting in builder.postings.items()
            if payment_id == payment.payment_id and code != CLEARING.code
        }
    transaction = _finish(
        builder,
        key=key,
        kind=kind,
        description=f"{words} {what}: {money}",
        reference=key,
        occurred_at=at,
        payment_id=payment.payment_id,
        race_id=payment.race_id,
    )
    assert sum(taken_cents.values()) == amount_cents, (taken_cents, amount_cents)
    return Clawback(transaction, amount_cents, taken_cents)


def _clawback_by_holder(
    amount_cents: int,
    credited: Mapping[str, int],
    refs: Mapping[str, AccountRef],
    book: RaceBook | None,
    *,
    seed: str,
) -> tuple[dict[str, int], int]:
    """The amount split in proportion over the holders (code -> cents), and the final race's racers' part.

    The racers of a final race (`book`) count as one holder; the caller
    settles their part for the race as a whole.
    """
    racers_slot = f"race:{book.outcome.race_id}:racers" if book is not None else None
    grouped: dict[str, int] = defaultdict(int)
    for code, cents in credited.items():
        grouped[racers_slot if racers_slot and refs[code].kind == AccountKind.WALLET else code] += cents
    shares = clawback_shares(amount_cents, dict(grouped), seed=seed)
    racers_cents = shares.pop(racers_slot, 0) if racers_slot else 0
    return shares, racers_cents


def reinstatement_transaction(
    *,
    key: str,
    reference: str,
    clawback_description: str,
    lines: Sequence[PostedLine],
    payment_id: int | None,
    race_id: int | None,
    payment: PaymentFacts | None,
    book: RaceBook | None,
    at: datetime,
    hold_until: datetime | None,
    currency: str,
) -> Transaction:
    """The clawback's postings negated (wallet credits held); what returns to a final race's racers is settled."""
    builder = TransactionBuilder()
    racers_cents = 0
    for row in lines:
        if book is not None and row.account.kind in (AccountKind.RACE_POOL, AccountKind.WALLET):
            racers_cents -= row.amount_cents
            continue
        builder.post(
            row.account,
            -row.amount_cents,
            f"Dispute won, reinstated: {row.description}",
            payment_id=row.payment_id,
            available_at=hold_until if row.account.kind == AccountKind.WALLET else None,
        )
    if racers_cents:
        assert book is not None and payment is not None
        book = _with_sale(book, payment.payment_id, SaleFacts(payment.item, payment.gross_cents))
        _credit_race(builder, book, {payment.payment_id: racers_cents}, suffix=", dispute won")
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.DISPUTE_REINSTATED,
        description=f"Dispute won: {clawback_description}",
        reference=reference,
        occurred_at=at,
        payment_id=payment_id,
        race_id=race_id,
    )


# --- race pools -------------------------------------------------------------------------


def distribution_transaction(
    *, key: str, book: RaceBook, pool: Sequence[tuple[int, int, SaleFacts]], at: datetime
) -> Transaction | None:
    """Everything a final race's pool holds (payment id, net cents, sale) to its racers; None if empty."""
    assert book.outcome.is_final, book.outcome.status
    outcome = book.outcome
    builder = TransactionBuilder()
    changes: dict[int, int] = {}
    sales = dict(book.sales)
    for payment_id, net_cents, sale in pool:
        assert net_cents > 0, (payment_id, net_cents)
        builder.post(
            pool_account(outcome.race_id),
            -net_cents,
            f"Live Pot of race {outcome.name!r} paid out to its racers",
            payment_id=payment_id,
        )
        changes[payment_id] = net_cents
        sales[payment_id] = sale
    if not changes:
        return None
    book = replace(book, sales=sales)
    _credit_race(builder, book, changes, suffix="")
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.POOL_DISTRIBUTION,
        description=f"Race {outcome.name!r} is final: its Live Pot split among its racers",
        reference=f"race:{outcome.race_id}",
        occurred_at=at,
        race_id=outcome.race_id,
    )


def correction_transaction(*, key: str, book: RaceBook, reason: str, at: datetime) -> Transaction | None:
    """A final race's racers settled again by its corrected results; None when nothing moves."""
    outcome = book.outcome

    def describe(_payment_id: int, words: str) -> str:
        return f"Result fix in race {outcome.name!r} ({reason}): share of {words}"

    builder = TransactionBuilder()
    if not _settle_race(builder, book, {}, describe) or not builder.postings:
        return None
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.RESULT_CORRECTION,
        description=f"Results of race {outcome.name!r} corrected: {reason}",
        reference=f"race:{outcome.race_id}",
        occurred_at=at,
        race_id=outcome.race_id,
    )


# --- money out ------------------------------------------------------------------------------


def payout_request_transaction(
    *,
    key: str,
    payout_id: int,
    racer_id: int,
    racer_name: str,
    amount_cents: int,
    at: datetime,
    currency: str,
) -> Transaction:
    """Wallet -x, in flight +x: the racer's request, waiting for an admin."""
    assert amount_cents > 0, amount_cents
    money = format_cents(amount_cents, currency)
    builder = TransactionBuilder()
    builder.post(wallet_account(racer_id), -amount_cents, f"Payout #{payout_id} requested ({money})")
    builder.post(in_flight_account(racer_id), amount_cents, f"Payout #{payout_id} waiting for an admin")
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.PAYOUT_REQUEST,
        description=f"{racer_name} requested payout #{payout_id} of {money}",
        reference=f"payout:{payout_id}",
        occurred_at=at,
        payout_id=payout_id,
        actor_racer_id=racer_id,
    )


def payout_paid_transaction(
    *,
    key: str,
    payout_id: int,
    racer_id: int,
    amount_cents: int,
    method: str,
    reference: str,
    admin_racer_id: int,
    at: datetime,
    currency: str,
) -> Transaction:
    """In flight -x, payouts sent +x: an admin paid a requested payout."""
    money, method_words = format_cents(amount_cents, currency), PAID_BY_WORDS[method]
    return _paid_out(
        key=key,
        payout_id=payout_id,
        amount_cents=amount_cents,
        from_account=in_flight_account(racer_id),
        from_words=f"Payout #{payout_id} paid by {method_words} (ref {reference})",
        sent_words=f"Payout #{payout_id} of {money} by {method_words}",
        description=f"Payout #{payout_id} of {money} paid by {method_words} (ref {reference})",
        admin_racer_id=admin_racer_id,
        at=at,
    )


def _paid_out(
    *,
    key: str,
    payout_id: int,
    amount_cents: int,
    from_account: AccountRef,
    from_words: str,
    sent_words: str,
    description: str,
    admin_racer_id: int,
    at: datetime,
) -> Transaction:
    """`from_account` -x, payouts sent +x: money that left the league (a PAYOUT)."""
    assert amount_cents > 0, amount_cents
    builder = TransactionBuilder()
    builder.post(from_account, -amount_cents, from_words)
    builder.post(PAYOUTS_SENT, amount_cents, sent_words)
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.PAYOUT,
        description=description,
        reference=f"payout:{payout_id}",
        occurred_at=at,
        payout_id=payout_id,
        actor_racer_id=admin_racer_id,
    )


def payout_rejected_transaction(
    *,
    key: str,
    payout_id: int,
    racer_id: int,
    amount_cents: int,
    reason: str,
    admin_racer_id: int,
    at: datetime,
    currency: str,
) -> Transaction:
    """In flight -x, wallet +x: an admin rejected a requested payout, with a reason."""
    assert amount_cents > 0, amount_cents
    money = format_cents(amount_cents, currency)
    builder = TransactionBuilder()
    builder.post(in_flight_account(racer_id), -amount_cents, f"Payout #{payout_id} rejected")
    builder.post(
        wallet_account(racer_id),
        amount_cents,
        f"Payout #{payout_id} rejected ({reason}): {money} back in your wallet",
    )
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.PAYOUT_RELEASED,
        description=f"Payout #{payout_id} of {money} rejected: {reason}",
        reference=f"payout:{payout_id}",
        occurred_at=at,
        payout_id=payout_id,
        actor_racer_id=admin_racer_id,
    )


def payout_returned_transaction(
    *,
    key: str,
    payout_id: int,
    racer_id: int,
    amount_cents: int,
    transfer_id: str,
    at: datetime,
    currency: str,
) -> Transaction:
    """Payouts sent -x, wallet +x: Stripe reversed (part of) a paid payout's transfer; the money is the racer's
    again."""
    assert amount_cents > 0, amount_cents
    money = format_cents(amount_cents, currency)
    builder = TransactionBuilder()
    builder.post(
        PAYOUTS_SENT, -amount_cents, f"Payout #{payout_id}: {money} of Stripe transfer {transfer_id} back"
    )
    builder.post(
        wallet_account(racer_id),
        amount_cents,
        f"Payout #{payout_id} came back: Stripe reversed {money} of its transfer, back in your wallet",
    )
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.PAYOUT_RETURNED,
        description=f"Payout #{payout_id}: Stripe reversed {money} of transfer {transfer_id}",
        reference=f"payout:{payout_id}",
        occurred_at=at,
        payout_id=payout_id,
        actor_racer_id=None,
    )


def payout_cancelled_transaction(
    *, key: str, payout_id: int, racer_id: int, amount_cents: int, at: datetime, currency: str
) -> Transaction:
    """In flight -x, wallet +x: the racer withdrew their pending payout request."""
    assert amount_cents > 0, amount_cents
    money = format_cents(amount_cents, currency)
    builder = TransactionBuilder()
    builder.post(in_flight_account(racer_id), -amount_cents, f"Payout #{payout_id} cancelled")
    builder.post(
        wallet_account(racer_id), amount_cents, f"Payout #{payout_id} cancelled: {money} back in your wallet"
    )
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.PAYOUT_RELEASED,
        description=f"Payout #{payout_id} of {money} cancelled by the racer",
        reference=f"payout:{payout_id}",
        occurred_at=at,
        payout_id=payout_id,
        actor_racer_id=racer_id,
    )


def direct_payout_transaction(
    *,
    key: str,
    payout_id: int,
    racer_id: int,
    racer_name: str,
    amount_cents: int,
    method: str,
    reference: str,
    admin_racer_id: int,
    at: datetime,
    currency: str,
) -> Transaction:
    """Wallet -x, payouts sent +x: an admin paid a racer directly."""
    money, method_words = format_cents(amount_cents, currency), PAID_BY_WORDS[method]
    return _paid_out(
        key=key,
        payout_id=payout_id,
        amount_cents=amount_cents,
        from_account=wallet_account(racer_id),
        from_words=f"Payout #{payout_id} paid by {method_words} (ref {reference})",
        sent_words=f"Direct payout #{payout_id} of {money} to {racer_name}",
        description=f"Direct payout #{payout_id} of {money} to {racer_name} by {method_words}",
        admin_racer_id=admin_racer_id,
        at=at,
    )


def adjustment_transaction(
    *,
    key: str,
    racer_id: int,
    racer_name: str,
    admin_racer_id: int,
    admin_name: str,
    amount_cents: int,
    reason: str,
    at: datetime,
    currency: str,
) -> Transaction:
    """Wallet ±x, house ∓x: an admin's correction, with the reason on every line."""
    assert amount_cents != 0, amount_cents
    words = f"Adjustment by {admin_name}: {reason}"
    builder = TransactionBuilder()
    builder.post(wallet_account(racer_id), amount_cents, words)
    builder.post(HOUSE, -amount_cents, f"{words} ({racer_name}, {format_cents(amount_cents, currency)})")
    return _finish(
        builder,
        key=key,
        kind=TransactionKind.ADJUSTMENT,
        description=words,
        reference=f"racer:{racer_id}",
        occurred_at=at,
        actor_racer_id=admin_racer_id,
    )

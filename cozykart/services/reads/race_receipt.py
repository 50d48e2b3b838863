"""`/races/[id]`: a race's public receipt, every figure summed from the ledger's postings.

The pot of a race is what its sales' postings put on the race's pool account and
its racers' wallets: the commissions in, less what refunds and chargebacks took
back, plus what a won chargeback reinstated. Each racer's share is the sum of
their wallet's postings for those sales (the distribution, a late sale, an
admin's fix, a clawback); what is not shared yet is still on the pool account.
The shares and the pool's rest add up to the pot, asserted here when read.

Fans appear as on the Watch feed (`services/reads/pot.py`): the name they chose,
or "A fan", and never beside a refunded or disputed payment; no message, no
provider name, no cardholder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlmodel import col

from cozykart.db import ledger_repo
from cozykart.db.tables import Race, RaceEntry, Racer, ResultFix, Season
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import RaceNotFound, RaceStatus, split_policy_words
from cozykart.domain.ledger import AccountKind, TransactionKind, pool_code
from cozykart.services.reads.pot import ANONYMOUS_FAN, payment_reversals
from cozykart.services.reads.watch import racer_name

RECEIPT_PAYMENTS_MAX = 500  # the sales (and the tips) a receipt lists; a race night has far fewer
_CLAWBACK_KINDS = (TransactionKind.REFUND_CLAWBACK, TransactionKind.DISPUTE_CLAWBACK)
# Where a wallet posting of the race counts on the receipt; the rest (the split, a late sale) is "distributed".
_RACER_BUCKETS = {
    TransactionKind.RESULT_CORRECTION: "fixed",
    TransactionKind.REFUND_CLAWBACK: "back",
    TransactionKind.DISPUTE_CLAWBACK: "back",
    TransactionKind.DISPUTE_REINSTATED: "back",
}
REVERSAL_WORDS = {
    TransactionKind.REFUND_CLAWBACK: "Refund",
    TransactionKind.DISPUTE_CLAWBACK: "Chargeback opened",
    TransactionKind.DISPUTE_REINSTATED: "Chargeback won: reinstated",
}


@dataclass(frozen=True)
class ReceiptResult:
    racer_id: int
    name: str
    position: int | None  # None: no result yet, or DNF (see `dnf`)
    dnf: bool
    points: int | None
    distributed_cents: int  # the split of the pool and any late sale
    fixed_cents: int  # moved by admins' result fixes (+ or -)
    taken_back_cents: int  # refunds and chargebacks, net of reinstatements (>= 0 taken)
    share_cents: int  # what the racer holds of the race: the three above


@dataclass(frozen=True)
class ReceiptPayment:
    payment_id: int
    kind: str  # sale | tip
    fan_name: str
    what: str  # the item, or the song
    gross_cents: int
    into_pot_cents: int  # the commission this sale put into the pot (0 for a tip: it is the DJ's)
    taken_back_cents: int  # what refunds and chargebacks took back of it from the pot
    occurred_at: datetime
    reversal: str  # "refunded", "disputed" or ""


@dataclass(frozen=True)
class ReceiptReversal:
    what: str  # "Refund", "Chargeback opened"...
    item: str
    returned_cents: int  # to the fan (negative when a won chargeback brought it back)
    pot_cents: int  # the pot's change: negative when taken back
    occurred_at: datetime


@dataclass(frozen=True)
class ReceiptFix:
    racer_name: str
    old: str
    new: str
    reason: str
    by_name: str
    fixed_at: datetime


@dataclass(frozen=True)
class RaceReceipt:
    race_id: int
    name: str
    status: str
    season_name: str | None
    split_words: str
    started_at: datetime | None
    ended_at: datetime | None
    finalized_at: datetime | None
    currency: str
    pot_in_cents: int
    taken_back_cents: int
    reinstated_cents: int
    pot_cents: int  # pot_in - taken_back + reinstated
    undistributed_cents: int  # still on the pool account
    results: tuple[ReceiptResult, ...]
    sales: tuple[ReceiptPayment, ...]
    tips: tuple[ReceiptPayment, ...]
    reversals: tuple[ReceiptReversal, ...]
    fixes: tuple[ReceiptFix, ...]

    @property
    def shares_cents(self) -> int:
        return sum(result.share_cents for result in self.results)


@dataclass
class _Book:
    """The race's postings on its pool and its racers' wallets, summed as the receipt needs."""

    pot_in: int = 0
    taken_back: int = 0
    reinstated: int = 0
    undistributed: int = 0
    # racer -> bucket ("distributed", "fixed", "back") -> cents
    by_racer: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    # payment -> bucket ("in", "back") -> cents
    by_payment: dict[int, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )


def race_receipt(race_id: int, *, uow: UnitOfWork, now: datetime) -> RaceReceipt:
    """The race's receipt. Raises RaceNotFound for an id no race has."""
    with uow:
        session = uow.session
        race = session.get(Race, race_id)
        if race is None:
            raise RaceNotFound(race_id)
        season = session.get(Season, race.season_id) if race.season_id is not None else None
        connection = session.connection()
        book = _book(connection, race_id)
        receipt = RaceReceipt(
            race_id=race.id,
            name=race.name,
            status=race.status,
            season_name=season.name if season else None,
            split_words=split_policy_words(season.split_policy, season.winner_bonus_bps)
            if season
            else "The season's split, once the race starts.",
            started_at=race.started_at,
            ended_at=race.ended_at,
            finalized_at=race.finalized_at,
            currency=uow.base_settings.currency,
            pot_in_cents=book.pot_in,
            taken_back_cents=book.taken_back,
            reinstated_cents=book.reinstated,
            pot_cents=book.pot_in - book.taken_back + book.reinstated,
            undistributed_cents=book.undistributed,
            results=_results(session, race_id, book),
            sales=_sales(connection, race_id, book),
            tips=_tips(connection, race, now) if race.started_at is not None else (),
            reversals=_reversal_lines(connection, race_id),
            fixes=_fixes(session, race_id),
        )
    # Asserted when read, as when written: nothing of the pot is lost or counted twice.
    assert receipt.shares_cents + receipt.undistributed_cents == receipt.pot_cents, receipt
    assert receipt.pot_cents >= 0 and receipt.undistributed_cents >= 0, receipt
    return receipt


def _book(connection: Connection, race_id: int) -> _Book:
    posting, account = ledger_repo.posting_table, ledger_repo.account_table
    transaction, payment = ledger_repo.transaction_table, ledger_repo.payment_table
    rows: Sequence[Any] = connection.execute(
        select(
            posting.c.amount_cents,
            posting.c.payment_id,
            account.c.kind,
            account.c.racer_id,
            transaction.c.kind,
        )
        .join(account, account.c.id == posting.c.account_id)
        .join(transaction, transaction.c.id == posting.c.transaction_id)
        .join(payment, payment.c.id == posting.c.payment_id)
        .where(
            payment.c.race_id == race_id,
            payment.c.kind == "sale",
            or_(account.c.code == pool_code(race_id), account.c.kind == AccountKind.WALLET),
        )
    ).all()
    book = _Book()
    for amount_cents, payment_id, account_kind, racer_id, kind in rows:
        if kind == TransactionKind.COMMISSION:
            book.pot_in += amount_cents
            book.by_payment[payment_id]["in"] += amount_cents
        elif kind in _CLAWBACK_KINDS:
            book.taken_back -= amount_cents
            book.by_payment[payment_id]["back"] -= amount_cents
        elif kind == TransactionKind.DISPUTE_REINSTATED:
            book.reinstated += amount_cents
            book.by_payment[payment_id]["back"] -= amount_cents
        if account_kind != AccountKind.WALLET:
            book.undistributed += amount_cents
            continue
        book.by_racer[racer_id][_RACER_BUCKETS.get(kind, "distributed")] += amount_cents
    return book


def _results(session, race_id: int, book: _Book) -> tuple[ReceiptResult, ...]:
    rows = session.execute(
        select(RaceEntry, Racer)
        .join(Racer, col(Racer.id) == RaceEntry.racer_id)
        .where(col(RaceEntry.race_id) == race_id)
        .order_by(col(RaceEntry.dnf), col(RaceEntry.position).nulls_last(), col(RaceEntry.joined_at))
    ).all()
    results = []
    for entry, racer in rows:
        money = book.by_racer.get(racer.id, {})
        results.append(
            ReceiptResult(
                racer_id=racer.id,
                name=racer_name(racer),
                position=None if entry.dnf else entry.position,
                dnf=entry.dnf,
                points=entry.points,
                distributed_cents=money.get("distributed", 0),
                fixed_cents=money.get("fixed", 0),
                taken_back_cents=-money.get("back", 0),
                share_cents=sum(money.values()),
            )
        )
    # A racer who left the race but kept money of it (never, today) would be lost to the sum: say so.
    assert set(book.by_racer) <= {result.racer_id for result in results}, book.by_racer
    return tuple(results)


def _payment_lines(connection: Connection, rows, book: _Book | None) -> tuple[ReceiptPayment, ...]:
    reversals = payment_reversals(connection, [row.id for row in rows])
    lines = []
    for row in rows:
        money = book.by_payment.get(row.id, {}) if book is not None else {}
        lines.append(
            ReceiptPayment(
                payment_id=row.id,
                kind=row.kind,
                # As on the Watch feed: a reversed payment is never shown beside a name.
                fan_name=(None if row.id in reversals else row.fan_name) or ANONYMOUS_FAN,
                what=row.item,
                gross_cents=row.gross_cents,
                into_pot_cents=money.get("in", 0),
                taken_back_cents=money.get("back", 0),
                occurred_at=row.occurred_at,
                reversal=reversals.get(row.id, ""),
            )
        )
    return tuple(lines)


def _sales(connection: Connection, race_id: int, book: _Book) -> tuple[ReceiptPayment, ...]:
    payment = ledger_repo.payment_table
    rows = connection.execute(
        select(payment)
        .where(payment.c.race_id == race_id, payment.c.kind == "sale")
        .order_by(payment.c.occurred_at, payment.c.id)
        .limit(RECEIPT_PAYMENTS_MAX)
    ).all()
    return _payment_lines(connection, rows, book)


def _tips(connection: Connection, race: Race, now: datetime) -> tuple[ReceiptPayment, ...]:
    """The tips paid while the race was live, `[started_at, ended_at)`: the DJ's, not the pot's."""
    payment = ledger_repo.payment_table
    rows = connection.execute(
        select(payment)
        .where(
            payment.c.kind == "tip",
            and_(payment.c.occurred_at >= race.started_at, payment.c.occurred_at < (race.ended_at or now)),
        )
        .order_by(payment.c.occurred_at, payment.c.id)
        .limit(RECEIPT_PAYMENTS_MAX)
    ).all()
    return _payment_lines(connection, rows, None)


def _reversal_lines(connection: Connection, race_id: int) -> tuple[ReceiptReversal, ...]:
    posting, account = ledger_repo.posting_table, ledger_repo.account_table
    transaction, payment = ledger_repo.transaction_table, ledger_repo.payment_table
    rows = connection.execute(
        select(transaction.c.id, transaction.c.kind, transaction.c.occurred_at, payment.c.item)
        .join(payment, payment.c.id == transaction.c.payment_id)
        .where(
            payment.c.race_id == race_id,
            payment.c.kind == "sale",
            transaction.c.kind.in_((*_CLAWBACK_KINDS, TransactionKind.DISPUTE_REINSTATED)),
        )
        .order_by(transaction.c.occurred_at, transaction.c.id)
    ).all()
    if not rows:
        return ()
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    postings: list[Any] = list(
        connection.execute(
            select(posting.c.transaction_id, account.c.kind, posting.c.amount_cents, account.c.code)
            .join(account, account.c.id == posting.c.account_id)
            .where(posting.c.transaction_id.in_([row.id for row in rows]))
        )
    )
    for transaction_id, kind, amount_cents, code in postings:
        if kind == AccountKind.CLEARING:
            sums[transaction_id]["returned"] += amount_cents
        elif kind == AccountKind.WALLET or code == pool_code(race_id):
            sums[transaction_id]["pot"] += amount_cents
    return tuple(
        ReceiptReversal(
            what=REVERSAL_WORDS[row.kind],
            item=row.item,
            returned_cents=sums[row.id]["returned"],
            pot_cents=sums[row.id]["pot"],
            occurred_at=row.occurred_at,
        )
        for row in rows
    )


def _result_words(position: int | None, dnf: bool) -> str:
    if dnf:
        return "DNF"
    return "no result" if position is None else f"#{position}"


def _fixes(session, race_id: int) -> tuple[ReceiptFix, ...]:
    rows = (
        session.execute(
            select(ResultFix)
            .where(col(ResultFix.race_id) == race_id)
            .order_by(col(ResultFix.created_at), col(ResultFix.id))
        )
        .scalars()
        .all()
    )
    ids = {fix.racer_id for fix in rows} | {fix.actor_racer_id for fix in rows}
    names = {
        racer.id: racer_name(racer)
        for racer in session.execute(select(Racer).where(col(Racer.id).in_(ids))).scalars()
    }
    return tuple(
        ReceiptFix(
            racer_name=names.get(fix.racer_id, "a racer"),
            old=_result_words(fix.old_position, fix.old_dnf),
            new=_result_words(fix.new_position, fix.new_dnf),
            reason=fix.reason,
            by_name=names.get(fix.actor_racer_id, "an admin"),
            fixed_at=fix.created_at,
        )
        for fix in rows
    )


def last_final_race_id(*, uow: UnitOfWork) -> int | None:
    """The race that became final last (the lobby's "Last race"), or None."""
    with uow:
        return uow.session.execute(
            select(col(Race.id))
            .where(col(Race.status) == RaceStatus.FINAL)
            .order_by(col(Race.finalized_at).desc().nulls_last(), col(Race.id).desc())
            .limit(1)
        ).scalar_one_or_none()


def last_race_receipt(*, uow: UnitOfWork, now: datetime) -> RaceReceipt | None:
    """The receipt of the race that became final last, or None before any race is final."""
    race_id = last_final_race_id(uow=uow)
    return race_receipt(race_id, uow=uow, now=now) if race_id is not None else None

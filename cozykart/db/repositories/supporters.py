"""The supporters repository: what fans who chose a public display name gave, summed per name.

One aggregate query per board, on the payments (`ledger_payment`) and their
reversals (`ledger_transaction`):
- a payment counts in a race when it was attributed to that race (`race_id`: a
  sale, in the race whose commission window held it), or it has no race (every
  tip, which carries none) and was paid inside the race's window
  `[started_at, ended_at)`;
- in a season: what its races' attributed, and what had no race (tips, sales
  while no race was live) paid in its span, from its first race's start to its
  last race's end (open while one is live);
- its gross counts (what the fan paid), unless a refund took any of it back or
  a chargeback on it is still open (a won dispute counts again): the same rule
  that keeps a reversed payment's name out of the Live Pot feed;
- only payments with a recorded `fan_name` count: the ledger records only a
  name the fan chose to show (`domain/payments.FanFacts.public_name`), so a
  private or nameless buyer is in no row.

Payments carry no fan identity, so the rows group by the name as recorded:
two fans who chose the same display name are one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, CompoundSelect, case, func, or_, select, union_all

from cozykart.db import ledger_repo
from cozykart.db.repositories import Repository
from cozykart.db.tables import Race
from cozykart.domain.ledger import TransactionKind

_payment = ledger_repo.payment_table
_transaction = ledger_repo.transaction_table
_race = Race.__table__


@dataclass(frozen=True)
class SupporterTotal:
    fan_name: str
    total_cents: int
    payments: int
    first_at: datetime  # the name's first counted payment: the tie-break (who gave first ranks higher)


_REVERSAL_KINDS = (
    TransactionKind.REFUND_CLAWBACK,
    TransactionKind.DISPUTE_CLAWBACK,
    TransactionKind.DISPUTE_REINSTATED,
)


def _reversed_payment_ids():
    """Payments a refund took money back from, or that an open chargeback holds."""
    kind = _transaction.c.kind

    def count(of: TransactionKind):
        return func.sum(case((kind == of, 1), else_=0))

    return (
        select(_transaction.c.payment_id)
        .where(
            # `+ 0`: the few reversal kinds drive the scan (by the index on kind), not every
            # transaction that has a payment (which the index on payment_id would read).
            (_transaction.c.payment_id + 0).is_not(None),
            kind.in_(
                (
                    TransactionKind.REFUND_CLAWBACK,
                    TransactionKind.DISPUTE_CLAWBACK,
                    TransactionKind.DISPUTE_REINSTATED,
                )
            ),
        )
        .group_by(_transaction.c.payment_id)
        .having(
            or_(
                count(TransactionKind.REFUND_CLAWBACK) > 0,
                count(TransactionKind.DISPUTE_CLAWBACK) > count(TransactionKind.DISPUTE_REINSTATED),
            )
        )
    )


def _raceless_from(started_at, race_id=_payment.c.race_id) -> list[ColumnElement[bool]]:
    """Payments with no race (every tip; a sale while no race was live) paid at or after `started_at`."""
    return [race_id.is_(None), _payment.c.occurred_at >= started_at]


def _payments(*conditions: ColumnElement[bool]):
    """The counted payments that meet `conditions`: named, and neither refunded nor held by a chargeback."""
    return select(_payment.c.fan_name, _payment.c.gross_cents, _payment.c.occurred_at).where(
        *conditions,
        _payment.c.fan_name.is_not(None),
        _payment.c.fan_name != "",
        _payment.c.id.not_in(_reversed_payment_ids()),
    )


@dataclass(frozen=True)
class SeasonSpan:
    """What bounds a season's board: its first race's start, its last race's end, and its races."""

    started_at: datetime | None  # None: no race of the season has started, nothing counts
    ended_at: datetime | None
    still_live: int  # races started and not ended
    races: int  # races ever started in the season: a race joining it changes what counts


@dataclass(frozen=True)
class PaymentMarks:
    """Where the payments and their reversals stand, read in one statement (one snapshot).

    Payments and transactions are append-only, so a count that grew by exactly the
    rows above the last seen id means nothing else arrived.
    """

    payments: int
    payment_id_max: int
    payments_after: int  # how many have an id above the `after` asked for
    reversals: int  # refund and dispute transactions, ever


class SupportersRepository(Repository):
    def top_of_race(
        self, race_id: int, started_at: datetime, ended_at: datetime | None, *, limit: int
    ) -> list[SupporterTotal]:
        """The top `limit` public names of one race: its sales and the tips paid in its window."""
        tips = _raceless_from(started_at)
        if ended_at is not None:
            tips.append(_payment.c.occurred_at < ended_at)
        return self._top(union_all(_payments(_payment.c.race_id == race_id), _payments(*tips)), limit)

    def season_span(self, season_id: int) -> SeasonSpan:
        race = _race.c
        started_at, ended_at, still_live, races = self.connection.execute(
            select(
                func.min(race.started_at),
                func.max(race.ended_at),
                func.count().filter(race.ended_at.is_(None)),
                func.count(),
            ).where(race.season_id == season_id, race.started_at.is_not(None))
        ).one()
        return SeasonSpan(started_at, ended_at, int(still_live or 0), int(races or 0))

    def payment_marks(self, after_payment_id: int) -> PaymentMarks:
        reversals = (
            select(func.count())
            .select_from(_transaction)
            .where(_transaction.c.kind.in_([str(kind) for kind in _REVERSAL_KINDS]))
            .scalar_subquery()
        )
        payments, id_max, after, reversal_count = self.connection.execute(
            select(
                func.count(),
                func.coalesce(func.max(_payment.c.id), 0),
                func.count().filter(_payment.c.id > after_payment_id),
                reversals,
            ).select_from(_payment)
        ).one()
        return PaymentMarks(int(payments), int(id_max), int(after or 0), int(reversal_count))

    def totals_of_season(
        self, season_id: int, span: SeasonSpan, *, after_payment_id: int, up_to_payment_id: int
    ) -> list[SupporterTotal]:
        """Every public name's total in the season, over payments with ids in (after, up_to]."""
        if span.started_at is None:
            return []  # no race of the season has started: nothing counts yet
        race = _race.c
        ids = (_payment.c.id > after_payment_id, _payment.c.id <= up_to_payment_id)
        # A few new payments: `race_id + 0` keeps the planner on the id range (an index on race_id
        # would read every tip of the season, then drop all but the new ones), and each new sale
        # looks its race up (`IN` would list the season's every race first). The first tally is
        # every payment: there the indexes and the list are the way.
        race_id = _payment.c.race_id + 0 if after_payment_id else _payment.c.race_id
        in_season = (
            select(race.id).where(race.id == _payment.c.race_id, race.season_id == season_id).exists()
            if after_payment_id
            else race_id.in_(select(race.id).where(race.season_id == season_id))
        )
        sales = _payments(in_season, *ids)
        tips = _raceless_from(span.started_at, race_id)
        if not span.still_live:
            tips.append(_payment.c.occurred_at < span.ended_at)
        return self._top(union_all(sales, _payments(*tips, *ids)), None)

    def top_of_season(self, season_id: int, *, limit: int) -> list[SupporterTotal]:
        """The top `limit` public names of a season: its races' sales, and what had no race in its span."""
        span = self.season_span(season_id)
        if span.started_at is None:
            return []  # no race of the season has started: nothing counts yet
        race = _race.c
        sales = _payments(_payment.c.race_id.in_(select(race.id).where(race.season_id == season_id)))
        tips = _raceless_from(span.started_at)
        if not span.still_live:
            tips.append(_payment.c.occurred_at < span.ended_at)
        return self._top(union_all(sales, _payments(*tips)), limit)

    def _top(self, counted: CompoundSelect, limit: int | None) -> list[SupporterTotal]:
        rows = counted.subquery()
        total = func.sum(rows.c.gross_cents)
        first_at = func.min(rows.c.occurred_at)
        query = (
            select(rows.c.fan_name, total, func.count(), first_at)
            .group_by(rows.c.fan_name)
            .order_by(total.desc(), first_at.asc(), rows.c.fan_name.asc())
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            SupporterTotal(fan_name=name, total_cents=int(cents), payments=int(count), first_at=at)
            for name, cents, count, at in self.connection.execute(query)
        ]

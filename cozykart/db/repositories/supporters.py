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


def _reversed_payment_ids():
    """Payments a refund took money back from, or that an open chargeback holds."""
    kind = _transaction.c.kind

    def count(of: TransactionKind):
        return func.sum(case((kind == of, 1), else_=0))

    return (
        select(_transaction.c.payment_id)
        .where(
            _transaction.c.payment_id.is_not(None),
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


def _raceless_from(started_at) -> list[ColumnElement[bool]]:
    """Payments with no race (every tip; a sale while no race was live) paid at or after `started_at`."""
    return [_payment.c.race_id.is_(None), _payment.c.occurred_at >= started_at]


def _payments(*conditions: ColumnElement[bool]):
    """The counted payments that meet `conditions`: named, and neither refunded nor held by a chargeback."""
    return select(_payment.c.fan_name, _payment.c.gross_cents, _payment.c.occurred_at).where(
        *conditions,
        _payment.c.fan_name.is_not(None),
        _payment.c.fan_name != "",
        _payment.c.id.not_in(_reversed_payment_ids()),
    )


class SupportersRepository(Repository):
    def top_of_race(
        self, race_id: int, started_at: datetime, ended_at: datetime | None, *, limit: int
    ) -> list[SupporterTotal]:
        """The top `limit` public names of one race: its sales and the tips paid in its window."""
        tips = _raceless_from(started_at)
        if ended_at is not None:
            tips.append(_payment.c.occurred_at < ended_at)
        return self._top(union_all(_payments(_payment.c.race_id == race_id), _payments(*tips)), limit)

    def top_of_season(self, season_id: int, *, limit: int) -> list[SupporterTotal]:
        """The top `limit` public names of a season: its races' sales, and what had no race in its span."""
        race = _race.c
        span = self.connection.execute(
            select(
                func.min(race.started_at),
                func.max(race.ended_at),
                func.count().filter(race.ended_at.is_(None)),
            ).where(race.season_id == season_id, race.started_at.is_not(None))
        ).one()
        started_at, ended_at, still_live = span
        if started_at is None:
            return []  # no race of the season has started: nothing counts yet
        sales = _payments(_payment.c.race_id.in_(select(race.id).where(race.season_id == season_id)))
        tips = _raceless_from(started_at)
        if not still_live:
            tips.append(_payment.c.occurred_at < ended_at)
        return self._top(union_all(sales, _payments(*tips)), limit)

    def _top(self, counted: CompoundSelect, limit: int) -> list[SupporterTotal]:
        rows = counted.subquery()
        total = func.sum(rows.c.gross_cents)
        first_at = func.min(rows.c.occurred_at)
        query = (
            select(rows.c.fan_name, total, func.count(), first_at)
            .group_by(rows.c.fan_name)
            .order_by(total.desc(), first_at.asc(), rows.c.fan_name.asc())
            .limit(limit)
        )
        return [
            SupporterTotal(fan_name=name, total_cents=int(cents), payments=int(count), first_at=at)
            for name, cents, count, at in self.connection.execute(query)
        ]

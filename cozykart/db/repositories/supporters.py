"""The supporters repository: what fans who chose a public display name gave, summed per name.

One aggregate query per board, on the payments (`ledger_payment`) and their
reversals (`ledger_transaction`):
- a payment counts in a race when it is a sale attributed to that race
  (`race_id`, the race whose commission window held the sale), or a tip (tips
  carry no race) paid inside the race's window `[started_at, ended_at)`;
- in a season, when it counts in one of the season's races (windows of two
  races never overlap: one race is live at a time, so nothing counts twice);
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

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select

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


def _a_tip_from(started_at) -> list[ColumnElement[bool]]:
    """A tip (tips carry no race) paid at or after `started_at` (a value or a column)."""
    return [_payment.c.kind == "tip", _payment.c.race_id.is_(None), _payment.c.occurred_at >= started_at]


class SupportersRepository(Repository):
    def top_of_race(
        self, race_id: int, started_at: datetime, ended_at: datetime | None, *, limit: int
    ) -> list[SupporterTotal]:
        """The top `limit` public names of one race: its sales and the tips paid in its window."""
        tip = _a_tip_from(started_at)
        if ended_at is not None:
            tip.append(_payment.c.occurred_at < ended_at)
        counted = or_(_payment.c.race_id == race_id, and_(*tip))
        return self._top(counted, limit)

    def top_of_season(self, season_id: int, *, limit: int) -> list[SupporterTotal]:
        """The top `limit` public names of a season: its races' sales and the tips paid in their windows."""
        season_races = select(_race.c.id).where(_race.c.season_id == season_id)
        tip_in_a_race = exists(
            select(_race.c.id).where(
                _race.c.season_id == season_id,
                _race.c.started_at.is_not(None),
                *_a_tip_from(_race.c.started_at),
                or_(_race.c.ended_at.is_(None), _payment.c.occurred_at < _race.c.ended_at),
            )
        )
        counted = or_(_payment.c.race_id.in_(season_races), tip_in_a_race)
        return self._top(counted, limit)

    def _top(self, counted: ColumnElement[bool], limit: int) -> list[SupporterTotal]:
        total = func.sum(_payment.c.gross_cents)
        first_at = func.min(_payment.c.occurred_at)
        query = (
            select(_payment.c.fan_name, total, func.count(), first_at)
            .where(
                counted,
                _payment.c.fan_name.is_not(None),
                _payment.c.fan_name != "",
                _payment.c.id.not_in(_reversed_payment_ids()),
            )
            .group_by(_payment.c.fan_name)
            .order_by(total.desc(), first_at.asc(), _payment.c.fan_name.asc())
            .limit(limit)
        )
        return [
            SupporterTotal(fan_name=name, total_cents=int(cents), payments=int(count), first_at=at)
            for name, cents, count, at in self.connection.execute(query)
        ]

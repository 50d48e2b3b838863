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

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    DateTime,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

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


def _reversal_kinds(dialect: str) -> ColumnElement[bool]:
    """A transaction of a reversal kind, said so that SQLite reads the index on kind.

    Reversals are few among a league's transactions, but SQLite's statistics
    (`ANALYZE`) keep one average per index: a handful of kinds over every
    transaction looks unselective, so with them it scanned the whole index on
    payment_id instead (31 ms a board at 200,000 payments, 1 ms this way).
    `likelihood` tells its planner how rare the term is; it changes no result.
    """
    term = _transaction.c.kind.in_([str(kind) for kind in _REVERSAL_KINDS])
    return func.likelihood(term, literal_column("0.001")) if dialect == "sqlite" else term


def _reversed_payment_ids(dialect: str):
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
            _reversal_kinds(dialect),
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


def _payments(dialect: str, *conditions: ColumnElement[bool]):
    """The counted payments that meet `conditions`: named, and neither refunded nor held by a chargeback."""
    return select(_payment.c.fan_name, _payment.c.gross_cents, _payment.c.occurred_at).where(
        *conditions,
        _payment.c.fan_name.is_not(None),
        _payment.c.fan_name != "",
        _payment.c.id.not_in(_reversed_payment_ids(dialect)),
    )


@dataclass(frozen=True)
class SeasonSpan:
    """What bounds a season's board: its first race's start, and its last race's window.

    Races never overlap (a race starts no earlier than the last one ended, and
    one at a time is live: `services/league.start_race`, `ux_race_one_live`) and
    a race joins its season as it starts, so the season's last race is the one
    that started last, and a race starting or ending changes this span. Both
    ends are read from the index on (season_id, started_at, ended_at): one
    probe each, however many races the season holds.
    """

    started_at: datetime | None  # the first race's start; None: no race of the season has started
    last_started_at: datetime | None
    ended_at: datetime | None  # the last race's end; None while it is live

    @property
    def still_live(self) -> bool:
        """The season's last race is live: the span is open."""
        return self.started_at is not None and self.ended_at is None


@dataclass(frozen=True)
class PaymentMarks:
    """Which payments exist above an id, and the reversals so far, read in one statement (one snapshot).

    Payments and transactions are append-only, but PostgreSQL hands out ids
    before commit: an id missing below the highest one read may still arrive
    (a transaction in flight) or never will (one that rolled back). The board's
    tally keeps those holes and asks again from the lowest; `settled_before`
    says when a hole can no longer fill.
    """

    ids: tuple[int, ...]  # every payment id above the id asked for, ascending
    reversals: int  # refund and dispute transactions, ever
    read_at: datetime | None  # PostgreSQL: when the statement began; a hole seen now was allocated before
    # PostgreSQL: every other transaction still open began after this instant (None: one is hidden
    # from this role, or SQLite, where one writer at a time takes the next id and no hole can fill).
    settled_before: datetime | None


_OLDEST_OPEN_TRANSACTION = literal_column(
    "(SELECT CASE WHEN bool_or(state IS NULL) THEN NULL"
    " ELSE coalesce(min(xact_start), clock_timestamp()) END"
    " FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend' AND pid <> pg_backend_pid())",
    DateTime(timezone=True),
)


class SupportersRepository(Repository):
    def top_of_race(
        self, race_id: int, started_at: datetime, ended_at: datetime | None, *, limit: int
    ) -> list[SupporterTotal]:
        """The top `limit` public names of one race: its sales and the tips paid in its window."""
        tips = _raceless_from(started_at)
        if ended_at is not None:
            tips.append(_payment.c.occurred_at < ended_at)
        dialect = self.dialect
        counted = union_all(_payments(dialect, _payment.c.race_id == race_id), _payments(dialect, *tips))
        return self._top(counted, limit)

    def season_span(self, season_id: int) -> SeasonSpan:
        race = _race.c

        def first(*order):
            return (
                select(race.started_at, race.ended_at)
                .where(race.season_id == season_id, race.started_at.is_not(None))
                .order_by(*order)
                .limit(1)
                .subquery()
            )

        first_race, last_race = (
            first(race.started_at.asc()),
            first(race.started_at.desc(), race.ended_at.desc()),
        )
        row = self.connection.execute(
            select(first_race.c.started_at, last_race.c.started_at, last_race.c.ended_at).select_from(
                first_race.join(last_race, literal(True))
            )
        ).one_or_none()
        return SeasonSpan(None, None, None) if row is None else SeasonSpan(*row)

    def payment_marks(self, above_payment_id: int) -> PaymentMarks:
        """The payment ids above `above_payment_id` and the reversal count, in one statement."""
        reversals = select(func.count()).select_from(_transaction).where(_reversal_kinds(self.dialect))
        postgres = self.dialect == "postgresql"
        head = select(
            reversals.scalar_subquery().label("reversals"),
            (func.statement_timestamp() if postgres else literal(None)).label("read_at"),
            (_OLDEST_OPEN_TRANSACTION if postgres else literal(None)).label("settled_before"),
        ).subquery()
        rows = self.connection.execute(
            select(head.c.reversals, head.c.read_at, head.c.settled_before, _payment.c.id)
            .select_from(head.outerjoin(_payment, _payment.c.id > above_payment_id))
            .order_by(_payment.c.id)
        ).all()
        reversal_count, read_at, settled_before, _ = rows[0]
        ids = tuple(payment_id for *_, payment_id in rows if payment_id is not None)
        return PaymentMarks(ids, int(reversal_count), read_at, settled_before)

    def totals_of_season(
        self,
        season_id: int,
        span: SeasonSpan,
        *,
        after_payment_id: int,
        up_to_payment_id: int,
        also_ids: tuple[int, ...] = (),
    ) -> list[SupporterTotal]:
        """Every public name's total in the season, over payments with ids in (after, up_to] or in `also_ids`."""
        if span.started_at is None:
            return []  # no race of the season has started: nothing counts yet
        race = _race.c
        in_range = and_(_payment.c.id > after_payment_id, _payment.c.id <= up_to_payment_id)
        ids = or_(in_range, _payment.c.id.in_(also_ids)) if also_ids else in_range
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
        dialect = self.dialect
        sales = _payments(dialect, in_season, ids)
        tips = _raceless_from(span.started_at, race_id)
        if not span.still_live:
            tips.append(_payment.c.occurred_at < span.ended_at)
        return self._top(union_all(sales, _payments(dialect, *tips, ids)), None)

    def top_of_season(self, season_id: int, *, limit: int) -> list[SupporterTotal]:
        """The top `limit` public names of a season: its races' sales, and what had no race in its span."""
        span = self.season_span(season_id)
        if span.started_at is None:
            return []  # no race of the season has started: nothing counts yet
        race = _race.c
        dialect = self.dialect
        sales = _payments(dialect, _payment.c.race_id.in_(select(race.id).where(race.season_id == season_id)))
        tips = _raceless_from(span.started_at)
        if not span.still_live:
            tips.append(_payment.c.occurred_at < span.ended_at)
        return self._top(union_all(sales, _payments(dialect, *tips)), limit)

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

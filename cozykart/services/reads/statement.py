"""A racer's yearly statement, for taxes: what they earned by kind, what refunds took back, what was paid out.

From the ledger alone (every figure is a sum of postings on the racer's wallet, or
of their paid payouts), by calendar month in UTC, by when it happened (a race's
shares when it became final, a tip when it was paid, a payout when it was paid):

- race shares (POOL_DISTRIBUTION), tips gross, less the platform's tip fee (TIP:
  the wallet got the gross less the payment's fee), result fixes and admin
  adjustments (either sign);
- refunds and chargebacks taken back (REFUND_CLAWBACK, DISPUTE_CLAWBACK) and
  disputes won back (DISPUTE_REINSTATED), each its own figure;
- net earned: the sum of the above, which is what those transactions moved on the wallet;
- paid out by method (the payouts marked paid, by the method they were paid with), and
  payouts returned (a paid Stripe transfer reversed: back in the wallet, not earnings).

`racer_statement` is the racer's own (from their session); `league_statement` is every
racer's, for admins and the CLI. `statement_csv` writes either as CSV (names made safe
for spreadsheets).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, select

from cozykart.db import ledger_repo
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput
from cozykart.domain.ledger import AccountKind, PayoutStatus, TransactionKind
from cozykart.domain.payout_destination import DESTINATION_METHODS
from cozykart.domain.spreadsheet import decimal_amount, spreadsheet_cell
from cozykart.services.actors import load_actor, load_admin

YEAR_MIN = 2000
YEAR_MAX = 2100
MONTHS = 12
# Which figure of a month each wallet movement adds to (payout movements are none of them).
_FIGURE_OF_KIND = {
    TransactionKind.POOL_DISTRIBUTION: "race_shares",
    TransactionKind.TIP: "tips_net",
    TransactionKind.RESULT_CORRECTION: "result_fixes",
    TransactionKind.ADJUSTMENT: "adjustments",
    TransactionKind.REFUND_CLAWBACK: "taken_back",
    TransactionKind.DISPUTE_CLAWBACK: "taken_back",
    TransactionKind.DISPUTE_REINSTATED: "won_back",
    TransactionKind.PAYOUT_RETURNED: "payouts_returned",  # not earnings: a paid payout that came back
}
FIGURES = (
    "race_shares",
    "tips_gross",
    "tip_fees",
    "result_fixes",
    "adjustments",
    "taken_back",
    "won_back",
    "payouts_returned",
)

_account = ledger_repo.account_table
_payment = ledger_repo.payment_table
_posting = ledger_repo.posting_table
_transaction = ledger_repo.transaction_table
_payout = ledger_repo.payout_table


@dataclass
class StatementMonth:
    """One month's figures, in cents; refunds taken back and fees are positive amounts."""

    month: int  # 1..12, or 0 for the year's total
    race_shares: int = 0
    tips_gross: int = 0
    tip_fees: int = 0
    result_fixes: int = 0
    adjustments: int = 0
    taken_back: int = 0
    won_back: int = 0
    payouts_returned: int = 0  # paid payouts that came back to the wallet (a Stripe transfer reversed)
    paid_out: dict[str, int] = field(default_factory=dict)  # method -> cents, as paid

    @property
    def net_earned(self) -> int:
        return (
            self.race_shares
            + self.tips_gross
            - self.tip_fees
            + self.result_fixes
            + self.adjustments
            - self.taken_back
            + self.won_back
        )

    @property
    def paid_out_total(self) -> int:
        """What left for good: paid, less what came back."""
        return sum(self.paid_out.values()) - self.payouts_returned

    def add(self, other: StatementMonth) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for method, cents in other.paid_out.items():
            self.paid_out[method] = self.paid_out.get(method, 0) + cents


@dataclass(frozen=True)
class RacerStatement:
    racer_id: int
    name: str
    year: int
    currency: str
    months: tuple[StatementMonth, ...]  # January to December

    @property
    def total(self) -> StatementMonth:
        total = StatementMonth(month=0)
        for month in self.months:
            total.add(month)
        return total


def require_year(raw: object) -> int:
    """A calendar year as a person typed it (2026), or InvalidInput."""
    text = str(raw).strip()
    if not (text.isdigit() and YEAR_MIN <= int(text) <= YEAR_MAX):
        raise InvalidInput(f"Give a year from {YEAR_MIN} to {YEAR_MAX}, like 2026.")
    return int(text)


def _bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _month_of(instant: datetime) -> int:
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC).month


def _wallet_rows(connection: Connection, year: int, racer_id: int | None) -> list:
    start, end = _bounds(year)
    statement = (
        select(
            _account.c.racer_id,
            _transaction.c.kind,
            _transaction.c.occurred_at,
            _posting.c.amount_cents,
            _payment.c.fee_cents,
        )
        .select_from(
            _posting.join(_account, _account.c.id == _posting.c.account_id)
            .join(_transaction, _transaction.c.id == _posting.c.transaction_id)
            .outerjoin(
                _payment,
                and_(_payment.c.id == _transaction.c.payment_id, _transaction.c.kind == TransactionKind.TIP),
            )
        )
        .where(
            _account.c.kind == AccountKind.WALLET,
            _transaction.c.kind.in_(list(_FIGURE_OF_KIND)),
            _transaction.c.occurred_at >= start,
            _transaction.c.occurred_at < end,
        )
    )
    if racer_id is not None:
        statement = statement.where(_account.c.racer_id == racer_id)
    return list(connection.execute(statement).all())


def _paid_rows(connection: Connection, year: int, racer_id: int | None) -> list:
    start, end = _bounds(year)
    statement = select(
        _payout.c.racer_id, _payout.c.method, _payout.c.decided_at, _payout.c.amount_cents
    ).where(_payout.c.status == PayoutStatus.PAID, _payout.c.decided_at >= start, _payout.c.decided_at < end)
    if racer_id is not None:
        statement = statement.where(_payout.c.racer_id == racer_id)
    return list(connection.execute(statement).all())


def _months_by_racer(
    connection: Connection, year: int, racer_id: int | None
) -> dict[int, list[StatementMonth]]:
    months: dict[int, list[StatementMonth]] = defaultdict(
        lambda: [StatementMonth(month=number) for number in range(1, MONTHS + 1)]
    )
    for owner, kind, occurred_at, amount_cents, fee_cents in _wallet_rows(connection, year, racer_id):
        month = months[owner][_month_of(occurred_at) - 1]
        figure = _FIGURE_OF_KIND[TransactionKind(kind)]
        if figure == "tips_net":
            fee = int(fee_cents or 0)
            month.tips_gross += amount_cents + fee
            month.tip_fees += fee
        elif figure == "taken_back":
            month.taken_back -= amount_cents  # a clawback is a debit: taken back is positive
        else:
            setattr(month, figure, getattr(month, figure) + amount_cents)
    for owner, method, decided_at, amount_cents in _paid_rows(connection, year, racer_id):
        month = months[owner][_month_of(decided_at) - 1]
        key = method or "unknown"
        month.paid_out[key] = month.paid_out.get(key, 0) + amount_cents
    return months


def _names(uow: UnitOfWork, racer_ids) -> dict[int, str]:
    return {racer.id: racer.display_name for racer in uow.league.racers(racer_ids)}


def racer_statement(racer_id: int, year: object, *, uow: UnitOfWork) -> RacerStatement:
    """The racer's own statement for `year` (`racer_id` always from their session)."""
    wanted = require_year(year)
    with uow:
        actor = load_actor(uow, racer_id)
        months = _months_by_racer(uow.session.connection(), wanted, actor.racer_id)
        return RacerStatement(
            racer_id=actor.racer_id,
            name=actor.display_name,
            year=wanted,
            currency=uow.base_settings.currency,
            months=tuple(months[actor.racer_id]),
        )


def league_statement(actor_id: int | None, year: object, *, uow: UnitOfWork) -> tuple[RacerStatement, ...]:
    """Every racer with a movement in `year`, by name: for an admin (`actor_id`), or the operator (None, the CLI)."""
    wanted = require_year(year)
    with uow:
        if actor_id is not None:
            load_admin(uow, actor_id)
        months = _months_by_racer(uow.session.connection(), wanted, None)
        names = _names(uow, list(months))
        currency = uow.base_settings.currency
        statements = [
            RacerStatement(owner, names.get(owner, f"racer {owner}"), wanted, currency, tuple(racer_months))
            for owner, racer_months in months.items()
        ]
        return tuple(sorted(statements, key=lambda statement: (statement.name.lower(), statement.racer_id)))


def _methods(statements) -> list[str]:
    used = {method for statement in statements for month in statement.months for method in month.paid_out}
    return [method for method in DESTINATION_METHODS if method in used] + sorted(
        used - set(DESTINATION_METHODS)
    )


CSV_FIGURE_COLUMNS = (
    ("race_shares", "race_shares"),
    ("tips_gross", "tips_gross"),
    ("tip_fees", "tip_fees"),
    ("result_fixes", "result_fixes"),
    ("adjustments", "adjustments"),
    ("refunds_taken_back", "taken_back"),
    ("disputes_won_back", "won_back"),
    ("payouts_returned", "payouts_returned"),
)


def statement_csv(statements, *, with_racer: bool) -> str:
    """The statements as CSV: one row per racer and month with a movement, then each racer's year total."""
    methods = _methods(statements)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    currency = statements[0].currency.lower() if statements else "usd"
    header = (["racer_id", "racer"] if with_racer else []) + ["year", "month"]
    header += [f"{column}_{currency}" for column, _ in CSV_FIGURE_COLUMNS]
    header += [f"net_earned_{currency}"] + [f"paid_out_{method}_{currency}" for method in methods]
    writer.writerow(header)
    for statement in statements:
        rows = [month for month in statement.months if _has_movement(month)] + [statement.total]
        for month in rows:
            lead = [statement.racer_id, spreadsheet_cell(statement.name)] if with_racer else []
            writer.writerow(
                lead
                + [statement.year, f"{statement.year}-{month.month:02d}" if month.month else "total"]
                + [decimal_amount(getattr(month, name)) for _, name in CSV_FIGURE_COLUMNS]
                + [decimal_amount(month.net_earned)]
                + [decimal_amount(month.paid_out.get(method, 0)) for method in methods]
            )
    return out.getvalue()


def _has_movement(month: StatementMonth) -> bool:
    return any(getattr(month, name) for name in FIGURES) or bool(month.paid_out)

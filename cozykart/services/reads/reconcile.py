"""Reconciliation: prove the ledger from its postings, and list every violation.

Checks, each a named violation:
    unbalanced_transaction      a transaction's postings do not sum to zero (or it has none)
    cached_balance_mismatch     an account's cached balance differs from its postings' sum
    ledger_not_zero             the balances over every account do not sum to zero
    negative_balance            an account that may never be negative is (a pool, in-flight, costs)
    debt_not_recorded           a wallet's negative balance does not read back as debt
    in_flight_mismatch          a racer's in-flight account differs from their pending payouts
    payout_status_mismatch      a payout's status disagrees with its decision transaction
    event_applied_twice         a payment brought in more than once, or never
    undistributed_pool          a final race's pool still holds money
    rounding_mismatch           a final race's stored rounding (race_rounding_share) differs
                                from its recomputation from the postings and the results
    taken_back_mismatch         what a wallet's row says refunds and chargebacks took of a
                                payment (wallet_taken_back) differs from their postings
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Row, case, func, select

from cozykart.db import ledger_repo as repo
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import RaceStatus
from cozykart.domain.ledger import (
    MONEY_IN_KINDS,
    NON_NEGATIVE_KINDS,
    AccountKind,
    PayoutStatus,
    TransactionKind,
    wallet_balances,
)
from cozykart.services.payouts import decision_key

VIOLATIONS_LISTED_MAX = 1_000


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str


@dataclass(frozen=True)
class ReconcileReport:
    transactions_checked: int
    accounts_checked: int
    violations: tuple[Violation, ...]
    # What each check took, for operators and benches (the rounding check grows with final races).
    seconds_by_check: dict[str, float] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.violations

    def as_json(self) -> dict:
        return {
            "clean": self.clean,
            "transactions_checked": self.transactions_checked,
            "accounts_checked": self.accounts_checked,
            "violations": [asdict(violation) for violation in self.violations],
            "seconds_by_check": self.seconds_by_check,
        }


Report = Callable[[str, str], None]


def reconcile(*, uow: UnitOfWork, now: datetime | None = None) -> ReconcileReport:
    """Check the whole ledger (read-only). `clean` when no rule is broken."""
    now = now or utc_now()
    found: list[Violation] = []

    def report(check: str, detail: str) -> None:
        if len(found) < VIOLATIONS_LISTED_MAX:
            found.append(Violation(check, detail))

    seconds: dict[str, float] = {}

    def timed(name: str, check: Callable, *args):
        started = time.perf_counter()
        try:
            return check(*args)
        finally:
            seconds[name] = round(time.perf_counter() - started, 3)

    with uow:
        connection = uow.session.connection()
        transactions_checked = timed("transactions", _check_transactions_balance, connection, report)
        accounts = timed("account_sums", _accounts_with_posted_sums, connection)
        timed("balances", _check_account_balances, accounts, report)
        timed("in_flight_and_wallets", _check_in_flight_and_wallets, connection, accounts, now, report)
        timed("payouts", _check_payout_statuses, connection, report)
        timed("payments", _check_payments_applied_once, connection, report)
        timed("final_pools", _check_final_pools_empty, connection, report)
        timed("rounding", _check_rounding, connection, report)
        timed("taken_back", _check_taken_back, connection, report)
        return ReconcileReport(
            transactions_checked=transactions_checked,
            accounts_checked=len(accounts),
            violations=tuple(found),
            seconds_by_check=seconds,
        )


def _check_transactions_balance(connection: Connection, report: Report) -> int:
    """Every transaction has postings that sum to zero; answers how many transactions there are."""
    posting, transaction = repo.posting_table, repo.transaction_table
    sums = (
        select(
            transaction.c.id,
            transaction.c.key,
            repo.sum_cents(posting.c.amount_cents).label("total_cents"),
            func.count(posting.c.id).label("posting_count"),
        )
        .outerjoin(posting, posting.c.transaction_id == transaction.c.id)
        .group_by(transaction.c.id, transaction.c.key)
        .subquery()
    )
    transactions_checked = connection.execute(select(func.count()).select_from(transaction)).scalar_one()
    for row in connection.execute(
        select(sums).where((sums.c.total_cents != 0) | (sums.c.posting_count == 0))
    ):
        report(
            "unbalanced_transaction",
            f"transaction {row.id} ({row.key}) sums to {row.total_cents} over {row.posting_count} postings",
        )
    return int(transactions_checked)


def _accounts_with_posted_sums(connection: Connection) -> list[Row]:
    """Every account with its cached balance and the sum of its postings."""
    posting, account = repo.posting_table, repo.account_table
    posted = (
        select(posting.c.account_id, repo.sum_cents(posting.c.amount_cents).label("posted_cents"))
        .group_by(posting.c.account_id)
        .subquery()
    )
    return list(
        connection.execute(
            select(
                account.c.id,
                account.c.code,
                account.c.kind,
                account.c.racer_id,
                account.c.race_id,
                account.c.balance_cents,
                func.coalesce(posted.c.posted_cents, 0).label("posted_cents"),
            ).outerjoin(posted, posted.c.account_id == account.c.id)
        ).all()
    )


def _check_account_balances(accounts: list[Row], report: Report) -> None:
    """Cached balances match their postings, the never-negative kinds are not, and all sum to zero."""
    total_cents = 0
    for row in accounts:
        total_cents += row.posted_cents
        if row.balance_cents != row.posted_cents:
            report(
                "cached_balance_mismatch",
                f"{row.code}: cached {row.balance_cents}, postings sum to {row.posted_cents}",
            )
        if AccountKind(row.kind) in NON_NEGATIVE_KINDS and row.posted_cents < 0:
            report("negative_balance", f"{row.code} is at {row.posted_cents}")
    if total_cents != 0:
        report("ledger_not_zero", f"all accounts sum to {total_cents}")


def _check_in_flight_and_wallets(
    connection: Connection, accounts: list[Row], now: datetime, report: Report
) -> None:
    """In-flight accounts hold the pending payouts; a wallet's debt and availability read back."""
    posting, payout = repo.posting_table, repo.payout_table
    pending: dict[int, int] = dict(
        connection.execute(
            select(payout.c.racer_id, repo.sum_cents(payout.c.amount_cents))
            .where(payout.c.status == PayoutStatus.PENDING)
            .group_by(payout.c.racer_id)
        ).all()
    )
    held: dict[int, int] = dict(
        connection.execute(
            select(posting.c.account_id, repo.sum_cents(posting.c.amount_cents))
            .where(posting.c.available_at > now)
            .group_by(posting.c.account_id)
        ).all()
    )
    for row in accounts:
        if row.kind == AccountKind.PAYOUT_IN_FLIGHT and row.posted_cents != pending.get(row.racer_id, 0):
            report(
                "in_flight_mismatch",
                f"{row.code} holds {row.posted_cents}, pending payouts {pending.get(row.racer_id, 0)}",
            )
        if row.kind == AccountKind.WALLET:
            _check_wallet_reads_back(row, held.get(row.id, 0), report)


def _check_wallet_reads_back(row: Row, held_credit_cents: int, report: Report) -> None:
    balances = wallet_balances(
        wallet_balance_cents=row.posted_cents,
        held_credit_cents=held_credit_cents,
        in_payout_cents=0,
        lifetime_earned_cents=0,
        paid_out_cents=0,
    )
    if row.posted_cents < 0 and balances.debt_cents != -row.posted_cents:
        report(
            "debt_not_recorded", f"{row.code} is at {row.posted_cents} but debt reads {balances.debt_cents}"
        )
    if balances.available_cents < 0 or balances.wallet_balance_cents != row.posted_cents:
        report("debt_not_recorded", f"{row.code} reads available {balances.available_cents}")


def _check_payout_statuses(connection: Connection, report: Report) -> None:
    """A payout's status agrees with its decision transaction (none yet: pending)."""
    transaction, payout = repo.transaction_table, repo.payout_table
    decisions = {
        row.key: row.kind
        for row in connection.execute(
            select(transaction.c.key, transaction.c.kind).where(transaction.c.key.like("payout:%:decision"))
        )
    }
    for row in connection.execute(select(payout.c.id, payout.c.status)):
        kind = decisions.get(decision_key(row.id))
        expected = {
            None: (PayoutStatus.PENDING,),
            TransactionKind.PAYOUT: (PayoutStatus.PAID,),
            TransactionKind.PAYOUT_RELEASED: (PayoutStatus.REJECTED, PayoutStatus.CANCELLED),
        }.get(kind, ())
        if row.status not in expected:
            said = " or ".join(expected) or f"an unknown decision {kind}"
            report("payout_status_mismatch", f"payout {row.id} is {row.status}, its ledger says {said}")


def _check_payments_applied_once(connection: Connection, report: Report) -> None:
    """Each payment brought money in exactly once."""
    payment, transaction = repo.payment_table, repo.transaction_table
    money_in = (
        select(
            payment.c.id,
            payment.c.key,
            func.sum(case((transaction.c.kind.in_([str(k) for k in MONEY_IN_KINDS]), 1), else_=0)).label(
                "applied"
            ),
        )
        .outerjoin(transaction, transaction.c.payment_id == payment.c.id)
        .group_by(payment.c.id, payment.c.key)
        .subquery()
    )
    for row in connection.execute(select(money_in).where(func.coalesce(money_in.c.applied, 0) != 1)):
        report(
            "event_applied_twice" if (row.applied or 0) > 1 else "event_not_applied",
            f"payment {row.key} was brought in {row.applied or 0} times",
        )


def _check_final_pools_empty(connection: Connection, report: Report) -> None:
    """A final race's pool has been distributed to the cent."""
    account, race = repo.account_table, repo.race_table
    for row in connection.execute(
        select(account.c.code, account.c.balance_cents, race.c.name)
        .join(race, race.c.id == account.c.race_id)
        .where(
            account.c.kind == str(AccountKind.RACE_POOL),
            race.c.status == RaceStatus.FINAL,
            account.c.balance_cents != 0,
        )
    ):
        report("undistributed_pool", f"race {row.name!r} is final but {row.code} holds {row.balance_cents}")


def _check_rounding(connection: Connection, report: Report) -> None:
    """What orders the next race's odd cents agrees with the ledger (it is derived, never trusted)."""
    _compare_derived(
        "rounding_mismatch",
        repo.rounding_from_ledger(connection),
        repo.stored_rounding(connection),
        lambda key: f"race {key[0]}, racer {key[1]}",
        _rounding_words,
        report,
    )


def _check_taken_back(connection: Connection, report: Report) -> None:
    """The wallet page's taken-back figure comes from rows the ledger's postings must give again."""
    _compare_derived(
        "taken_back_mismatch",
        repo.taken_back_from_ledger(connection),
        repo.stored_taken_back(connection),
        lambda key: f"wallet account {key[0]}, payment {key[1]}",
        _cents_words,
        report,
    )


def _compare_derived(
    check: str, recomputed: dict, stored: dict, where: Callable, words: Callable, report: Report
) -> None:
    """A derived table's rows against their recomputation from the ledger: each difference is a violation."""
    for key in sorted({*recomputed, *stored}):
        should, held = recomputed.get(key), stored.get(key)
        if should != held:
            report(check, f"{where(key)}: stored {words(held)}, the ledger gives {words(should)}")


def _cents_words(cents: int | None) -> str:
    return "nothing" if cents is None else f"{cents} cents"


def _rounding_words(value: tuple | None) -> str:
    return "nothing" if value is None else f"{value[1]} cents (season {value[0]})"

"""The ledger repository: accounts, transactions and postings, balances and holds, provider payments.

Its statements are `cozykart.db.ledger_repo`'s (SQLAlchemy Core, the hot path's
through `cozykart.db.lean`), on the transaction's connection. It remembers, for
the transaction, what a webhook batch would otherwise read per sale: the race
live at an instant, account ids, and the pools whose locks it took (forgotten
when a savepoint rolls back: they may have been undone with it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from fractions import Fraction

from sqlalchemy import Connection, func
from sqlalchemy import select as core_select
from sqlmodel import select

from cozykart.db import ledger_repo as repo
from cozykart.db.league_repo import race_outcome
from cozykart.db.ledger_repo import RaceAtSale, Written
from cozykart.db.ledger_tables import LedgerAccount, LedgerPosting, LedgerTransaction
from cozykart.db.repositories import Repository
from cozykart.domain.events import RaceOutcome
from cozykart.domain.ledger import (
    CLEARING,
    HOUSE,
    AccountKind,
    AccountRef,
    RaceRounding,
    Transaction,
    TransactionKind,
)

__all__ = ["LedgerRepository", "RaceAtSale", "Written"]


class LedgerRepository(Repository):
    def __init__(self, session) -> None:
        super().__init__(session)
        self._connection: Connection | None = None
        self._race_at: dict[datetime, RaceAtSale | None] = {}
        self._account_ids: dict[str, int] = {}
        self._locked_for_sale: dict[str, str | None] = {}  # pool code -> race status read under its lock

    def forget(self) -> None:
        self._race_at.clear()
        self._account_ids.clear()
        self._locked_for_sale.clear()

    @property
    def connection(self) -> Connection:
        """The transaction's connection, looked up once (the same for the whole transaction)."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    @property
    def is_postgresql(self) -> bool:
        return repo.is_postgresql(self.connection)

    # --- races, as the ledger reads them ------------------------------------------

    def race_at(self, instant: datetime) -> RaceAtSale | None:
        """The race whose commission window holds `instant`, remembered for the transaction by instant.

        A webhook batch's sales mostly share a few instants (providers give whole
        seconds). A sale does not change races, and the status that matters is read
        again under the pool's lock on PostgreSQL (`lock_for_sale`).
        """
        if instant not in self._race_at:
            self._race_at[instant] = repo.race_at(self.connection, instant)
        return self._race_at[instant]

    def outcome_of(self, race: RaceAtSale, status: str) -> RaceOutcome:
        return repo.outcome_of(self.connection, race, status)

    def race_outcome(self, race_id: int) -> RaceOutcome | None:
        """The league's `race_outcome` (ORM loads), here because the ledger settles races by it."""
        return race_outcome(self.session, race_id)

    def race_racer_ids(self, race_id: int) -> list[int]:
        return repo.race_racer_ids(self.connection, race_id)

    # --- accounts and locks ---------------------------------------------------------

    def account_ids(self, accounts: Iterable[AccountRef], now: datetime | None = None) -> dict[str, int]:
        """Ids of the accounts by code (created `now` when new), remembered for the transaction."""
        accounts = list(accounts)
        known = self._account_ids
        missing = [account for account in accounts if account.code not in known]
        if missing:
            known.update(repo.account_ids(self.connection, missing, now=now))
        return {account.code: known[account.code] for account in accounts}

    def read_account_ids(self, accounts: Iterable[AccountRef], now: datetime | None = None) -> dict[str, int]:
        """Ids of the accounts by code (created `now` when new), read now and not remembered."""
        return repo.account_ids(self.connection, accounts, now=now)

    def lock_accounts(self, ids: Iterable[int]) -> dict[int, int]:
        """Lock the accounts' rows until commit (PostgreSQL), in id order; their cached balances by id."""
        return repo.lock_accounts(self.connection, ids)

    def lock_for_sale(self, pool: AccountRef, race_id: int, now: datetime | None = None) -> str | None:
        """PostgreSQL: lock clearing, house and the race's pool, then read the race's status.

        Once per transaction and pool: the webhook writer records many sales in one
        transaction, which keeps these locks until it commits, so no finalization
        can commit in between and the status read under them still holds. A
        savepoint rolled back (which may release locks taken inside it) forgets it.
        """
        if pool.code not in self._locked_for_sale:
            self.lock_accounts(self.account_ids([CLEARING, HOUSE, pool], now).values())
            self._locked_for_sale[pool.code] = repo.race_status(self.connection, race_id)
        return self._locked_for_sale[pool.code]

    def last_posting_id(self, account_id: int) -> int:
        return repo.last_posting_id(self.connection, account_id)

    @staticmethod
    def account_ref(row) -> AccountRef:
        """The account a row of `payment_holdings` or `postings_of_transaction` names."""
        return repo.account_ref(row)

    # --- transactions ---------------------------------------------------------------

    def write(self, transaction: Transaction, now: datetime | None = None) -> Written:
        """Write a transaction under a key new in this call (asserted), its account ids remembered."""
        ids = self.account_ids([p.account for p in transaction.postings], now)
        written = repo.write_transaction(self.connection, transaction, ids, now=now)
        assert not written.replayed, "the key was new, so its transaction is too"
        return written

    def write_transaction(
        self, transaction: Transaction, ids: dict[str, int] | None = None, *, now: datetime | None = None
    ) -> Written:
        """Apply `transaction` once, recorded `now` (else the clock's now): a repeat of its key writes nothing."""
        return repo.write_transaction(self.connection, transaction, ids, now=now)

    def transaction_id_by_key(self, key: str) -> int | None:
        return repo.transaction_id_by_key(self.connection, key)

    def transaction_row(self, key: str):
        return repo.transaction_row(self.connection, key)

    def postings_of_transaction(self, transaction_id: int) -> list:
        return repo.postings_of_transaction(self.connection, transaction_id)

    # --- payments and what accounts hold of them ------------------------------------

    def insert_payment(self, *, now: datetime | None = None, **values) -> int | None:
        """Record a payment once, recorded `now`; None when its key was recorded before."""
        return repo.insert_payment(self.connection, now=now, **values)

    def payment_by_key(self, key: str):
        return repo.payment_by_key(self.connection, key)

    def payment_by_id(self, payment_id: int):
        return repo.payment_by_id(self.connection, payment_id)

    def payment_holdings(self, payment_id: int) -> list:
        return repo.payment_holdings(self.connection, payment_id)

    def pool_holdings(self, pool_account_id: int) -> list:
        return repo.pool_holdings(self.connection, pool_account_id)

    def race_wallet_holdings(self, race_id: int) -> list:
        return repo.race_wallet_holdings(self.connection, race_id)

    def season_rounding(
        self, season_id: int, racer_ids: Iterable[int], *, excluding_race_id: int
    ) -> dict[int, Fraction]:
        """Each racer's rounding over the season's other final races (cents held minus the exact share)."""
        return repo.season_rounding(
            self.connection, season_id, racer_ids, excluding_race_id=excluding_race_id
        )

    def write_rounding(self, rounding: RaceRounding | None) -> None:
        repo.write_rounding(self.connection, rounding)

    # --- what a race's results moved, for the results desk and its announcements -------------

    def race_pot_held_cents(self, race_id: int) -> int:
        """What the race's racers' wallets hold of its payments, in cents."""
        rows = repo.race_wallet_holdings(self.connection, race_id)
        return sum(row.net_cents for row in rows)

    def latest_result_correction_id(self, race_id: int) -> int:
        """The id of the race's newest result-correction ledger transaction (0 when none)."""
        table = LedgerTransaction.__table__
        return self.connection.execute(
            core_select(func.coalesce(func.max(table.c.id), 0)).where(
                table.c.race_id == race_id, table.c.kind == str(TransactionKind.RESULT_CORRECTION)
            )
        ).scalar_one()

    def wallet_moves_of_corrections_since(self, race_id: int, correction_before_id: int) -> dict[int, int]:
        """Racer -> cents the race's result corrections newer than `correction_before_id` moved in wallets."""
        connection = self.connection
        table = LedgerTransaction.__table__
        correction_ids = (
            connection.execute(
                core_select(table.c.id).where(
                    table.c.race_id == race_id,
                    table.c.kind == str(TransactionKind.RESULT_CORRECTION),
                    table.c.id > correction_before_id,
                )
            )
            .scalars()
            .all()
        )
        moved_cents: dict[int, int] = {}
        for transaction_id in correction_ids:
            for posting in repo.postings_of_transaction(connection, transaction_id):
                if posting.kind == AccountKind.WALLET and posting.racer_id is not None:
                    moved_cents[posting.racer_id] = (
                        moved_cents.get(posting.racer_id, 0) + posting.amount_cents
                    )
        return moved_cents

    def wallet_cents_of_transaction(self, transaction_key: str) -> dict[int, int]:
        """What each racer's wallet got in the ledger transaction of this key (nothing when there is none)."""
        rows = self.session.exec(
            select(LedgerAccount.racer_id, func.sum(LedgerPosting.amount_cents))
            .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
            .where(LedgerTransaction.key == transaction_key, LedgerAccount.kind == AccountKind.WALLET)
            .group_by(LedgerAccount.racer_id)
        ).all()
        return {racer_id: int(cents) for racer_id, cents in rows}

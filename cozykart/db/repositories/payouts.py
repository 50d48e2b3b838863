"""The payouts repository: payout requests and their decisions, and the wallet reads of the money pages.

A payout moves money through the ledger: its account ids, locks and its one
decision transaction go through the ledger's repository (`uow.ledger`); here
are the payout rows and what a wallet holds and lists (its balances and lines,
read with the query functions of `cozykart.db.ledger_repo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Result, cast, select, update
from sqlalchemy.exc import IntegrityError

from cozykart.db import ledger_repo as repo
from cozykart.db.ledger_tables import PayoutDestinationChange
from cozykart.db.repositories import Repository
from cozykart.db.stripe_connect_tables import StripeConnection as StripeConnectionRow
from cozykart.db.tables import Racer
from cozykart.domain.ledger import (
    STRIPE_PAYOUT_METHOD,
    AccountKind,
    PayoutStatus,
    TransactionKind,
    in_flight_account,
    wallet_account,
)
from cozykart.domain.payout_destination import StripeConnection

payout_table = repo.payout_table


@dataclass(frozen=True)
class WalletAmounts:
    """What a racer's wallet holds, as stored: the parts `domain.ledger.wallet_balances` is made of."""

    wallet_balance_cents: int
    held_credit_cents: int
    in_payout_cents: int
    paid_out_cents: int
    taken_back_cents: int  # refunds and chargebacks taken back from the wallet, less disputes won back


class PayoutsRepository(Repository):
    # --- the ledger, as a payout moves money -------------------------------------

    def wallet_amounts(self, racer_id: int, now: datetime, *, check_postings: bool) -> WalletAmounts | None:
        """The racer's wallet as stored, or None when the racer never had one (the ledger's queries).

        With `check_postings` the cached balances are asserted against the sum of
        their postings; without, they are read as kept, one row each.
        """
        connection = self.connection
        balance_of = repo.account_balance if check_postings else repo.cached_balance
        wallet_id = repo.account_id_by_code(connection, wallet_account(racer_id).code)
        in_flight_id = repo.account_id_by_code(connection, in_flight_account(racer_id).code)
        if wallet_id is None:
            return None
        wallet_balance_cents = balance_of(connection, wallet_id)
        in_payout_cents = balance_of(connection, in_flight_id) if in_flight_id is not None else 0
        paid_out_cents = repo.paid_out_cents(connection, racer_id)
        return WalletAmounts(
            wallet_balance_cents=wallet_balance_cents,
            held_credit_cents=repo.held_credit_cents(connection, wallet_id, now),
            in_payout_cents=in_payout_cents,
            paid_out_cents=paid_out_cents,
            taken_back_cents=repo.taken_back_cents(connection, wallet_id),
        )

    # --- payout rows ---------------------------------------------------------------

    def by_key(self, key: str):
        """The payout an earlier request made with `key`, or None."""
        return self.connection.execute(select(payout_table).where(payout_table.c.key == key)).first()

    def by_id(self, payout_id: int):
        return self.connection.execute(select(payout_table).where(payout_table.c.id == payout_id)).first()

    def add(self, *, key: str, racer_id: int, amount_cents: int, **values) -> int:
        """Insert a payout row; its id."""
        return self.connection.execute(
            payout_table.insert()
            .values(key=key, racer_id=racer_id, amount_cents=amount_cents, **values)
            .returning(payout_table.c.id)
        ).scalar_one()

    def decide(
        self, payout_id: int, status: PayoutStatus, admin_racer_id: int, now: datetime, **fields
    ) -> int:
        """Move a pending payout to `status`; how many rows changed (0 when it was not pending)."""
        return self.connection.execute(
            update(payout_table)
            .where(payout_table.c.id == payout_id, payout_table.c.status == PayoutStatus.PENDING)
            .values(status=status, decided_by_racer_id=admin_racer_id, decided_at=now, **fields)
        ).rowcount

    def by_stripe_transfer(self, transfer_id: str):
        """The payout a Stripe transfer paid (its id is the payout's reference), or None."""
        return self.connection.execute(
            select(payout_table).where(
                payout_table.c.method == STRIPE_PAYOUT_METHOD, payout_table.c.reference == transfer_id
            )
        ).first()

    def returned_cents(self, payout_id: int) -> int:
        """What of a paid payout came back to the wallet (its PAYOUT_RETURNED transactions)."""
        transaction, posting, account = repo.transaction_table, repo.posting_table, repo.account_table
        return int(
            self.connection.execute(
                select(repo.sum_cents(posting.c.amount_cents))
                .join(transaction, transaction.c.id == posting.c.transaction_id)
                .join(account, account.c.id == posting.c.account_id)
                .where(
                    transaction.c.payout_id == payout_id,
                    transaction.c.kind == TransactionKind.PAYOUT_RETURNED,
                    account.c.kind == str(AccountKind.WALLET),
                )
            ).scalar_one()
        )

    def mark_sending_by_stripe(self, payout_id: int, sending: bool) -> int:
        """Say (or unsay) that a pending payout's Stripe transfer was started; rows changed."""
        method = payout_table.c.method
        return self.connection.execute(
            update(payout_table)
            .where(
                payout_table.c.id == payout_id,
                payout_table.c.status == PayoutStatus.PENDING,
                (method.is_(None) | (method == STRIPE_PAYOUT_METHOD))
                if sending
                else (method == STRIPE_PAYOUT_METHOD),
            )
            .values(method=STRIPE_PAYOUT_METHOD if sending else None)
        ).rowcount

    def pending(self) -> list:
        """Every pending payout, oldest first."""
        return list(
            self.connection.execute(
                select(payout_table)
                .where(payout_table.c.status == PayoutStatus.PENDING)
                .order_by(payout_table.c.id)
            ).all()
        )

    # --- where racers want to be paid ---------------------------------------------

    def destination_record(self, racer_id: int) -> str | None:
        """The racer's destination in force (its record), or None when they never set one."""
        change = PayoutDestinationChange.__table__
        return self.connection.execute(
            select(change.c.destination)
            .where(change.c.racer_id == racer_id)
            .order_by(change.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def add_destination_change(
        self, *, racer_id: int, method: str, record: str, actor_racer_id: int, now: datetime
    ) -> None:
        """Append the racer's new destination (the newest row is the one in force; nothing is rewritten)."""
        self.connection.execute(
            PayoutDestinationChange.__table__.insert().values(
                racer_id=racer_id,
                method=method,
                destination=record,
                actor_racer_id=actor_racer_id,
                changed_at=now,
            )
        )

    # --- connected Stripe accounts ------------------------------------------------

    def stripe_connection(self, racer_id: int) -> StripeConnection | None:
        """The racer's connected Stripe account, or None when they never connected one."""
        return self._connection_where(StripeConnectionRow.__table__.c.racer_id == racer_id)

    def stripe_connection_racer(self, account_id: str) -> int | None:
        """The racer whose connected account this is, or None (an account this league never made)."""
        table = StripeConnectionRow.__table__
        return self.connection.execute(
            select(table.c.racer_id).where(table.c.account_id == account_id)
        ).scalar_one_or_none()

    def _connection_where(self, condition) -> StripeConnection | None:
        table = StripeConnectionRow.__table__
        row = self.connection.execute(
            select(table.c.account_id, table.c.can_receive_transfers, table.c.payouts_enabled).where(
                condition
            )
        ).first()
        if row is None:
            return None
        return StripeConnection(row.account_id, bool(row.can_receive_transfers), bool(row.payouts_enabled))

    def add_stripe_connection(self, racer_id: int, account_id: str, now: datetime) -> bool:
        """Store the racer's new connected account; False when a concurrent click stored it first."""
        try:
            with self.session.begin_nested():
                self.connection.execute(
                    StripeConnectionRow.__table__.insert().values(
                        racer_id=racer_id,
                        account_id=account_id,
                        can_receive_transfers=False,
                        payouts_enabled=False,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def set_stripe_connection(self, connection: StripeConnection, now: datetime) -> int:
        """Record what Stripe says the account can do now; how many rows changed (0: not ours)."""
        table = StripeConnectionRow.__table__
        return self.connection.execute(
            update(table)
            .where(table.c.account_id == connection.account_id)
            .values(
                can_receive_transfers=connection.can_receive_transfers,
                payouts_enabled=connection.payouts_enabled,
                updated_at=now,
            )
        ).rowcount

    def pending_of(self, racer_id: int) -> list:
        """The racer's pending payouts, oldest first."""
        return list(
            self.connection.execute(
                select(payout_table)
                .where(payout_table.c.racer_id == racer_id, payout_table.c.status == PayoutStatus.PENDING)
                .order_by(payout_table.c.id)
            ).all()
        )

    def pending_with_names(self, limit: int) -> list:
        """The oldest `limit` pending payouts, each with its racer's `display_name`."""
        return self._with_names(
            select(payout_table)
            .where(payout_table.c.status == PayoutStatus.PENDING)
            .order_by(payout_table.c.id)
            .limit(limit)
        )

    def decided_with_names(self, limit: int) -> list:
        """The `limit` latest decided payouts, newest first, each with its racer's `display_name`."""
        return self._with_names(
            select(payout_table)
            .where(payout_table.c.status != PayoutStatus.PENDING)
            .order_by(payout_table.c.decided_at.desc(), payout_table.c.id.desc())
            .limit(limit)
        )

    def _with_names(self, statement) -> list:
        racer = Racer.__table__
        return self.connection.execute(
            statement.add_columns(racer.c.display_name).join(racer, racer.c.id == payout_table.c.racer_id)
        ).all()

    # --- the wallet pages ------------------------------------------------------------

    def racers_with_wallet_funds(self, limit: int) -> list[tuple[int, str]]:
        """(id, display name) of the racers whose wallet's cached balance is positive, by name."""
        account, racer = repo.account_table, Racer.__table__
        return self.connection.execute(
            select(racer.c.id, racer.c.display_name)
            .join(account, account.c.racer_id == racer.c.id)
            .where(account.c.kind == str(AccountKind.WALLET), account.c.balance_cents > 0)
            .order_by(racer.c.display_name, racer.c.id)
            .limit(limit)
        ).all()

    def wallet_id(self, racer_id: int) -> int | None:
        """The id of the racer's wallet account, or None when they never had one."""
        return repo.account_id_by_code(self.connection, wallet_account(racer_id).code)

    def wallet_lines(self, wallet_id: int, limit: int, before_posting_id: int | None) -> list:
        """One page of a wallet's postings, newest first, each with the balance after the page's newest line.

        Rows of (posting id, recorded at, kind, description, amount, available at,
        balance after the page's newest line): the balance is the account's cached
        balance less every posting newer than the page, in the same statement.
        """
        posting, transaction, account = repo.posting_table, repo.transaction_table, repo.account_table
        cached_cents = select(account.c.balance_cents).where(account.c.id == wallet_id).scalar_subquery()
        newer = posting.c.account_id == wallet_id
        if before_posting_id is not None:
            newer_cents = (
                select(repo.sum_cents(posting.c.amount_cents))
                .where(newer, posting.c.id >= before_posting_id)
                .scalar_subquery()
            )
            balance_after_newest = cached_cents - newer_cents
        else:
            balance_after_newest = cached_cents
        statement = (
            select(
                posting.c.id,
                transaction.c.recorded_at,
                transaction.c.kind,
                posting.c.description,
                posting.c.amount_cents,
                posting.c.available_at,
                cast(balance_after_newest, BigInteger).label("balance_after_newest_cents"),
            )
            .join(transaction, transaction.c.id == posting.c.transaction_id)
            .where(posting.c.account_id == wallet_id)
            .order_by(posting.c.id.desc())
            .limit(limit)
        )
        if before_posting_id is not None:
            statement = statement.where(posting.c.id < before_posting_id)
        return self.connection.execute(statement).all()

    def account_balances(self) -> list:
        """Every account's code, kind, racer (id, Discord id, name), race and cached balance, by kind and code."""
        account, racer = repo.account_table, Racer.__table__
        return self.connection.execute(
            select(
                account.c.code,
                account.c.kind,
                account.c.racer_id,
                racer.c.discord_id,
                racer.c.display_name,
                account.c.race_id,
                account.c.balance_cents,
            )
            .outerjoin(racer, racer.c.id == account.c.racer_id)
            .order_by(account.c.kind, account.c.racer_id, account.c.race_id, account.c.code)
        ).all()

    def every_posting(self) -> Result:
        """Every posting, oldest first, with its transaction and account: rows of (posting id,
        transaction id, recorded at, occurred at, kind, transaction key, reference, account code,
        amount, description), streamed."""
        posting, transaction, account = repo.posting_table, repo.transaction_table, repo.account_table
        return self.connection.execute(
            select(
                posting.c.id,
                transaction.c.id,
                transaction.c.recorded_at,
                transaction.c.occurred_at,
                transaction.c.kind,
                transaction.c.key,
                transaction.c.reference,
                account.c.code,
                posting.c.amount_cents,
                posting.c.description,
            )
            .join(transaction, transaction.c.id == posting.c.transaction_id)
            .join(account, account.c.id == posting.c.account_id)
            .order_by(posting.c.id)
        )

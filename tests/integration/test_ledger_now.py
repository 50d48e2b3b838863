"""A money service given `now` records that instant in every row it writes, not the clock's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cozykart.db.ledger_repo import (
    account_table,
    payment_table,
    payout_table,
    posting_table,
    transaction_table,
)
from cozykart.domain.transactions import hold_until
from cozykart.services import ledger, payouts
from tests.integration.ledger_support import T0, finalize_race, make_race, make_racers, settings_for

NOW = T0 + timedelta(days=2, minutes=7, seconds=3)  # neither the sale's time nor the clock's


def _account_ids(database) -> set[int]:
    with database.uow() as uow:
        return set(uow.session.connection().execute(select(account_table.c.id)).scalars())


def test_a_sale_given_now_records_that_instant_in_every_row_it_writes(database):
    racers = make_racers(database, 2)
    race = make_race(database, racers, status="ended", started_at=T0, ended_at=T0 + timedelta(hours=1))
    finalize_race(database, race, {racers[0]: 1, racers[1]: 2}, at=T0 + timedelta(hours=1, minutes=5))
    settings = settings_for(database)
    accounts_before = _account_ids(database)

    receipt = ledger.record_sale(
        key="sale-at-now",
        gross_cents=5000,
        sold_at=T0 + timedelta(minutes=30),
        item="hoodie",
        uow=database.uow(settings),
        now=NOW,
    )

    assert receipt.distributed  # the race was final: its racers were credited, on hold from `now`
    with database.uow() as uow:
        connection = uow.session.connection()
        payment = connection.execute(
            select(payment_table).where(payment_table.c.id == receipt.payment_id)
        ).one()
        transaction = connection.execute(
            select(transaction_table).where(transaction_table.c.id == receipt.transaction_id)
        ).one()
        created = (
            connection.execute(
                select(account_table.c.created_at).where(account_table.c.id.not_in(accounts_before))
            )
            .scalars()
            .all()
        )
        holds = (
            connection.execute(
                select(posting_table.c.available_at).where(
                    posting_table.c.transaction_id == receipt.transaction_id,
                    posting_table.c.available_at.is_not(None),
                )
            )
            .scalars()
            .all()
        )
    assert payment.recorded_at == NOW and payment.occurred_at == T0 + timedelta(minutes=30)
    assert transaction.recorded_at == NOW
    assert created and set(created) == {NOW}  # the clearing account and the racers' wallets
    assert holds and set(holds) == {hold_until(NOW, settings.hold_days)}


def test_a_payout_request_given_now_records_that_instant(database):
    racers = make_racers(database, 2)
    race = make_race(database, racers, status="ended", started_at=T0, ended_at=T0 + timedelta(hours=1))
    finalize_race(database, race, {racers[0]: 1, racers[1]: 2}, at=T0 + timedelta(hours=1, minutes=5))
    settings = settings_for(database, hold_days=0, payout_min_cents=1)
    ledger.record_sale(
        key="sale-for-payout",
        gross_cents=5000,
        sold_at=T0 + timedelta(minutes=30),
        item="hoodie",
        uow=database.uow(settings),
        now=T0 + timedelta(days=1),
    )

    payout_id = payouts.request_payout(
        racers[0], 100, key="payout-at-now", uow=database.uow(settings), now=NOW
    )

    with database.uow() as uow:
        connection = uow.session.connection()
        payout = connection.execute(select(payout_table).where(payout_table.c.id == payout_id)).one()
        recorded = connection.execute(
            select(transaction_table.c.recorded_at, transaction_table.c.occurred_at).where(
                transaction_table.c.payout_id == payout_id
            )
        ).one()
    assert payout.requested_at == NOW
    assert tuple(recorded) == (NOW, NOW)

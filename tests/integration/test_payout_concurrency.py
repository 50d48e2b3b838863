"""Payouts under concurrency, on SQLite and PostgreSQL: threads racing on one wallet."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from cozykart.domain.errors import CozyKartError
from cozykart.domain.ledger import InsufficientFunds, PayoutNotPending
from cozykart.services import ledger, payouts, wallet
from cozykart.services.reads.reconcile import reconcile
from tests.integration.ledger_support import (
    T0,
    finalize_race,
    make_admin,
    make_race,
    make_racers,
    settings_for,
)

pytestmark = pytest.mark.usefixtures("reconciled")  # the ledger reconciles after each test

REQUESTS_AT_ONCE = 20


def _race(functions):
    """Run the functions at the same instant (a barrier), each in its own thread."""
    barrier = threading.Barrier(len(functions))

    def run(function):
        barrier.wait()
        try:
            return function()
        except CozyKartError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(run, functions))


def _funded_racer(database, amount_cents: int) -> tuple[int, int]:
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    ledger.adjust_wallet(
        admin, racer, amount_cents, reason="prize money", key="fund", uow=database.uow(settings_for(database))
    )
    return admin, racer


def test_twenty_simultaneous_payout_requests_never_encumber_more_than_the_balance(database):
    settings = settings_for(database)
    _admin, racer = _funded_racer(database, 5000)

    results = _race(
        [
            (lambda n=n: payouts.request_payout(racer, 2000, key=f"req-{n}", uow=database.uow(settings)))
            for n in range(REQUESTS_AT_ONCE)
        ]
    )

    accepted = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if not isinstance(result, int)]
    assert len(accepted) == 2 and len(set(accepted)) == 2
    assert all(isinstance(error, InsufficientFunds) for error in refused), refused
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.in_payout_cents, summary.available_cents) == (4000, 1000)
    assert reconcile(uow=database.uow()).clean


def test_two_admins_paying_one_payout_at_once_settle_it_once(database):
    settings = settings_for(database)
    admin, racer = _funded_racer(database, 5000)
    payout_id = payouts.request_payout(racer, 3000, key="one", uow=database.uow(settings))

    results = _race(
        [
            (
                lambda n=n: payouts.pay_payout(
                    admin, payout_id, method="paypal", reference=f"PP-{n}", uow=database.uow(settings)
                )
            )
            for n in range(2)
        ]
    )

    assert [result.status for result in results] == ["paid", "paid"]
    assert sorted(result.replayed for result in results) == [False, True]
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.paid_out_cents, summary.in_payout_cents, summary.available_cents) == (3000, 0, 2000)
    with database.engine.connect() as connection:
        paid = connection.execute(text("SELECT count(*) FROM ledger_transaction WHERE kind = 'PAYOUT'"))
        assert paid.scalar_one() == 1
    assert reconcile(uow=database.uow()).clean


def test_pay_and_reject_at_once_decide_one_way(database):
    settings = settings_for(database)
    admin, racer = _funded_racer(database, 5000)
    payout_id = payouts.request_payout(racer, 2500, key="one", uow=database.uow(settings))

    results = _race(
        [
            lambda: payouts.pay_payout(
                admin, payout_id, method="bank", reference="B-1", uow=database.uow(settings)
            ),
            lambda: payouts.reject_payout(
                admin, payout_id, reason="duplicate request", uow=database.uow(settings)
            ),
        ]
    )

    decided = [result for result in results if isinstance(result, payouts.PayoutOutcome)]
    assert len(decided) == 1
    assert all(isinstance(result, PayoutNotPending) for result in results if result not in decided)
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert summary.in_payout_cents == 0
    assert summary.paid_out_cents + summary.available_cents == 5000
    assert reconcile(uow=database.uow()).clean


def test_an_admin_paying_while_the_racer_cancels_decides_one_way_once(database):
    settings = settings_for(database)
    admin, racer = _funded_racer(database, 6000)
    for attempt in range(3):  # several rounds: whichever side wins, it wins alone
        payout_id = payouts.request_payout(racer, 2000, key=f"one-{attempt}", uow=database.uow(settings))
        results = _race(
            [
                lambda payout_id=payout_id: payouts.pay_payout(
                    admin, payout_id, method="bank", reference="B-1", uow=database.uow(settings)
                ),
                lambda payout_id=payout_id: payouts.cancel_payout(
                    racer, payout_id, uow=database.uow(settings)
                ),
            ]
        )
        decided = [result for result in results if isinstance(result, payouts.PayoutOutcome)]
        assert len(decided) == 1, results
        assert all(isinstance(result, PayoutNotPending) for result in results if result not in decided)
        assert decided[0].status in ("paid", "cancelled") and not decided[0].replayed
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert summary.in_payout_cents == 0
    assert summary.paid_out_cents + summary.available_cents == 6000
    with database.engine.connect() as connection:
        decisions = connection.execute(
            text("SELECT count(*) FROM ledger_transaction WHERE key LIKE :pattern"),
            {"pattern": "payout:%:decision"},
        ).scalar_one()
    assert decisions == 3, "one decision per payout, never two"
    assert reconcile(uow=database.uow()).clean


def test_sales_racing_a_race_becoming_final_leave_no_money_in_its_pool(database):
    settings = settings_for(database)
    racers = make_racers(database, 3)
    race_id = make_race(database, racers, started_at=T0)
    sales = [
        (
            lambda n=n: ledger.record_sale(
                key=f"race-{n}",
                gross_cents=1000 + n,
                sold_at=T0 + timedelta(seconds=n),
                item="Tee",
                uow=database.uow(settings),
            )
        )
        for n in range(10)
    ]
    final = [
        lambda: finalize_race(
            database, race_id, {r: n + 1 for n, r in enumerate(racers)}, at=T0 + timedelta(minutes=30)
        )
    ]

    results = _race(sales[:5] + final + sales[5:])

    assert not [result for result in results if isinstance(result, CozyKartError)]
    report = reconcile(uow=database.uow())
    assert report.clean, report.violations
    with database.engine.connect() as connection:
        pool = connection.execute(
            text(f"SELECT balance_cents FROM ledger_account WHERE code = 'race:{race_id}:pool'")
        )
        assert pool.scalar_one_or_none() in (None, 0)

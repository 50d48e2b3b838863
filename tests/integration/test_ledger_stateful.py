"""A hypothesis state machine drives the ledger with random money traffic.

Sales (in and out of a race's window), tips, refunds, disputes opened and won,
a race made final, admin fixes, payout requests, pays and rejections, in any
order; after every step the whole ledger reconciles (every transaction balances,
cached balances equal their postings, no account breaks its rule, each payment
brought in once, no undistributed pool of a final race), and replaying any
earlier successful command changes nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable
from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from cozykart.db.types import utc_now
from cozykart.domain.errors import CozyKartError
from cozykart.services import ledger, payouts
from cozykart.services.reads.reconcile import reconcile
from tests.integration.ledger_support import (
    T0,
    finalize_race,
    fix_results,
    make_admin,
    make_race,
    make_racers,
    make_season,
    settings_for,
)

EXAMPLES_MAX = int(os.environ.get("COZYKART_STATEFUL_EXAMPLES", "12"))  # raise it for a deeper hunt
STEPS_PER_EXAMPLE_MAX = 18
RACERS_PER_RACE = 4
LATER = utc_now() + timedelta(days=30)


def _snapshot(database) -> tuple:
    with database.engine.connect() as connection:
        transactions = connection.execute(text("SELECT count(*) FROM ledger_transaction")).scalar_one()
        postings = connection.execute(text("SELECT count(*) FROM ledger_posting")).scalar_one()
        accounts = tuple(
            connection.execute(text("SELECT code, balance_cents FROM ledger_account ORDER BY code"))
        )
        payout_rows = tuple(connection.execute(text("SELECT id, status FROM payout ORDER BY id")))
    return transactions, postings, accounts, payout_rows


def _machine_for(database):
    config = settings_for(database, payout_min_cents=100)  # small payouts, so many go through
    admin = make_admin(database)
    example_numbers = itertools.count()

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.example = next(example_numbers)
            self.start = T0 + timedelta(days=self.example)
            self.racers = make_racers(database, RACERS_PER_RACE)
            self.policy = ["even", "winner_bonus", "by_points"][self.example % 3]
            season = make_season(database, policy=self.policy)
            self.race_id = make_race(
                database,
                self.racers,
                season_id=season,
                status="ended",
                started_at=self.start,
                ended_at=self.start + timedelta(hours=1),
            )
            self.final = False
            self.sales: list[str] = []
            self.disputes: list[str] = []
            self.payout_ids: list[int] = []
            self.replayable: list[Callable[[], object]] = []
            self.keys = itertools.count()
            self.fix_ids = itertools.count(1000 * self.example)

        def key(self, kind: str) -> str:
            return f"ex{self.example}-{kind}-{next(self.keys)}"

        def run(self, command: Callable[[], object]) -> object | None:
            try:
                result = command()
            except CozyKartError as error:
                event(f"refused: {type(error).__name__}")
                return None  # a refused command changes nothing (the invariants check it)
            event("applied")
            self.replayable.append(command)
            return result

        @rule(
            amount=st.integers(1, 50_000),
            in_window=st.booleans(),
            cost_share=st.sampled_from([0, 1, 3]),
            second=st.integers(0, 3599),
        )
        def sale(self, amount, in_window, cost_share, second):
            key = self.key("sale")
            sold_at = self.start + timedelta(seconds=second if in_window else 3600 + second)
            if self.run(
                lambda: ledger.record_sale(
                    key=key,
                    gross_cents=amount,
                    cost_cents=amount * cost_share // 4,
                    sold_at=sold_at,
                    item="Kart tee",
                    uow=database.uow(config),
                )
            ):
                self.sales.append(key)

        @rule(amount=st.integers(1, 20_000), dj=st.integers(0, RACERS_PER_RACE - 1))
        def tip(self, amount, dj):
            key = self.key("tip")
            if self.run(
                lambda: ledger.record_tip(
                    key=key,
                    dj_racer_id=self.racers[dj],
                    tip_cents=amount,
                    tipped_at=self.start,
                    song="Coconut Mall",
                    fan_name="Toad",
                    uow=database.uow(config),
                )
            ):
                self.sales.append(key)

        @precondition(lambda self: self.sales)
        @rule(data=st.data(), full=st.booleans(), amount=st.integers(1, 20_000))
        def refund(self, data, full, amount):
            payment_key = data.draw(st.sampled_from(self.sales))
            key = self.key("refund")
            self.run(
                lambda: ledger.refund_payment(
                    payment_key=payment_key,
                    refund_key=key,
                    amount_cents=None if full else amount,
                    refunded_at=self.start + timedelta(days=1),
                    uow=database.uow(config),
                )
            )

        @precondition(lambda self: self.sales)
        @rule(data=st.data())
        def dispute_opened(self, data):
            payment_key = data.draw(st.sampled_from(self.sales))
            key = self.key("dispute")
            if self.run(
                lambda: ledger.open_dispute(
                    payment_key=payment_key,
                    dispute_key=key,
                    opened_at=self.start + timedelta(days=1),
                    uow=database.uow(config),
                )
            ):
                self.disputes.append(key)

        @precondition(lambda self: self.disputes)
        @rule(data=st.data())
        def dispute_won(self, data):
            key = data.draw(st.sampled_from(self.disputes))
            self.run(
                lambda: ledger.reinstate_dispute(
                    dispute_key=key, reinstated_at=self.start + timedelta(days=2), uow=database.uow(config)
                )
            )

        @precondition(lambda self: not self.final)
        @rule(order=st.permutations(range(RACERS_PER_RACE)), dnf=st.booleans())
        def race_final(self, order, dnf):
            positions = {self.racers[i]: place + 1 for place, i in enumerate(order)}
            if dnf:
                positions[self.racers[order[-1]]] = None
            finalize_race(database, self.race_id, positions, at=self.start + timedelta(hours=2))
            self.final = True

        @precondition(lambda self: self.final)
        @rule(order=st.permutations(range(RACERS_PER_RACE)))
        def admin_fix(self, order):
            positions = {self.racers[i]: place + 1 for place, i in enumerate(order)}
            fix_results(
                database,
                self.race_id,
                positions,
                fix_id=next(self.fix_ids),
                at=self.start + timedelta(hours=3),
            )

        @rule(racer=st.integers(0, RACERS_PER_RACE - 1), amount=st.integers(1, 5_000))
        def payout_request(self, racer, amount):
            key = self.key("payout")
            payout_id = self.run(
                lambda: payouts.request_payout(
                    self.racers[racer], amount, key=key, uow=database.uow(config), now=LATER
                )
            )
            if payout_id is not None:
                self.payout_ids.append(payout_id)

        @precondition(lambda self: self.payout_ids)
        @rule(data=st.data(), pay=st.booleans())
        def payout_decided(self, data, pay):
            payout_id = data.draw(st.sampled_from(self.payout_ids))
            if pay:
                self.run(
                    lambda: payouts.pay_payout(
                        admin, payout_id, method="paypal", reference="PP", uow=database.uow(config)
                    )
                )
            else:
                self.run(
                    lambda: payouts.reject_payout(
                        admin, payout_id, reason="try again later", uow=database.uow(config)
                    )
                )

        @precondition(lambda self: self.replayable)
        @rule(data=st.data())
        def replay(self, data):
            command = data.draw(st.sampled_from(self.replayable))
            before = _snapshot(database)
            with contextlib.suppress(CozyKartError):
                command()  # a reject replayed after the payout was paid is refused: also no change
            assert _snapshot(database) == before

        @invariant()
        def ledger_reconciles(self):
            report = reconcile(uow=database.uow(), now=LATER)
            assert report.clean, report.violations

        def teardown(self):
            if not self.final:
                finalize_race(
                    database,
                    self.race_id,
                    {r: n + 1 for n, r in enumerate(self.racers)},
                    at=self.start + timedelta(hours=2),
                )
            report = reconcile(uow=database.uow(), now=LATER)
            assert report.clean, report.violations

    return LedgerMachine


def test_random_money_traffic_always_reconciles_and_replays_change_nothing(database):
    run_state_machine_as_test(
        _machine_for(database),
        settings=settings(
            max_examples=EXAMPLES_MAX,
            stateful_step_count=STEPS_PER_EXAMPLE_MAX,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )

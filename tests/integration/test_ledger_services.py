"""The ledger's services on SQLite and PostgreSQL: sales, splits, tips, refunds, payouts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cozykart.db import ledger_repo as repo
from cozykart.db.migrate import downgrade, upgrade
from cozykart.db.types import utc_now
from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.domain.ledger import (
    BelowPayoutThreshold,
    DebtBlocksPayout,
    InsufficientFunds,
    PaymentNotFound,
    PayoutNotPending,
    RefundTooLarge,
)
from cozykart.services import ledger, payouts, wallet
from cozykart.services.reads.reconcile import reconcile
from tests.integration.ledger_support import (
    T0,
    end_race,
    finalize_race,
    fix_results,
    make_admin,
    make_race,
    make_racers,
    make_season,
    settings_for,
)

LATER = utc_now() + timedelta(days=30)  # after every hold period


def _wallet(database, racer_id, *, now=None):
    return wallet.wallet_summary(racer_id, uow=database.uow(settings_for(database)), now=now)


def _available(database, racer_id) -> int:
    return _wallet(database, racer_id, now=LATER).available_cents


def _assert_clean(database):
    report = reconcile(uow=database.uow())
    assert report.clean, report.violations


def _shares(database, racer_ids) -> dict[int, int]:
    return {racer_id: _available(database, racer_id) for racer_id in racer_ids}


def test_worked_example_thirty_dollar_sale_seven_racers_even_split_and_full_refund(database):
    settings = settings_for(database)
    racers = make_racers(database, 7)
    race_id = make_race(database, racers, started_at=T0)

    receipt = ledger.record_sale(
        key="pi_worked",
        gross_cents=3000,
        sold_at=T0 + timedelta(minutes=3),
        item="Cozy hoodie",
        uow=database.uow(settings),
    )
    assert (receipt.race_id, receipt.pool_cents, receipt.house_cents) == (race_id, 600, 2400)

    finalize_race(database, race_id, {r: n + 1 for n, r in enumerate(racers)}, at=T0 + timedelta(minutes=10))
    shares = _shares(database, racers)
    assert sum(shares.values()) == 600
    # 600 = 7 x 85 + 5: five racers get the odd cents, two do not.
    assert sorted(shares.values()) == [85, 85, 86, 86, 86, 86, 86]
    _assert_clean(database)

    clawback = ledger.refund_payment(
        payment_key="pi_worked",
        refund_key="re_worked",
        refunded_at=T0 + timedelta(days=1),
        uow=database.uow(settings),
    )
    assert clawback.amount_cents == 3000
    taken = {code: cents for code, cents in clawback.taken_cents.items() if code.startswith("racer:")}
    assert taken == {f"racer:{r}:wallet": shares[r] for r in racers}
    assert _shares(database, racers) == dict.fromkeys(racers, 0)
    _assert_clean(database)


def test_odd_cents_of_many_sales_land_on_different_racers(database):
    settings = settings_for(database)
    racers = make_racers(database, 7)
    race_id = make_race(database, racers)
    for n in range(14):
        ledger.record_sale(
            key=f"pi_{n}",
            gross_cents=3000,
            sold_at=T0 + timedelta(seconds=n + 1),
            item="Sticker",
            uow=database.uow(settings),
        )
    finalize_race(database, race_id, {r: n + 1 for n, r in enumerate(racers)}, at=T0 + timedelta(hours=1))
    shares = _shares(database, racers)
    assert sum(shares.values()) == 14 * 600
    # 14 sales x 5 odd cents: a single favoured racer would hold 14 more than the least.
    assert max(shares.values()) - min(shares.values()) < 14


def test_replayed_sale_is_recorded_once(database):
    settings = settings_for(database)
    racers = make_racers(database, 2)
    make_race(database, racers)
    first = ledger.record_sale(
        key="evt_1",
        gross_cents=1000,
        sold_at=T0 + timedelta(seconds=5),
        item="Mug",
        uow=database.uow(settings),
    )
    again = ledger.record_sale(
        key="evt_1",
        gross_cents=1000,
        sold_at=T0 + timedelta(seconds=5),
        item="Mug",
        uow=database.uow(settings),
    )
    assert not first.replayed and again.replayed
    assert again.transaction_id == first.transaction_id
    report = reconcile(uow=database.uow())
    assert report.clean and report.transactions_checked == 1


def test_sale_is_attributed_by_its_own_time_not_arrival(database):
    settings = settings_for(database)
    racers = make_racers(database, 2)
    race_id = make_race(database, racers, started_at=T0)
    end_race(database, race_id, ended_at=T0 + timedelta(minutes=10))

    during = ledger.record_sale(
        key="during",
        gross_cents=1000,
        sold_at=T0 + timedelta(minutes=9),
        item="Cap",
        uow=database.uow(settings),
    )
    at_end = ledger.record_sale(
        key="at-end",
        gross_cents=1000,
        sold_at=T0 + timedelta(minutes=10),
        item="Cap",
        uow=database.uow(settings),
    )
    before = ledger.record_sale(
        key="before",
        gross_cents=1000,
        sold_at=T0 - timedelta(seconds=1),
        item="Cap",
        uow=database.uow(settings),
    )
    assert (during.race_id, during.pool_cents) == (race_id, 200)
    assert (at_end.race_id, at_end.pool_cents, at_end.house_cents) == (None, 0, 1000)
    assert before.race_id is None
    _assert_clean(database)


def test_commission_base_is_net_of_manufacturing_cost(database):
    settings = settings_for(database)
    racers = make_racers(database, 2)
    make_race(database, racers)
    receipt = ledger.record_sale(
        key="hoodie",
        gross_cents=4000,
        cost_cents=1500,
        sold_at=T0 + timedelta(seconds=1),
        item="Hoodie",
        uow=database.uow(settings),
    )
    assert (receipt.pool_cents, receipt.house_cents) == (500, 2000)
    _assert_clean(database)


def test_sale_for_a_final_race_is_distributed_at_once(database):
    settings = settings_for(database)
    racers = make_racers(database, 3)
    race_id = make_race(database, racers)
    finalize_race(database, race_id, {racers[0]: 1, racers[1]: 2, racers[2]: 3}, at=T0 + timedelta(hours=1))
    receipt = ledger.record_sale(
        key="late",
        gross_cents=1500,
        sold_at=T0 + timedelta(minutes=30),
        item="Poster",
        uow=database.uow(settings),
    )
    assert receipt.distributed and receipt.pool_cents == 300
    assert _shares(database, racers) == dict.fromkeys(racers, 100)
    _assert_clean(database)


def test_winner_bonus_and_by_points_policies(database):
    settings = settings_for(database)
    racers = make_racers(database, 4)
    bonus = make_season(database, policy="winner_bonus", winner_bonus_bps=5000)
    points = make_season(database, policy="by_points")
    race_a = make_race(
        database, racers, season_id=bonus, started_at=T0, ended_at=T0 + timedelta(hours=1), status="ended"
    )
    race_b = make_race(database, racers, season_id=points, started_at=T0 + timedelta(hours=2))
    ledger.record_sale(
        key="a", gross_cents=6000, sold_at=T0 + timedelta(minutes=1), item="Tee", uow=database.uow(settings)
    )  # pool 1200
    finalize_race(
        database,
        race_a,
        {racers[0]: 2, racers[1]: 1, racers[2]: 3, racers[3]: 4},
        at=T0 + timedelta(hours=1, minutes=5),
    )
    assert _shares(database, racers) == {racers[0]: 200, racers[1]: 600, racers[2]: 200, racers[3]: 200}

    ledger.record_sale(
        key="b",
        gross_cents=16500,
        sold_at=T0 + timedelta(hours=2, minutes=1),
        item="Tee",
        uow=database.uow(settings),
    )  # pool 3300 over points 15+12+10+8 = 45
    finalize_race(
        database, race_b, {racers[0]: 1, racers[1]: 2, racers[2]: 3, racers[3]: 4}, at=T0 + timedelta(hours=3)
    )
    assert _shares(database, racers) == {
        racers[0]: 200 + 1100,
        racers[1]: 600 + 880,
        racers[2]: 200 + 733,
        racers[3]: 200 + 587,
    }
    _assert_clean(database)


def test_admin_fix_posts_a_correction_and_reconciles(database):
    settings = settings_for(database)
    racers = make_racers(database, 3)
    season = make_season(database, policy="winner_bonus", winner_bonus_bps=5000)
    race_id = make_race(database, racers, season_id=season)
    ledger.record_sale(
        key="s", gross_cents=5000, sold_at=T0 + timedelta(minutes=1), item="Tee", uow=database.uow(settings)
    )  # pool 1000
    finalize_race(database, race_id, {racers[0]: 1, racers[1]: 2, racers[2]: 3}, at=T0 + timedelta(hours=1))
    assert _shares(database, racers) == {racers[0]: 500, racers[1]: 250, racers[2]: 250}
    fix_results(
        database, race_id, {racers[0]: 2, racers[1]: 1, racers[2]: 3}, fix_id=1, at=T0 + timedelta(hours=2)
    )
    assert _shares(database, racers) == {racers[0]: 250, racers[1]: 500, racers[2]: 250}
    fix_results(
        database, race_id, {racers[0]: 2, racers[1]: 1, racers[2]: 3}, fix_id=1, at=T0 + timedelta(hours=2)
    )  # the same fix again changes nothing
    assert _shares(database, racers) == {racers[0]: 250, racers[1]: 500, racers[2]: 250}
    _assert_clean(database)


def test_tip_credits_dj_less_fee_and_fee_goes_to_house(database):
    settings = settings_for(database)
    (dj,) = make_racers(database, 1)
    receipt = ledger.record_tip(
        key="tip_1",
        dj_racer_id=dj,
        tip_cents=1000,
        tipped_at=T0,
        song="Coconut Mall",
        fan_name="Peach",
        uow=database.uow(settings),
    )
    assert (receipt.fee_cents, receipt.dj_cents) == (50, 950)
    summary = _wallet(database, dj, now=T0)
    assert summary.held_cents == 950 and summary.available_cents == 0
    assert _available(database, dj) == 950
    history = wallet.wallet_history(dj, uow=database.uow())
    assert "Tip from Peach for 'Coconut Mall'" in history[0].description
    _assert_clean(database)


def test_refund_before_its_sale_waits(database):
    with pytest.raises(PaymentNotFound):
        ledger.refund_payment(
            payment_key="nope", refund_key="re", refunded_at=T0, uow=database.uow(settings_for(database))
        )


def test_partial_refund_and_dispute_lost_then_won(database):
    settings = settings_for(database)
    racers = make_racers(database, 2)
    race_id = make_race(database, racers)
    ledger.record_sale(
        key="p",
        gross_cents=10000,
        sold_at=T0 + timedelta(minutes=1),
        item="Jacket",
        uow=database.uow(settings),
    )
    finalize_race(database, race_id, {racers[0]: 1, racers[1]: 2}, at=T0 + timedelta(hours=1))
    assert _shares(database, racers) == dict.fromkeys(racers, 1000)
    ledger.refund_payment(
        payment_key="p",
        refund_key="r1",
        amount_cents=5000,
        refunded_at=T0 + timedelta(hours=2),
        uow=database.uow(settings),
    )
    assert _shares(database, racers) == dict.fromkeys(racers, 500)
    with pytest.raises(RefundTooLarge):
        ledger.refund_payment(
            payment_key="p", refund_key="r2", amount_cents=5001, refunded_at=T0, uow=database.uow(settings)
        )
    ledger.open_dispute(
        payment_key="p", dispute_key="dp", opened_at=T0 + timedelta(hours=3), uow=database.uow(settings)
    )
    assert _shares(database, racers) == dict.fromkeys(racers, 0)
    ledger.reinstate_dispute(
        dispute_key="dp", reinstated_at=T0 + timedelta(days=2), uow=database.uow(settings)
    )
    ledger.reinstate_dispute(
        dispute_key="dp", reinstated_at=T0 + timedelta(days=2), uow=database.uow(settings)
    )
    assert _shares(database, racers) == dict.fromkeys(racers, 500)
    _assert_clean(database)


def test_what_refunds_and_disputes_took_back_is_kept_per_wallet_and_payment_and_reconcile_checks_it(database):
    """The wallet's "taken back" figure is read from wallet_taken_back rows, which the ledger must give again."""
    settings = settings_for(database)
    racers = make_racers(database, 2)
    race_id = make_race(database, racers)
    for key in ("p", "q"):
        ledger.record_sale(
            key=key,
            gross_cents=10000,
            sold_at=T0 + timedelta(minutes=1),
            item="Jacket",
            uow=database.uow(settings),
        )
    finalize_race(database, race_id, {racers[0]: 1, racers[1]: 2}, at=T0 + timedelta(hours=1))

    def taken_back() -> list[int]:
        return [_wallet(database, racer).refunds_taken_back_cents for racer in racers]

    assert taken_back() == [0, 0]
    ledger.refund_payment(
        payment_key="p",
        refund_key="r1",
        amount_cents=5000,
        refunded_at=T0 + timedelta(hours=2),
        uow=database.uow(settings),
    )
    assert taken_back() == [500, 500]
    ledger.open_dispute(
        payment_key="q", dispute_key="dq", opened_at=T0 + timedelta(hours=3), uow=database.uow(settings)
    )
    assert taken_back() == [1500, 1500]
    ledger.reinstate_dispute(
        dispute_key="dq", reinstated_at=T0 + timedelta(days=2), uow=database.uow(settings)
    )
    assert taken_back() == [500, 500]
    with database.engine.begin() as connection:
        stored = repo.stored_taken_back(connection)
        assert stored == repo.taken_back_from_ledger(connection)
        assert sorted(stored.values()) == [-500, -500, 0, 0]  # per wallet: p taken back; q taken and won back
        assert repo.rebuild_taken_back(connection) == len(stored) == 4
        assert repo.stored_taken_back(connection) == stored
    database.engine.dispose()
    downgrade(database.url, "0020")  # migration 0021 backfills the rows from the ledger
    upgrade(database.url)
    with database.engine.begin() as connection:
        assert repo.stored_taken_back(connection) == stored
        (account_id, payment_id), cents = min(stored.items(), key=lambda item: item[1])
        connection.execute(
            text(
                "UPDATE wallet_taken_back SET net_cents = net_cents + 1 "
                f"WHERE account_id = {account_id} AND payment_id = {payment_id}"
            )
        )
    report = reconcile(uow=database.uow())
    assert [violation.check for violation in report.violations] == ["taken_back_mismatch"]
    assert (
        f"wallet account {account_id}, payment {payment_id}: stored {cents + 1} cents"
        in report.violations[0].detail
    )
    assert f"the ledger gives {cents} cents" in report.violations[0].detail


def _fund(database, admin, racer_id, amount_cents, key):
    ledger.adjust_wallet(
        admin,
        racer_id,
        amount_cents,
        reason="opening balance",
        key=key,
        uow=database.uow(settings_for(database)),
    )


def test_payout_request_pay_and_reject(database):
    settings = settings_for(database)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    _fund(database, admin, racer, 5000, "fund")

    with pytest.raises(BelowPayoutThreshold):
        payouts.request_payout(racer, 1999, key="small", uow=database.uow(settings))
    with pytest.raises(InsufficientFunds):
        payouts.request_payout(racer, 5001, key="big", uow=database.uow(settings))
    first = payouts.request_payout(racer, 2000, key="k1", uow=database.uow(settings))
    assert payouts.request_payout(racer, 2000, key="k1", uow=database.uow(settings)) == first
    second = payouts.request_payout(racer, 3000, key="k2", uow=database.uow(settings))
    summary = _wallet(database, racer)
    assert (summary.available_cents, summary.in_payout_cents) == (0, 5000)

    with pytest.raises(PermissionDenied):
        payouts.pay_payout(racer, first, method="paypal", reference="x", uow=database.uow(settings))
    paid = payouts.pay_payout(admin, first, method="paypal", reference="PP-1", uow=database.uow(settings))
    again = payouts.pay_payout(admin, first, method="paypal", reference="PP-1", uow=database.uow(settings))
    assert (paid.status, paid.replayed, again.replayed) == ("paid", False, True)
    with pytest.raises(PayoutNotPending):
        payouts.reject_payout(admin, first, reason="changed my mind", uow=database.uow(settings))
    payouts.reject_payout(admin, second, reason="wrong PayPal address", uow=database.uow(settings))

    summary = _wallet(database, racer)
    assert (summary.available_cents, summary.in_payout_cents, summary.paid_out_cents) == (3000, 0, 2000)
    assert summary.lifetime_earned_cents == 5000
    direct = payouts.direct_payout(
        admin, racer, 1000, method="gift card", reference="GC-9", key="d1", uow=database.uow(settings)
    )
    assert direct and _wallet(database, racer).paid_out_cents == 3000
    _assert_clean(database)


def test_debt_from_refund_after_payout_blocks_payouts_until_cleared(database):
    settings = settings_for(database)
    admin = make_admin(database)
    racers = make_racers(database, 1)
    race_id = make_race(database, racers)
    ledger.record_sale(
        key="big",
        gross_cents=20000,
        sold_at=T0 + timedelta(seconds=1),
        item="Bundle",
        uow=database.uow(settings),
    )
    finalize_race(database, race_id, {racers[0]: 1}, at=T0 + timedelta(hours=1))
    assert _available(database, racers[0]) == 4000
    payouts.direct_payout(
        admin,
        racers[0],
        4000,
        method="paypal",
        reference="pp",
        key="d",
        uow=database.uow(settings),
        now=LATER,
    )
    ledger.refund_payment(
        payment_key="big", refund_key="rf", refunded_at=T0 + timedelta(days=1), uow=database.uow(settings)
    )
    summary = _wallet(database, racers[0])
    assert (summary.debt_cents, summary.available_cents) == (4000, 0)
    with pytest.raises(DebtBlocksPayout):
        payouts.request_payout(racers[0], 2000, key="k", uow=database.uow(settings), now=LATER)
    _assert_clean(database)
    _fund(database, admin, racers[0], 6000, "bonus")
    assert (_wallet(database, racers[0]).debt_cents, _available(database, racers[0])) == (0, 2000)


def test_database_refuses_update_and_delete_of_postings(database):
    settings = settings_for(database)
    ledger.record_sale(key="x", gross_cents=100, sold_at=T0, item="Pin", uow=database.uow(settings))
    for statement in (
        "UPDATE ledger_posting SET amount_cents = amount_cents + 1",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_transaction SET description = 'edited'",
        "DELETE FROM ledger_transaction",
    ):
        with database.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
    _assert_clean(database)


def test_bad_amounts_are_refused(database):
    settings = settings_for(database)
    for bad in (0, -5, 10.5, True):
        with pytest.raises(InvalidInput):
            ledger.record_sale(key="b", gross_cents=bad, sold_at=T0, item="Pin", uow=database.uow(settings))


def test_earnings_are_held_until_the_hold_period_ends(database):
    settings = settings_for(database)
    (dj,) = make_racers(database, 1)
    ledger.record_tip(
        key="held",
        dj_racer_id=dj,
        tip_cents=2500,
        tipped_at=T0,
        song="Rainbow Road",
        uow=database.uow(settings),
    )
    soon = utc_now() + timedelta(days=settings.hold_days) - timedelta(minutes=1)
    after = utc_now() + timedelta(days=settings.hold_days, minutes=1)
    assert (_wallet(database, dj, now=soon).held_cents, _wallet(database, dj, now=soon).available_cents) == (
        2375,
        0,
    )
    with pytest.raises(InsufficientFunds, match="on hold"):
        payouts.request_payout(dj, 2000, key="early", uow=database.uow(settings), now=soon)
    assert _wallet(database, dj, now=after).available_cents == 2375
    payouts.request_payout(dj, 2000, key="later", uow=database.uow(settings), now=after)
    _assert_clean(database)


def test_tip_refund_takes_back_from_dj_and_house(database):
    settings = settings_for(database)
    (dj,) = make_racers(database, 1)
    ledger.record_tip(
        key="t",
        dj_racer_id=dj,
        tip_cents=1000,
        tipped_at=T0,
        song="Bowser's Castle",
        uow=database.uow(settings),
    )
    clawback = ledger.refund_payment(
        payment_key="t", refund_key="rt", refunded_at=T0, uow=database.uow(settings)
    )
    assert clawback.taken_cents == {"house": 50, f"racer:{dj}:wallet": 950}
    # what was earned stays what was earned; what the refund took back is its own figure
    after = _wallet(database, dj, now=LATER)
    assert (after.lifetime_earned_cents, after.refunds_taken_back_cents) == (950, 950)
    _assert_clean(database)


def test_history_reads_like_a_bank_statement_newest_first_with_running_balance(database):
    settings = settings_for(database)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    ledger.record_tip(
        key="h1",
        dj_racer_id=racer,
        tip_cents=1000,
        tipped_at=T0,
        song="Mario Circuit",
        fan_name="Luigi",
        uow=database.uow(settings),
    )
    ledger.adjust_wallet(admin, racer, 2000, reason="tournament prize", key="h2", uow=database.uow(settings))
    payout_id = payouts.request_payout(racer, 2000, key="h3", uow=database.uow(settings))
    payouts.pay_payout(admin, payout_id, method="paypal", reference="PP-7", uow=database.uow(settings))

    lines = wallet.wallet_history(racer, uow=database.uow())
    assert [line.amount_cents for line in lines] == [-2000, 2000, 950]
    assert [line.balance_after_cents for line in lines] == [950, 2950, 950]
    assert lines[0].description == f"Payout #{payout_id} requested ($20.00)"
    assert "tournament prize" in lines[1].description
    assert "Tip from Luigi for 'Mario Circuit'" in lines[2].description
    older = wallet.wallet_history(racer, uow=database.uow(), limit=1, before_posting_id=lines[0].posting_id)
    assert older == [lines[1]]


def test_a_payment_key_replayed_with_another_amount_is_refused(database):
    settings = settings_for(database)
    ledger.record_sale(key="same", gross_cents=1000, sold_at=T0, item="Pin", uow=database.uow(settings))
    with pytest.raises(InvalidInput, match="different amount"):
        ledger.record_sale(key="same", gross_cents=1001, sold_at=T0, item="Pin", uow=database.uow(settings))
    _assert_clean(database)


def test_only_admins_adjust_and_a_reason_is_required(database):
    settings = settings_for(database)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    with pytest.raises(PermissionDenied):
        ledger.adjust_wallet(racer, racer, 100, reason="free money", key="a", uow=database.uow(settings))
    with pytest.raises(InvalidInput):
        ledger.adjust_wallet(admin, racer, 100, reason="", key="a", uow=database.uow(settings))
    ledger.adjust_wallet(admin, racer, -300, reason="duplicate prize", key="a", uow=database.uow(settings))
    assert _wallet(database, racer).debt_cents == 300
    _assert_clean(database)


def test_dispute_won_after_the_race_became_final_goes_to_the_racers_not_the_pool(database):
    settings = settings_for(database)
    racers = make_racers(database, 2)
    race_id = make_race(database, racers)
    ledger.record_sale(
        key="d",
        gross_cents=10000,
        sold_at=T0 + timedelta(minutes=1),
        item="Jacket",
        uow=database.uow(settings),
    )
    ledger.open_dispute(
        payment_key="d", dispute_key="dd", opened_at=T0 + timedelta(minutes=2), uow=database.uow(settings)
    )
    finalize_race(database, race_id, {racers[0]: 1, racers[1]: 2}, at=T0 + timedelta(hours=1))
    assert _shares(database, racers) == dict.fromkeys(racers, 0)

    ledger.reinstate_dispute(
        dispute_key="dd", reinstated_at=T0 + timedelta(days=3), uow=database.uow(settings)
    )

    assert _shares(database, racers) == dict.fromkeys(racers, 1000)
    _assert_clean(database)


def test_admin_repair_splits_a_final_race_pool_that_was_left_over_and_repeats_change_nothing(database):
    settings = settings_for(database)
    admin = make_admin(database)
    racers = make_racers(database, 2)
    race_id = make_race(database, racers)
    ledger.record_sale(
        key="left",
        gross_cents=1000,
        sold_at=T0 + timedelta(seconds=1),
        item="Cap",
        uow=database.uow(settings),
    )
    with database.engine.begin() as connection:  # the league finalized it without telling the ledger
        connection.execute(text(f"UPDATE race SET status = 'final' WHERE id = {race_id}"))
    assert [v.check for v in reconcile(uow=database.uow()).violations] == ["undistributed_pool"]

    with pytest.raises(PermissionDenied):
        ledger.distribute_race(racers[0], race_id, uow=database.uow(settings))
    assert ledger.distribute_race(admin, race_id, uow=database.uow(settings)) is not None
    assert ledger.distribute_race(admin, race_id, uow=database.uow(settings)) is None
    assert _shares(database, racers) == dict.fromkeys(racers, 100)
    _assert_clean(database)

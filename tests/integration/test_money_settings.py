"""Money settings changed by an admin, on SQLite and PostgreSQL.

A change is stored and audited, applies from the next event on (never to a
transaction already written), is refused to racers and to bad values, and the
read every money service makes is one query.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from cozykart.db.ledger_tables import LedgerPayment
from cozykart.db.money_settings_tables import MoneySettingChange
from cozykart.db.types import utc_now
from cozykart.domain.errors import InvalidInput, PermissionDenied, SettingChangeConflict
from cozykart.domain.ledger import BelowPayoutThreshold
from cozykart.services import ledger, payouts, wallet
from cozykart.services.money_settings import change_money_setting, money_settings_view
from cozykart.services.reads.reconcile import reconcile
from tests.integration.ledger_support import (
    T0,
    finalize_race,
    make_admin,
    make_race,
    make_racers,
    settings_for,
)

LATER = utc_now() + timedelta(days=30)
THREADS = 6
BARRIER_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60


def _change(database, actor_id, name, value, reason="league vote of November"):
    return change_money_setting(
        actor_id=actor_id, name=name, value=value, reason=reason, uow=database.uow(settings_for(database))
    )


def _changes(database) -> list:
    with database.engine.connect() as connection:
        return connection.execute(select(MoneySettingChange.__table__).order_by(MoneySettingChange.id)).all()


def _pool_of(database, key: str) -> int:
    with database.engine.connect() as connection:
        table = LedgerPayment.__table__
        return connection.execute(select(table.c.pool_cents).where(table.c.key == key)).scalar_one()


def _sale(database, key, *, minutes):
    return ledger.record_sale(
        key=key,
        gross_cents=3000,
        sold_at=T0 + timedelta(minutes=minutes),
        item="Cozy hoodie",
        uow=database.uow(settings_for(database)),
    )


def test_changed_commission_rate_changes_the_next_sales_pool_and_not_earlier_ones(database):
    admin = make_admin(database)
    racers = make_racers(database, 3)
    race_id = make_race(database, racers, started_at=T0)

    before = _sale(database, "pi_before", minutes=1)
    receipt = _change(database, admin, "commission_rate_bps", "30")
    after = _sale(database, "pi_after", minutes=2)

    assert (receipt.old_value, receipt.new_value) == (2000, 3000)
    assert (before.pool_cents, after.pool_cents) == (600, 900)
    assert (after.house_cents) == 2100
    # The earlier sale keeps its pool, in its row and when its webhook is replayed.
    assert _pool_of(database, "pi_before") == 600
    assert _sale(database, "pi_before", minutes=1).pool_cents == 600

    finalize_race(database, race_id, {r: n + 1 for n, r in enumerate(racers)}, at=T0 + timedelta(minutes=10))
    shares = [
        wallet.wallet_summary(r, uow=database.uow(settings_for(database)), now=LATER).available_cents
        for r in racers
    ]
    assert sum(shares) == 600 + 900
    report = reconcile(uow=database.uow())
    assert report.clean, report.violations


def test_changed_tip_fee_and_hold_apply_to_the_next_tip(database):
    admin = make_admin(database)
    (dj,) = make_racers(database, 1)
    _change(database, admin, "tip_fee_bps", "12.5%")
    _change(database, admin, "hold_days", "0")

    receipt = ledger.record_tip(
        key="tip_1",
        dj_racer_id=dj,
        tip_cents=1000,
        tipped_at=T0,
        song="Coconut Mall",
        uow=database.uow(settings_for(database)),
    )

    assert (receipt.fee_cents, receipt.dj_cents) == (125, 875)
    summary = wallet.wallet_summary(dj, uow=database.uow(settings_for(database)), now=utc_now())
    assert (summary.available_cents, summary.held_cents) == (875, 0)  # no hold any more


def test_changed_payout_threshold_applies_to_requests_and_the_wallet(database):
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    settings = settings_for(database)
    ledger.adjust_wallet(admin, racer, 1500, reason="opening balance", key="fund", uow=database.uow(settings))
    with pytest.raises(BelowPayoutThreshold):
        payouts.request_payout(racer, 1500, key="k0", uow=database.uow(settings))

    _change(database, admin, "payout_min_cents", "$10.00")

    assert wallet.wallet_summary(racer, uow=database.uow(settings)).payout_min_cents == 1000
    payout_id = payouts.request_payout(racer, 1500, key="k1", uow=database.uow(settings))
    assert payout_id > 0


def test_a_racer_cannot_change_or_read_the_money_settings(database):
    make_admin(database)
    (racer,) = make_racers(database, 1)

    with pytest.raises(PermissionDenied):
        _change(database, racer, "commission_rate_bps", "90")
    with pytest.raises(PermissionDenied):
        money_settings_view(actor_id=racer, uow=database.uow(settings_for(database)))
    assert _changes(database) == []
    with database.uow(settings_for(database)) as uow:
        assert uow.settings.commission_rate_bps == 2000


@pytest.mark.parametrize(
    ("name", "value", "reason", "message"),
    [
        ("commission_rate_bps", "101", "a reason", "between 0.00% (0 bps) and 100.00% (10000 bps)"),
        ("commission_rate_bps", "-1", "a reason", "between"),
        ("commission_rate_bps", "twenty", "a reason", "give a percent"),
        ("commission_rate_bps", "12.345", "a reason", "at most 2 decimals"),
        ("commission_rate_bps", "NaN", "a reason", "give a percent"),
        ("commission_rate_bps", "1e999999999", "a reason", "give a percent"),
        ("commission_rate_bps", "1e3", "a reason", "between"),
        ("commission_rate_bps", "20", "a reason", "already 20.00%"),
        ("commission_rate_bps", "25", "  ", "Give a reason"),
        ("tip_fee_bps", "", "a reason", "give a new value"),
        ("payout_min_cents", "0", "a reason", "between $0.01 and"),
        ("payout_min_cents", "5.555", "a reason", "two decimals"),
        ("hold_days", "366", "a reason", "between 0 days and 365 days"),
        ("hold_days", "1.5", "a reason", "whole number of days"),
        ("house_cut", "5", "a reason", "not a money setting"),
    ],
)
def test_bad_values_change_nothing(database, name, value, reason, message):
    admin = make_admin(database)

    with pytest.raises(InvalidInput) as refused:
        _change(database, admin, name, value, reason=reason)

    assert message in str(refused.value)
    assert _changes(database) == []
    with database.uow(settings_for(database)) as uow:
        assert uow.settings == settings_for(database)


def test_the_audit_lists_every_change_newest_first(database):
    admin = make_admin(database)
    _change(database, admin, "commission_rate_bps", "25", reason="bigger pots for the cup")
    _change(database, admin, "commission_rate_bps", "22.5", reason="met halfway")
    _change(database, admin, "hold_days", 3, reason="faster cash-outs")

    view = money_settings_view(actor_id=admin, uow=database.uow(settings_for(database)))

    assert [
        (line.name, line.old_value, line.new_value, line.reason, line.actor_name) for line in view.history
    ] == [
        ("hold_days", 7, 3, "faster cash-outs", "Admin"),
        ("commission_rate_bps", 2500, 2250, "met halfway", "Admin"),
        ("commission_rate_bps", 2000, 2500, "bigger pots for the cup", "Admin"),
    ]
    by_name = {line.name: line for line in view.settings}
    assert by_name["commission_rate_bps"].value == 2250
    assert by_name["commission_rate_bps"].value_words == "22.50% (2250 bps)"
    assert by_name["commission_rate_bps"].source_words.startswith("Changed by Admin at ")
    assert by_name["tip_fee_bps"].value == 500
    assert by_name["tip_fee_bps"].source_words == "Environment default (COZYKART_TIP_FEE_BPS)"
    assert [row.sequence for row in _changes(database) if row.name == "commission_rate_bps"] == [1, 2]


def test_the_same_change_number_cannot_be_written_twice(database):
    """Two admins changing one setting at once: the unique (name, sequence) lets only one through."""
    admin = make_admin(database)
    _change(database, admin, "hold_days", 3)
    table = MoneySettingChange.__table__
    with pytest.raises(Exception) as duplicate, database.engine.begin() as connection:
        connection.execute(
            table.insert().values(
                name="hold_days",
                sequence=1,
                old_value=7,
                new_value=5,
                reason="racing",
                actor_racer_id=admin,
                created_at=utc_now(),
            )
        )
    assert "unique" in str(duplicate.value).lower() or "duplicate" in str(duplicate.value).lower()
    assert len(_changes(database)) == 1


def test_effective_settings_is_one_query(database):
    admin = make_admin(database)
    _change(database, admin, "commission_rate_bps", "25")
    _change(database, admin, "hold_days", "2")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with database.uow(settings_for(database)) as uow:
        connection = uow.session.connection()  # the transaction begins here, before the read
        event.listen(connection, "before_cursor_execute", count)
        effective = uow.settings
        event.remove(connection, "before_cursor_execute", count)

    assert (effective.commission_rate_bps, effective.hold_days, effective.tip_fee_bps) == (2500, 2, 500)
    queries = [s for s in statements if not s.upper().startswith("BEGIN")]  # SQLite's engine opens with BEGIN
    assert len(queries) == 1, queries


def test_admins_changing_one_setting_at_once_keep_the_audit_a_chain(database):
    """Each change's old value is the change before it: a racing change either waits or is refused."""
    admin = make_admin(database)
    settings = settings_for(database)
    values = [2100 + 100 * n for n in range(THREADS)]
    start = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT_S)
    outcomes: dict[int, object] = {}

    def change(value: int) -> None:
        start.wait()
        try:
            outcomes[value] = change_money_setting(
                actor_id=admin,
                name="commission_rate_bps",
                value=value,
                reason=f"race {value}",
                uow=database.uow(settings),
            )
        except SettingChangeConflict as conflict:
            outcomes[value] = conflict

    threads = [threading.Thread(target=change, args=(value,)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_S)

    assert set(outcomes) == set(values)
    written = [row for row in _changes(database) if row.name == "commission_rate_bps"]
    assert len(written) == sum(1 for o in outcomes.values() if not isinstance(o, SettingChangeConflict)) >= 1
    assert [row.sequence for row in written] == list(range(1, len(written) + 1))
    assert [row.old_value for row in written] == [2000] + [row.new_value for row in written[:-1]]

"""The audit trail: every admin action, in the action's own transaction, read as one list (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cozykart.db.audit_tables import AdminAction
from cozykart.domain.audit import ActionKind
from cozykart.domain.errors import InvalidInput, NotFound, PermissionDenied
from cozykart.domain.ledger import PayoutNotPending
from cozykart.services import identity, league, ledger, money_settings, overlays, payouts, seasons
from cozykart.services.reads.audit import audit_trail, racer_fixes
from cozykart.services.reads.reconcile import reconcile
from tests.integration.league_support import make_league


def _action_rows(database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(AdminAction)).scalar_one()


def _a_night_of_admin_actions(database):
    """An admin does one of everything; returns the league and the ids the test looks for."""
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    admin = lg.admin_id
    cup = seasons.create_season(
        "Winter Cup", starts_on=lg.clock().date(), ends_on=lg.clock().date(), **lg.kw(admin)
    )
    seasons.activate_season(cup.season_id, **lg.kw(admin))
    race_id = lg.final_race([a, b, c]).race_id
    league.admin_fix_result(race_id, c, 1, reason="lag on lap 3", **lg.kw(admin))
    money_settings.change_money_setting(
        name="hold_days", value="3", reason="shorter hold for the demo", **lg.kw(admin)
    )
    identity.set_role(admin, b, "dj", granted=True, uow=lg.database.uow(lg.settings), now=lg.clock())
    overlays.regenerate_overlay_key(**lg.kw(admin))
    for racer in (a, b):
        ledger.adjust_wallet(
            admin, racer, 6000, reason="prize money", key=f"fund-{racer}", uow=database.uow(lg.settings)
        )
    paid = payouts.request_payout(a, 2500, key="ask-a", uow=database.uow(lg.settings), now=lg.clock())
    rejected = payouts.request_payout(b, 2500, key="ask-b", uow=database.uow(lg.settings), now=lg.clock())
    payouts.pay_payout(
        admin, paid, method="paypal", reference="PP-1", uow=database.uow(lg.settings), now=lg.clock()
    )
    payouts.reject_payout(
        admin, rejected, reason="wrong PayPal address", uow=database.uow(lg.settings), now=lg.clock()
    )
    direct = payouts.direct_payout(
        admin,
        b,
        1000,
        method="gift_card",
        reference="GC-9",
        key="direct-b",
        uow=database.uow(lg.settings),
        now=lg.clock(),
    )
    return lg, race_id, (paid, rejected, direct)


def test_every_admin_action_is_listed_newest_first_with_who_what_old_new_and_why(database):
    lg, race_id, (_paid, rejected, direct) = _a_night_of_admin_actions(database)

    trail = audit_trail(actor_id=lg.admin_id, uow=database.uow(lg.settings))

    kinds = [entry.kind for entry in trail]
    assert kinds[:5] == ["payout_direct", "payout_rejected", "payout_paid", "overlay_key", "role"]
    assert kinds[5] == "money_setting"
    assert set(kinds[6:]) == {"result_fix", "season_activated", "season_created"}
    assert [entry.at for entry in trail] == sorted((entry.at for entry in trail), reverse=True)
    assert all(entry.actor_name == "Admin" for entry in trail)
    by_kind = {entry.kind: entry for entry in trail}
    assert by_kind["payout_rejected"].subject == f"Payout #{rejected} of $25.00"
    assert by_kind["payout_rejected"].change == "pending → rejected: back in the wallet"
    assert by_kind["payout_rejected"].reason == "wrong PayPal address"
    assert by_kind["payout_paid"].change == "pending → paid by paypal (ref PP-1)"
    assert by_kind["payout_direct"].subject == f"Payout #{direct} of $10.00 to Racer1"
    assert by_kind["money_setting"].change == "7 days → 3 days"
    assert by_kind["money_setting"].reason == "shorter hold for the demo"
    assert by_kind["role"].subject == "DJ role of Racer1"
    assert by_kind["role"].change == "not held → granted"
    assert by_kind["season_activated"].change == "upcoming → active"
    assert "old one stopped working" in by_kind["overlay_key"].change
    fixes = [entry for entry in trail if entry.kind == "result_fix"]
    assert sorted((fix.subject.split(" in ")[0], fix.change) for fix in fixes) == [
        ("Racer0", "P1 → P2"),
        ("Racer1", "P2 → P3"),
        ("Racer2", "P3 → P1"),
    ]
    assert all(fix.reason == "lag on lap 3" and fix.race_id == race_id for fix in fixes)
    assert reconcile(uow=database.uow(lg.settings)).clean


def test_the_trail_filters_by_race_and_by_racer(database):
    lg, race_id, (_paid, _rejected, _direct) = _a_night_of_admin_actions(database)
    _a, b, c = lg.racer_ids

    of_race = audit_trail(actor_id=lg.admin_id, race_id=str(race_id), uow=database.uow(lg.settings))
    of_b = audit_trail(actor_id=lg.admin_id, racer_id=b, uow=database.uow(lg.settings))
    of_c_in_race = audit_trail(
        actor_id=lg.admin_id, race_id=race_id, racer_id=f"#{c}", uow=database.uow(lg.settings)
    )

    assert {entry.kind for entry in of_race} == {"result_fix"} and len(of_race) == 3
    assert [entry.kind for entry in of_b] == ["payout_direct", "payout_rejected", "role", "result_fix"]
    assert all(entry.racer_id == b for entry in of_b)
    assert [(entry.kind, entry.change) for entry in of_c_in_race] == [("result_fix", "P3 → P1")]


@pytest.mark.parametrize("bad", ["abc", "-3", "0", "1.5", "99999999999", True])
def test_a_bad_filter_is_refused_in_words(database, bad):
    lg = make_league(database, 1)
    with pytest.raises(InvalidInput, match="whole number"):
        audit_trail(actor_id=lg.admin_id, race_id=bad, uow=database.uow(lg.settings))


def test_an_unknown_race_or_racer_is_not_found_and_only_admins_read_the_trail(database):
    lg = make_league(database, 1)
    with pytest.raises(NotFound, match="no race #4242"):
        audit_trail(actor_id=lg.admin_id, race_id=4242, uow=database.uow(lg.settings))
    with pytest.raises(NotFound, match="no racer #4242"):
        audit_trail(actor_id=lg.admin_id, racer_id="4242", uow=database.uow(lg.settings))
    with pytest.raises(PermissionDenied):
        audit_trail(actor_id=lg.racer_ids[0], uow=database.uow(lg.settings))


def test_a_refused_action_writes_no_line_and_a_replayed_decision_writes_none_again(database):
    lg, _race_id, (paid, _rejected, _direct) = _a_night_of_admin_actions(database)
    before = _action_rows(database)

    with pytest.raises(PayoutNotPending):
        payouts.reject_payout(lg.admin_id, paid, reason="too late", uow=database.uow(lg.settings))
    payouts.pay_payout(lg.admin_id, paid, method="paypal", reference="PP-1", uow=database.uow(lg.settings))
    payouts.direct_payout(
        lg.admin_id,
        lg.racer_ids[1],
        1000,
        method="gift_card",
        reference="GC-9",
        key="direct-b",
        uow=database.uow(lg.settings),
    )
    with pytest.raises(PermissionDenied):
        overlays.regenerate_overlay_key(actor_id=lg.racer_ids[0], uow=database.uow(lg.settings))

    assert _action_rows(database) == before


def test_a_racers_profile_fixes_are_the_fixes_to_their_own_results(database):
    lg, race_id, _ = _a_night_of_admin_actions(database)
    _a, _b, c = lg.racer_ids

    mine = racer_fixes(c, uow=database.uow(lg.settings))

    assert [(entry.change, entry.reason, entry.race_id) for entry in mine] == [
        ("P3 → P1", "lag on lap 3", race_id)
    ]
    assert racer_fixes(lg.host_id, uow=database.uow(lg.settings)) == ()


def test_record_admin_action_is_refused_for_the_kinds_with_their_own_rows(database):
    from cozykart.services.audit import record_admin_action

    lg = make_league(database, 1)
    with database.uow(lg.settings) as uow, pytest.raises(AssertionError):
        record_admin_action(uow, ActionKind.RESULT_FIX, actor_id=lg.admin_id, subject="x", at=lg.clock())

"""The admin console's results desk and season list, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from cozykart.db.tables import ResultFix
from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.domain.league import ReasonRequired
from cozykart.services import league, ledger, results_admin, seasons, wallet
from cozykart.services.reads.reconcile import reconcile
from tests.integration.league_support import make_league


def _race_with_a_pot(lg, order):
    """A final race of `order` (best first) during which a $30.00 hoodie sold."""
    race_id = lg.live_race(order)
    ledger.record_sale(
        key=f"pi_{race_id}",
        gross_cents=3000,
        sold_at=lg.clock(),
        item="Cozy hoodie",
        uow=lg.database.uow(lg.settings),
    )
    league.end_race(race_id, **lg.kw(lg.host_id))
    league.set_results(race_id, {r: n for n, r in enumerate(order, start=1)}, **lg.kw(lg.host_id))
    return race_id


def _places(database, race_id):
    view = league.get_race(race_id, uow=database.uow())
    return {entry.racer.racer_id: (entry.position, entry.points) for entry in view.entries}


def _held(lg, racer_id):
    return wallet.wallet_summary(racer_id, uow=lg.database.uow(lg.settings)).lifetime_earned_cents


def test_results_desk_lists_races_to_rule_on_and_recent_finals(database):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    waiting = lg.ended_race([a, b], name="Waiting")
    final = lg.final_race([c, d], name="Done").race_id

    desk = results_admin.results_desk(**lg.kw_no_now(lg.admin_id))

    assert [race.race_id for race in desk.awaiting] == [waiting]
    assert [race.race_id for race in desk.recent_final] == [final]
    with pytest.raises(PermissionDenied):
        results_admin.results_desk(**lg.kw_no_now(a))


def test_fix_preview_changes_nothing_and_the_fix_does_what_it_showed(database):
    lg = make_league(database, 4)
    a, b, c, d = lg.racer_ids
    cup = seasons.create_season(
        "Bonus Cup",
        starts_on=lg.clock().date(),
        ends_on=lg.clock().date(),
        split_policy="winner_bonus",
        winner_bonus_bps=5000,
        **lg.kw(lg.admin_id),
    )
    seasons.activate_season(cup.season_id, **lg.kw(lg.admin_id))
    race_id = _race_with_a_pot(lg, [a, b, c, d])
    places_before = _places(database, race_id)
    held_before = {r: _held(lg, r) for r in lg.racer_ids}
    assert sum(held_before.values()) == 600

    preview = results_admin.preview_admin_fix(
        race_id, str(d), "1", reason="DNF was a disconnect", **lg.kw_no_now(lg.admin_id)
    )

    assert [
        (ch.name, ch.old_words, ch.new_words, ch.old_points, ch.new_points) for ch in preview.changes
    ] == [
        ("Racer0", "P1", "P2", 15, 12),
        ("Racer1", "P2", "P3", 12, 10),
        ("Racer2", "P3", "P4", 10, 8),
        ("Racer3", "P4", "P1", 8, 15),
    ]
    assert preview.pot_held_cents == 600
    assert _places(database, race_id) == places_before  # rolled back
    with database.uow() as uow:
        assert uow.session.exec(select(ResultFix)).all() == []

    outcome = results_admin.apply_admin_fix(
        race_id, str(d), "1", reason="DNF was a disconnect", **lg.kw(lg.admin_id)
    )

    assert outcome.changes == preview.changes
    assert _places(database, race_id)[d] == (1, 15)
    held_after = {r: _held(lg, r) for r in lg.racer_ids}
    assert outcome.moved_cents == {
        r: held_after[r] - held_before[r] for r in lg.racer_ids if held_after[r] != held_before[r]
    }
    assert sum(outcome.moved_cents.values()) == 0 and outcome.moved_cents
    assert outcome.pot_held_cents == 600
    report = reconcile(uow=database.uow())
    assert report.clean, report.violations


def test_a_racer_can_neither_preview_nor_apply_a_fix(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    race_id = _race_with_a_pot(lg, [a, b])
    before = _places(database, race_id)

    with pytest.raises(PermissionDenied):
        results_admin.preview_admin_fix(race_id, b, 1, reason="I won really", **lg.kw_no_now(b))
    with pytest.raises(PermissionDenied):
        results_admin.apply_admin_fix(race_id, b, 1, reason="I won really", **lg.kw(b))
    assert _places(database, race_id) == before


def test_bad_fixes_are_refused_with_the_leagues_message(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    race_id = _race_with_a_pot(lg, [a, b])

    with pytest.raises(InvalidInput, match="from 1 to 2, or DNF"):
        results_admin.preview_admin_fix(race_id, b, 3, reason="typo", **lg.kw_no_now(lg.admin_id))
    with pytest.raises(ReasonRequired):
        results_admin.apply_admin_fix(race_id, b, 1, reason="  ", **lg.kw(lg.admin_id))
    with database.uow() as uow:
        assert uow.session.exec(select(ResultFix)).all() == []


def test_only_admins_list_seasons_in_the_console(database):
    lg = make_league(database, 1)
    (racer,) = lg.racer_ids
    seasons.create_season(
        "Winter Cup", starts_on=lg.clock().date(), ends_on=lg.clock().date(), **lg.kw(lg.admin_id)
    )

    names = [season.name for season in seasons.admin_seasons(**lg.kw_no_now(lg.admin_id))]

    assert "Winter Cup" in names
    with pytest.raises(PermissionDenied):
        seasons.admin_seasons(**lg.kw_no_now(racer))
    with pytest.raises(PermissionDenied):
        seasons.create_season(
            "Sneaky", starts_on=lg.clock().date(), ends_on=lg.clock().date(), **lg.kw(racer)
        )

"""Ruling on results without accidents: dry-run previews, acknowledged DNFs, one whole-table correction.

On SQLite and PostgreSQL, with a real pot in the ledger.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from cozykart.db.tables import ResultFix
from cozykart.domain.errors import PermissionDenied
from cozykart.domain.league import InvalidPosition, ReportsMissing
from cozykart.services import league, ledger, outbox, results_admin, results_preview, seasons, wallet
from cozykart.services.reads.reconcile import reconcile
from tests.integration.league_support import make_league


def _ended_with_a_pot(lg, racer_ids, gross_cents=3000):
    race_id = lg.live_race(racer_ids)
    ledger.record_sale(
        key=f"pi_{race_id}",
        gross_cents=gross_cents,
        sold_at=lg.clock(),
        item="Cozy hoodie",
        uow=lg.database.uow(lg.settings),
    )
    league.end_race(race_id, **lg.kw(lg.host_id))
    return race_id


def _earned(lg, racer_id):
    return wallet.wallet_summary(racer_id, uow=lg.database.uow(lg.settings)).lifetime_earned_cents


def test_confirming_with_silent_racers_previews_who_and_the_split_then_needs_the_acknowledgement(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    race_id = _ended_with_a_pot(lg, [a, b, c])
    league.report_result(race_id, 1, **lg.kw(a))

    preview = results_preview.preview_confirm(race_id, **lg.kw_no_now(lg.host_id))

    view = league.get_race(race_id, uow=database.uow())
    names = {entry.racer.racer_id: entry.racer.name for entry in view.entries}
    assert sorted(preview.missing) == sorted([names[b], names[c]])
    assert view.status == "ended" and {_earned(lg, r) for r in lg.racer_ids} == {0}  # rolled back
    assert (preview.places[0].name, preview.places[0].place_words) == (names[a], "P1")
    assert {p.place_words for p in preview.places[1:]} == {"DNF"}
    assert preview.pot_cents == 600 and sum(p.share_cents for p in preview.places) == 600
    with pytest.raises(ReportsMissing):
        league.confirm_results(race_id, **lg.kw(lg.host_id))
    assert league.get_race(race_id, uow=database.uow()).status == "ended"

    league.confirm_results(race_id, missing_acknowledged=True, **lg.kw(lg.host_id))

    assert {p.racer_id: p.share_cents for p in preview.places} == {r: _earned(lg, r) for r in lg.racer_ids}


def test_set_results_preview_is_the_real_split_and_refuses_an_unchosen_position(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    race_id = _ended_with_a_pot(lg, [a, b], gross_cents=1001)
    with pytest.raises(InvalidPosition, match="Choose a finishing position"):
        results_preview.preview_set_results(race_id, {a: "1", b: ""}, **lg.kw_no_now(lg.host_id))
    with pytest.raises(InvalidPosition, match="Choose a finishing position"):
        league.set_results(race_id, {a: "1", b: ""}, **lg.kw(lg.host_id))
    with pytest.raises(PermissionDenied):
        results_preview.preview_set_results(race_id, {a: "1", b: "2"}, **lg.kw_no_now(a))

    preview = results_preview.preview_set_results(race_id, {a: "2", b: "1"}, **lg.kw_no_now(lg.host_id))
    league.set_results(race_id, {a: "2", b: "1"}, **lg.kw(lg.host_id))

    assert {p.racer_id: p.share_cents for p in preview.places} == {a: _earned(lg, a), b: _earned(lg, b)}
    assert preview.pot_cents == _earned(lg, a) + _earned(lg, b) == 200


def test_a_whole_table_correction_is_one_audited_fix_with_one_ledger_correction_and_one_announcement(
    database,
):
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
    race_id = _ended_with_a_pot(lg, [a, b, c, d])
    league.confirm_results(race_id, missing_acknowledged=True, **lg.kw(lg.host_id))  # all 4 DNF
    table = {a: "1", b: "2", c: "3", d: "DNF"}
    with pytest.raises(PermissionDenied):
        results_admin.preview_table_fix(race_id, table, reason="nobody reported", **lg.kw_no_now(a))

    preview = results_admin.preview_table_fix(
        race_id, table, reason="nobody reported", **lg.kw_no_now(lg.admin_id)
    )
    with database.uow() as uow:
        assert uow.session.exec(select(ResultFix)).all() == []  # the preview changed nothing
    assert [(ch.new_words, ch.new_points) for ch in preview.changes] == [("P1", 15), ("P2", 12), ("P3", 10)]
    held_before = {r: _earned(lg, r) for r in lg.racer_ids}

    outcome = results_admin.apply_table_fix(race_id, table, reason="nobody reported", **lg.kw(lg.admin_id))

    assert outcome.changes == preview.changes and outcome.moved_cents == preview.moved_cents
    with database.uow() as uow:
        fix_reasons = [fix.reason for fix in uow.session.exec(select(ResultFix)).all()]
        corrections = list(
            uow.ledger.postings_of_transaction(uow.ledger.latest_result_correction_id(race_id))
        )
    assert fix_reasons == ["nobody reported"] * 3
    assert corrections and preview.moved_cents[a] > 0  # one correcting transaction: the winner's bonus
    held_after = {r: _earned(lg, r) for r in lg.racer_ids}
    assert outcome.moved_cents == {
        r: held_after[r] - held_before[r] for r in lg.racer_ids if held_after[r] != held_before[r]
    }
    announced = [
        row for row in outbox.list_outbox(uow=database.uow()) if row.kind == "race_results_corrected"
    ]
    assert len(announced) == 1
    assert reconcile(uow=database.uow()).clean

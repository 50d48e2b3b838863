"""The confirmation dialogs' previews: dry runs of the real services that change nothing and say true.

Each preview runs the service that acts inside a transaction that is rolled
back; these pin that it refuses who the service refuses, that nothing is
written, and that the real action then does what it showed. SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.services import (
    identity,
    ledger,
    money_admin,
    money_settings,
    overlays,
    payouts,
    seasons,
    wallet,
)
from cozykart.services.reads.reconcile import reconcile
from tests.integration.league_support import make_league


def _available(lg, racer_id) -> int:
    return wallet.wallet_summary(racer_id, uow=lg.database.uow(lg.settings)).available_cents


def _funded(lg, racer_id, cents=6000) -> None:
    ledger.adjust_wallet(
        lg.admin_id,
        racer_id,
        cents,
        reason="prize money",
        key=f"fund-{racer_id}",
        uow=lg.database.uow(lg.settings),
    )


def test_payout_previews_change_nothing_and_match_the_decision(database):
    lg = make_league(database, 1)
    (kai,) = lg.racer_ids
    _funded(lg, kai)
    payout_id = payouts.request_payout(kai, 2500, key="p1", uow=database.uow(lg.settings))
    uow = lambda: database.uow(lg.settings)  # noqa: E731

    with pytest.raises(PermissionDenied):
        money_admin.preview_payout_decision(kai, payout_id, pay=True, method="paypal", uow=uow())
    paid = money_admin.preview_payout_decision(
        lg.admin_id, payout_id, pay=True, method="paypal", reference="PP-1", uow=uow()
    )
    rejected = money_admin.preview_payout_decision(
        lg.admin_id, payout_id, pay=False, reason="not verified", uow=uow()
    )
    direct = money_admin.preview_direct_payout(
        lg.admin_id, kai, 500, method="gift_card", reference="", key="d1", uow=uow()
    )
    with pytest.raises(InvalidInput):
        money_admin.preview_payout_decision(lg.admin_id, payout_id, pay=False, reason=" ", uow=uow())

    assert (paid.amount_cents, paid.available_before_cents, paid.available_after_cents) == (2500, 3500, 3500)
    assert (rejected.available_before_cents, rejected.available_after_cents) == (3500, 6000)
    assert (direct.amount_cents, direct.available_after_cents) == (500, 3000)
    assert [row.payout_id for row in payouts.pending_payouts(uow=uow())] == [payout_id]  # nothing decided
    assert _available(lg, kai) == 3500
    payouts.reject_payout(lg.admin_id, payout_id, reason="not verified", uow=uow())
    assert _available(lg, kai) == rejected.available_after_cents
    assert reconcile(uow=uow()).clean


def test_setting_role_season_and_overlay_previews_change_nothing(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    uow = lambda: database.uow(lg.settings)  # noqa: E731

    receipt = money_settings.preview_money_setting_change(
        actor_id=lg.admin_id, name="commission_rate_bps", value="25", reason="bigger pots", uow=uow()
    )
    assert "to 25.00% (2500 bps)" in receipt.message
    assert money_settings.money_settings_view(actor_id=lg.admin_id, uow=uow()).history == ()
    with pytest.raises(PermissionDenied):
        money_settings.preview_money_setting_change(
            actor_id=a, name="commission_rate_bps", value="25", reason="mine", uow=uow()
        )

    row, changes = identity.preview_set_role(lg.admin_id, a, "dj", granted=True, uow=uow())
    assert changes and row.is_dj
    assert not identity.roles_overview(lg.admin_id, uow=uow()).history
    _, changes = identity.preview_set_role(lg.admin_id, a, "dj", granted=False, uow=uow())
    assert not changes
    with pytest.raises(PermissionDenied):
        identity.preview_set_role(a, b, "host", granted=True, uow=uow())

    final = lg.final_race([a, b])
    season_id = final.season_id
    view = seasons.preview_close_season(season_id, actor_id=lg.admin_id, uow=uow())
    assert view.champion is not None and view.champion.racer_id == a
    assert seasons.get_season(season_id, uow=uow()).status == "active"

    assert overlays.preview_regenerate_overlay_key(actor_id=lg.admin_id, uow=uow()) is False
    overlays.regenerate_overlay_key(actor_id=lg.admin_id, uow=uow())
    assert overlays.preview_regenerate_overlay_key(actor_id=lg.admin_id, uow=uow()) is True
    with pytest.raises(PermissionDenied):
        overlays.preview_regenerate_overlay_key(actor_id=a, uow=uow())

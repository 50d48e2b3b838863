"""What the unit of work carries for one transaction: its settings and its repositories.

`uow.settings` is the settings it was made with plus the money settings admins
changed, read once per transaction: a change committed meanwhile applies from
the next transaction, never half-way through one. Repositories are made per
transaction and forget what they remembered when a savepoint rolls back.
"""

from __future__ import annotations

import dataclasses

import pytest

from cozykart.db.money_settings_tables import MoneySettingChange
from cozykart.db.tables import Racer
from cozykart.settings import load_settings

BASE_COMMISSION_BPS = 1500
CHANGED_COMMISSION_BPS = 2500
AGAIN_COMMISSION_BPS = 3000


def _base():
    return dataclasses.replace(load_settings({}), commission_rate_bps=BASE_COMMISSION_BPS)


def _change_commission(uow, sequence: int, old: int, new: int) -> None:
    """An admin's change, written in `uow`'s open transaction (flushed, not committed)."""
    admin = Racer(discord_id=f"admin-{sequence}", username="admin", display_name="Admin")
    uow.session.add(admin)
    uow.session.flush()
    uow.session.add(
        MoneySettingChange(
            name="commission_rate_bps",
            sequence=sequence,
            old_value=old,
            new_value=new,
            reason="a test of the effective read",
            actor_racer_id=admin.id,
        )
    )
    uow.session.flush()


def _admin_changes_commission(database, sequence: int, old: int, new: int) -> None:
    uow = database.uow()
    with uow:
        _change_commission(uow, sequence, old, new)
        uow.commit()


def test_settings_are_the_base_until_an_admin_changes_one(database):
    uow = database.uow(_base())
    assert uow.base_settings.commission_rate_bps == BASE_COMMISSION_BPS
    with uow:
        assert uow.settings.commission_rate_bps == BASE_COMMISSION_BPS


def test_an_admin_change_applies_from_the_next_transaction_not_half_way_through_one(database):
    uow = database.uow(_base())
    _admin_changes_commission(database, 1, BASE_COMMISSION_BPS, CHANGED_COMMISSION_BPS)
    with uow:
        assert uow.settings.commission_rate_bps == CHANGED_COMMISSION_BPS
    _admin_changes_commission(database, 2, CHANGED_COMMISSION_BPS, AGAIN_COMMISSION_BPS)
    with uow:
        assert uow.settings.commission_rate_bps == AGAIN_COMMISSION_BPS
    assert uow.base_settings.commission_rate_bps == BASE_COMMISSION_BPS, "the environment's value is kept"


def test_the_settings_are_read_once_per_transaction_until_it_says_they_changed(database):
    uow = database.uow(_base())
    with uow:
        assert uow.settings.commission_rate_bps == BASE_COMMISSION_BPS
        _change_commission(uow, 1, BASE_COMMISSION_BPS, CHANGED_COMMISSION_BPS)
        assert uow.settings.commission_rate_bps == BASE_COMMISSION_BPS, "read once per transaction"
        uow.settings_changed()
        assert uow.settings.commission_rate_bps == CHANGED_COMMISSION_BPS


def test_the_effective_settings_are_only_read_inside_a_transaction(database):
    uow = database.uow(_base())
    with pytest.raises(AssertionError, match="inside `with uow:`"):
        _ = uow.settings


def test_repositories_live_for_one_transaction_and_forget_on_a_rolled_back_savepoint(database):
    uow = database.uow()
    forgotten = []
    with uow:
        league = uow.league
        assert uow.league is league, "one repository per transaction"
        league.forget = lambda: forgotten.append("league")  # type: ignore[method-assign]
        with pytest.raises(RuntimeError), uow.savepoint():
            raise RuntimeError("undone")
        assert forgotten == ["league"]
    with uow:
        assert uow.league is not league, "a new transaction, a new repository"

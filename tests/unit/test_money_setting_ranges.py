"""A stored money setting is asserted in its one range, the one the environment and the console use."""

from __future__ import annotations

import pytest

from cozykart.db.repositories.money_settings import _checked
from cozykart.services.money_settings import SPECS
from cozykart.settings import MONEY_SETTING_RANGES, SettingsError, load_settings


def test_the_console_offers_every_money_setting_in_its_range():
    assert {spec.name: (spec.low, spec.high) for spec in SPECS} == MONEY_SETTING_RANGES


@pytest.mark.parametrize(("name", "value"), [("hold_days", 366), ("payout_min_cents", 0), ("house_cut", 5)])
def test_a_stored_value_out_of_range_or_unknown_is_refused(name, value):
    with pytest.raises(AssertionError):
        _checked(name, value)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_the_environment_takes_the_same_range(spec):
    assert getattr(load_settings({spec.env_name: str(spec.high)}), spec.name) == spec.high
    with pytest.raises(SettingsError):
        load_settings({spec.env_name: str(spec.high + 1)})
    with pytest.raises(SettingsError):
        load_settings({spec.env_name: str(spec.low - 1)})

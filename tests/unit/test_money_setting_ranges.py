"""The range a stored money setting is asserted in is the one the console lets an admin choose."""

from __future__ import annotations

import pytest

from cozykart.db.repositories.money_settings import STORED_RANGES, _checked
from cozykart.services.money_settings import SPECS


def test_the_stored_ranges_are_the_consoles():
    assert {spec.name: (spec.low, spec.high) for spec in SPECS} == STORED_RANGES


@pytest.mark.parametrize(("name", "value"), [("hold_days", 366), ("payout_min_cents", 0), ("house_cut", 5)])
def test_a_stored_value_out_of_range_or_unknown_is_refused(name, value):
    with pytest.raises(AssertionError):
        _checked(name, value)

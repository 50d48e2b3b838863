"""The one instant formatter: UTC, named so, blank for none; the one idempotency key check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cozykart.domain.errors import InvalidInput
from cozykart.domain.instants import (
    INSTANT_MINUTES,
    INSTANT_NUMERIC,
    INSTANT_SECONDS,
    INSTANT_WITH_YEAR,
    format_instant,
)
from cozykart.domain.payments import KEY_LENGTH_MAX, require_key

INSTANT = datetime(2026, 11, 21, 22, 15, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (INSTANT_MINUTES, "Nov 21 22:15 UTC"),
        (INSTANT_SECONDS, "Nov 21 22:15:07 UTC"),
        (INSTANT_WITH_YEAR, "Nov 21, 2026 22:15 UTC"),
        (INSTANT_NUMERIC, "2026-11-21 22:15 UTC"),
    ],
)
def test_an_instant_reads_in_utc_in_each_pattern(pattern, text):
    assert format_instant(INSTANT, pattern) == text
    assert format_instant(INSTANT.astimezone(timezone(timedelta(hours=-5))), pattern) == text
    assert format_instant(INSTANT.replace(tzinfo=None), pattern) == text  # naive: taken as UTC


def test_no_instant_reads_blank():
    assert format_instant(None) == ""


def test_an_idempotency_key_is_trimmed_and_bounded():
    assert require_key("  pay-1 ") == "pay-1"
    assert require_key("k" * KEY_LENGTH_MAX) == "k" * KEY_LENGTH_MAX
    for bad in ("", "   ", "k" * (KEY_LENGTH_MAX + 1), None, 12):
        with pytest.raises(InvalidInput, match="idempotency key"):
            require_key(bad)


def test_iso_instant_is_utc_to_the_second_for_a_browser_and_blank_for_none():
    from datetime import UTC, datetime, timedelta, timezone

    from cozykart.domain.instants import iso_instant

    instant = datetime(2026, 11, 21, 22, 15, 7, 999999, tzinfo=UTC)
    assert iso_instant(instant) == "2026-11-21T22:15:07Z"
    assert iso_instant(instant.astimezone(timezone(timedelta(hours=9)))) == "2026-11-21T22:15:07Z"
    assert iso_instant(instant.replace(tzinfo=None)) == "2026-11-21T22:15:07Z"
    assert iso_instant(None) == ""

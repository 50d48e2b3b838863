"""The admin console's shared pieces: the instant a page shows, and the status filter's buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from cozykart.ui.admin_layout import StatusFilter, admin_time, status_filters


def test_admin_time_is_the_utc_instant_a_browser_shows_in_its_zone_and_is_blank_for_none():
    instant = datetime(2026, 11, 21, 22, 15, 7, 123456, tzinfo=UTC)
    assert admin_time(instant) == "2026-11-21T22:15:07Z"
    assert admin_time(instant.astimezone(timezone(timedelta(hours=-5)))) == "2026-11-21T22:15:07Z"
    assert admin_time(instant.replace(tzinfo=None)) == "2026-11-21T22:15:07Z"  # naive: taken as UTC
    assert admin_time(None) == ""


def test_status_filters_count_all_then_each_status_in_order_with_missing_ones_at_zero():
    filters = status_filters({"sent": 5, "failed": 2}, ("pending", "sent", "failed"))
    assert filters == [
        StatusFilter("", "All (7)"),
        StatusFilter("pending", "pending (0)"),
        StatusFilter("sent", "sent (5)"),
        StatusFilter("failed", "failed (2)"),
    ]

"""Instants as people read them: the one formatter, beside `money.format_cents`.

Every instant is stored in UTC (`db/types.UtcDateTime`); a naive instant is
taken to be UTC already. The pages show an instant in the viewer's own time zone:
they get `iso_instant` (UTC, to the second) and the browser formats it
(`ui/local_time.py`). The patterns are the few ways text outside a page (the
CLI, CSV, Discord) shows a moment, in UTC, named so.
"""

from __future__ import annotations

from datetime import UTC, datetime

INSTANT_MINUTES = "%b %d %H:%M UTC"  # "Nov 21 22:15 UTC": the admin console's lists
INSTANT_SECONDS = "%b %d %H:%M:%S UTC"  # "Nov 21 22:15:07 UTC": when a check or an attempt ran
INSTANT_WITH_YEAR = "%b %d, %Y %H:%M UTC"  # "Nov 21, 2026 22:15 UTC": a racer's payouts
INSTANT_NUMERIC = "%Y-%m-%d %H:%M UTC"  # "2026-11-21 22:15 UTC": audits and race history


def format_instant(instant: datetime | None, pattern: str = INSTANT_MINUTES) -> str:
    """The one way an instant becomes text, in UTC; "" for none."""
    if instant is None:
        return ""
    instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime(pattern)


def iso_instant(instant: datetime | None) -> str:
    """The instant in UTC as ISO 8601 to the second ("2026-11-21T22:15:07Z"), for a browser to show; "" for none."""
    if instant is None:
        return ""
    instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

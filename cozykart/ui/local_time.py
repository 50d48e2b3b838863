"""Instants in the viewer's own time zone, formatted in the browser.

A page's state holds an instant as `instants.iso_instant` text (UTC, "Z"); the
browser formats it in its own zone with moment (`rx.moment`, react-moment:
rendered on the client only) and the element's title carries the UTC instant
("2026-11-21 22:15:07 UTC"), shown on hover. `ago` lines ("2 minutes ago")
refresh themselves every `AGO_REFRESH_MS`.
"""

from __future__ import annotations

import reflex as rx

# moment's format tokens: "Nov 21, 22:15", "Nov 21, 2026 22:15", "Nov 21 22:15:07".
LOCAL_MINUTES = "MMM D, HH:mm"
LOCAL_WITH_YEAR = "MMM D, YYYY HH:mm"
LOCAL_SECONDS = "MMM D, HH:mm:ss"
AGO_REFRESH_MS = 30_000
ISO_DATE_LENGTH = 10  # "2026-11-21"
ISO_SECONDS_LENGTH = 19  # "2026-11-21T22:15:07"


def utc_title(iso: rx.Var) -> rx.Var:
    """ "2026-11-21T22:15:07Z" as "2026-11-21 22:15:07 UTC" (sliced in the browser)."""
    text = iso.to(str)
    return text[0:ISO_DATE_LENGTH] + " " + text[ISO_DATE_LENGTH + 1 : ISO_SECONDS_LENGTH] + " UTC"


def local_time(
    iso: rx.Var | str,
    *,
    pattern: str = LOCAL_MINUTES,
    ago: bool = False,
    empty: str = "",
    testid: str = "local-time",
) -> rx.Component:
    """An instant in the viewer's zone (or "… ago" when `ago`), its UTC instant as the title; `empty` for ""."""
    text = rx.Var.create(iso).to(str)
    shown = (
        rx.moment(text, from_now=True, interval=AGO_REFRESH_MS, element="span")
        if ago
        else rx.moment(text, format=pattern, element="span")
    )
    return rx.cond(
        text != "",
        rx.el.time(shown, date_time=text, title=utc_title(text), data_testid=testid),
        rx.text(empty, as_="span"),
    )

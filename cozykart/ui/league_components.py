"""The league pages' shared view pieces: racer links, avatars, numbers and tables.

`/standings` and `/racers/[id]` show the same things (a racer's link and small
avatar, an average finish, a table that scrolls sideways on a phone); they are
made here once so the two pages cannot drift apart.
"""

from __future__ import annotations

import reflex as rx

from cozykart.ui import routes

TINY_AVATAR = "24px"
MEMBER_AVATAR = "28px"
AVERAGE_MISSING = "—"


def racer_href(racer_id: int) -> str:
    return routes.racer_path(racer_id)


def format_average(average: float | None) -> str:
    """An average finish for people: two decimals, or a dash without a finished race."""
    return f"{average:.2f}" if average is not None else AVERAGE_MISSING


def avatar(url: rx.Var[str], name: rx.Var[str], size: str) -> rx.Component:
    """A racer's round avatar; its alt text is their name."""
    return rx.image(src=url, alt=name, width=size, height=size, border_radius="50%", flex_shrink="0")


def tiny_avatar(url: rx.Var[str], name: rx.Var[str]) -> rx.Component:
    return avatar(url, name, TINY_AVATAR)


def header_cell(label: str, *, numeric: bool = False) -> rx.Component:
    return rx.table.column_header_cell(label, text_align="right" if numeric else "left", white_space="nowrap")


def number_cell(value, **props) -> rx.Component:
    return rx.table.cell(value, text_align="right", **props)


def scrolling_table(*header_cells: rx.Component, body: rx.Component, testid: str) -> rx.Component:
    """A table that, on a phone, scrolls sideways inside its panel (never the page)."""
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*header_cells)),
            rx.table.body(body),
            width="100%",
            size="1",
            data_testid=testid,
        ),
        overflow_x="auto",
        width="100%",
        max_width="100%",
    )

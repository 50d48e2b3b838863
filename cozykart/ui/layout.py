"""The shared layout: header with navigation, then the page's content."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from cozykart.ui import routes, theme
from cozykart.ui.account_menu import account_menu

NAV_LINKS: tuple[tuple[str, str], ...] = (
    ("Watch", routes.WATCH),
    ("Lobby", routes.LOBBY),
    ("Standings", routes.STANDINGS),
    ("Wallet", routes.WALLET),
    ("Tip the DJ", routes.TIP),
)


def _brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("flag", size=26, color=theme.GOLD, aria_hidden="true"),
            rx.heading("Cozy-Kart", size="6", weight="bold", color=theme.GOLD),
            align="center",
            spacing="2",
        ),
        href=routes.WATCH,
        underline="none",
    )


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            _brand(),
            rx.spacer(),
            rx.el.nav(
                rx.hstack(
                    *[
                        rx.link(label, href=href, color="#f4f2ff", weight="medium")
                        for label, href in NAV_LINKS
                    ],
                    spacing="4",
                ),
                aria_label="Main",
            ),
            account_menu(),
            align="center",
            wrap="wrap",
            width="100%",
            max_width=theme.PAGE_MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            padding_y="0.75rem",
        ),
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        background="rgba(15, 13, 26, 0.85)",
        position="sticky",
        top="0",
        z_index="10",
    )


def page(content: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """Wrap a page function in the shared layout."""

    def wrapped() -> rx.Component:
        return rx.box(
            header(),
            rx.el.main(
                content(),
                max_width=theme.PAGE_MAX_WIDTH,
                margin_x="auto",
                padding="1rem",
            ),
            style=theme.base_style,
        )

    wrapped.__name__ = content.__name__
    return wrapped

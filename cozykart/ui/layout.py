"""The shared layout (header with navigation, then the page's content) and how a page declares itself.

A page module declares its route, title and on_load beside its state, like the
Reflex templates' `@template(route=..., title=..., on_load=...)`:

    @page(route=routes.LOBBY, title="Lobby", on_load=LobbyState.load)
    def lobby_page() -> rx.Component: ...

`page` wraps the function in the layout (not with `layout=False`: the OBS
overlays) and records it; `cozykart.py` adds every `declared_pages()` to the
app. Importing `cozykart.ui.pages` imports every page module, so declares them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

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
            rx.text(
                "Cozy-Kart",
                as_="span",
                size=rx.breakpoints(initial="5", sm="6"),
                weight="bold",
                color=theme.GOLD,
            ),
            align="center",
            spacing="2",
        ),
        href=routes.WATCH,
        underline="none",
    )


def _nav_link(label: str, href: str) -> rx.Component:
    """A main link; the current page's is gold, bold and underlined, and says so (aria-current)."""
    # The router's page path is the matched route ("/index" for "/"), without the
    # trailing slash the production server adds to the browser's URL.
    current = rx.State.router.page.path == ("/index" if href == "/" else href)
    return rx.link(
        label,
        href=href,
        color=rx.cond(current, theme.GOLD, theme.TEXT),
        weight=rx.cond(current, "bold", "medium"),
        underline=rx.cond(current, "always", "auto"),
        aria_current=rx.cond(current, "page", "false"),
        white_space="nowrap",
        size=rx.breakpoints(initial="2", sm="3"),
    )


def _nav() -> rx.Component:
    """The main links: one row; on a phone a full-width row of its own that scrolls sideways if it must."""
    return rx.el.nav(
        rx.hstack(
            *[_nav_link(label, href) for label, href in NAV_LINKS],
            spacing=rx.breakpoints(initial="3", sm="4"),
            wrap="nowrap",
        ),
        aria_label="Main",
        overflow_x="auto",
        max_width="100%",
        order=rx.breakpoints(initial="3", md="2"),
        width=rx.breakpoints(initial="100%", md="auto"),
        margin_left=rx.breakpoints(initial="0", md="auto"),
        padding_bottom=rx.breakpoints(initial="0.25rem", md="0"),
    )


def header() -> rx.Component:
    # Desktop: brand, links, account in one row, sticky. Phone: brand and account, then the
    # links below; not sticky, so the header does not eat a third of a small screen.
    return rx.el.header(
        rx.flex(
            rx.box(_brand(), order="1"),
            _nav(),
            rx.box(account_menu(), order=rx.breakpoints(initial="2", md="3"), margin_left="auto"),
            align="center",
            wrap="wrap",
            gap=rx.breakpoints(initial="0.5rem 0.75rem", md="1.5rem"),
            width="100%",
            max_width=theme.PAGE_MAX_WIDTH,
            margin_x="auto",
            padding_x="1rem",
            padding_y="0.75rem",
        ),
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        background="rgba(15, 13, 26, 0.92)",
        position=rx.breakpoints(initial="static", md="sticky"),
        top="0",
        z_index="10",
    )


TITLE_PREFIX = "Cozy-Kart · "


@dataclasses.dataclass(frozen=True)
class DeclaredPage:
    """One page as its module declared it: what `rx.App.add_page` takes."""

    component: Callable[[], rx.Component]
    route: str  # one of ui/routes.py
    title: str  # the browser tab's, prefix included
    on_load: Any  # an event handler, a list of them, or None
    declared_by: str  # module.function, so a second page on one route is caught


_DECLARED: dict[str, DeclaredPage] = {}  # route -> page, in the order the modules declared them


def declared_pages() -> tuple[DeclaredPage, ...]:
    """Every page declared so far (import `cozykart.ui.pages` first to have them all)."""
    return tuple(_DECLARED.values())


def page(*, route: str, title: str, on_load: Any = None, layout: bool = True):
    """Declare a page function: its route, its title (after "Cozy-Kart · ") and its on_load."""

    def declare(content: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
        declared_by = f"{content.__module__}.{content.__qualname__}"
        earlier = _DECLARED.get(route)
        assert earlier is None or earlier.declared_by == declared_by, f"{route} declared twice: {earlier}"
        component = _in_layout(content) if layout else content
        _DECLARED[route] = DeclaredPage(component, route, TITLE_PREFIX + title, on_load, declared_by)
        return component

    return declare


def _in_layout(content: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """Wrap a page function in the shared layout."""

    def wrapped() -> rx.Component:
        return rx.box(
            header(),
            rx.el.main(content(), max_width=theme.PAGE_MAX_WIDTH, margin_x="auto", padding="1rem"),
            style=theme.base_style,
        )

    wrapped.__name__ = content.__name__
    return wrapped

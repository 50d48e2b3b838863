"""The header's account corner: log in when logged out; avatar, name and log out when in.

Login and logout are links followed with a full page load, not client-side
navigation: they must reach the server, and the next page's socket must carry
the new cookie.
"""

from __future__ import annotations

import reflex as rx

from cozykart.ui import routes, theme
from cozykart.ui.auth_state import AuthState

_BUTTON_STYLE = {
    "padding": rx.breakpoints(initial="0.35rem 0.75rem", sm="0.4rem 0.9rem"),
    "font_size": rx.breakpoints(initial="0.875rem", sm="1rem"),
    "border_radius": "999px",
    "font_weight": "600",
    "text_decoration": "none",
    "white_space": "nowrap",
}


def _full_load_link(label: str, href: rx.Var[str], **props) -> rx.Component:
    """A link the browser follows with a full page load (not client-side routing)."""
    return rx.link(label, href=href, reload_document=True, underline="none", **props)


def _bell() -> rx.Component:
    """The racer's private notices: a bell with the unread count, leading to /notices (which clears it)."""
    unread = AuthState.unread_notices
    return rx.link(
        rx.box(
            rx.icon("bell", size=22, color=rx.cond(unread > 0, theme.GOLD, theme.TEXT), aria_hidden="true"),
            rx.cond(
                unread > 0,
                rx.box(
                    unread,
                    position="absolute",
                    top="2px",
                    right="0px",
                    min_width="18px",
                    height="18px",
                    padding_x="4px",
                    border_radius="999px",
                    background=theme.LIVE_RED,
                    color=theme.WHITE,
                    font_size="11px",
                    font_weight="700",
                    line_height="18px",
                    text_align="center",
                    data_testid="notice-count",
                ),
            ),
            position="relative",
            display="flex",
            align_items="center",
            justify_content="center",
            width="44px",
            height="44px",
        ),
        href=routes.NOTICES,
        underline="none",
        aria_label=rx.cond(unread > 0, "Notices: " + unread.to_string() + " unread", "Notices"),
        title="Your notices",
        data_testid="notice-bell",
    )


def _logged_in() -> rx.Component:
    return rx.hstack(
        _bell(),
        rx.link(
            rx.hstack(
                rx.image(
                    src=AuthState.avatar_url,
                    alt=AuthState.display_name,
                    width="32px",
                    height="32px",
                    border_radius="50%",
                    border=f"2px solid {theme.GOLD}",
                    data_testid="account-avatar",
                ),
                rx.text(AuthState.display_name, weight="bold", color=theme.TEXT, data_testid="account-name"),
                align="center",
                spacing="2",
            ),
            href=routes.PROFILE,
            underline="none",
            title="Your profile",
        ),
        rx.cond(
            AuthState.is_admin,
            # The admin console's own navigation leads on from its first page (roles included).
            rx.link(
                "Admin",
                href=routes.ADMIN_PAYOUTS,
                color=theme.TEXT,
                weight="medium",
                data_testid="admin-link",
            ),
        ),
        _full_load_link(
            "Log out",
            AuthState.logout_href,
            style=_BUTTON_STYLE | {"border": f"1px solid {theme.PANEL_BORDER}", "color": theme.TEXT},
            data_testid="logout-button",
        ),
        align="center",
        spacing="3",
    )


def _logged_out() -> rx.Component:
    return rx.hstack(
        _full_load_link(
            "Log in with Discord",
            href=AuthState.login_href,
            style=_BUTTON_STYLE | {"background": theme.DISCORD_BLUE, "color": "white"},
            data_testid="login-button",
        ),
        rx.cond(
            AuthState.dev_login_enabled,
            _full_load_link(
                "Developer login",
                href=AuthState.dev_login_href,
                title="Local development only: log in as a demo racer",
                style=_BUTTON_STYLE | {"border": f"1px dashed {theme.LIVE_RED}", "color": theme.LIVE_RED},
                data_testid="dev-login-link",
            ),
        ),
        align="center",
        spacing="2",
    )


def account_menu() -> rx.Component:
    return rx.box(
        rx.cond(AuthState.logged_in, _logged_in(), _logged_out()),
        on_mount=AuthState.refresh,
        data_testid="account-menu",
    )

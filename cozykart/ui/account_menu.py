"""The header's account corner: log in when logged out; avatar, name and log out when in.

Login and logout are plain links and a plain form, not client-side navigation:
they must reach the server and end in a full page load.
"""

from __future__ import annotations

import reflex as rx

from cozykart.ui import theme
from cozykart.ui.auth_state import ADMIN_ROLES_ROUTE, LOGOUT_PATH, PROFILE_ROUTE, AuthState

_BUTTON_STYLE = {
    "padding": "0.4rem 0.9rem",
    "border_radius": "999px",
    "font_weight": "600",
    "text_decoration": "none",
    "white_space": "nowrap",
}

# A native POST form (Reflex's form component would cancel the submit).
_LOGOUT_FORM = (
    f'<form method="post" action="{LOGOUT_PATH}" style="margin:0">'
    '<button type="submit" data-testid="logout-button" style="font:inherit;cursor:pointer;'
    "padding:0.35rem 0.8rem;border-radius:999px;border:1px solid #2e2a4a;"
    'background:transparent;color:#f4f2ff">Log out</button></form>'
)


def _logged_in() -> rx.Component:
    return rx.hstack(
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
                rx.text(AuthState.display_name, weight="bold", color="#f4f2ff", data_testid="account-name"),
                align="center",
                spacing="2",
            ),
            href=PROFILE_ROUTE,
            underline="none",
            title="Your profile",
        ),
        rx.cond(
            AuthState.is_admin,
            rx.link("Roles", href=ADMIN_ROLES_ROUTE, color="#f4f2ff", weight="medium"),
        ),
        rx.html(_LOGOUT_FORM),
        align="center",
        spacing="3",
    )


def _logged_out() -> rx.Component:
    return rx.hstack(
        rx.el.a(
            "Log in with Discord",
            href=AuthState.login_href,
            style=_BUTTON_STYLE | {"background": theme.DISCORD_BLUE, "color": "white"},
            data_testid="login-button",
        ),
        rx.cond(
            AuthState.dev_login_enabled,
            rx.el.a(
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

"""Who is logged in, read on the backend from the session cookie.

The session cookie is HttpOnly: browser JavaScript never sees it. The socket's
handshake carries it, and `ui/socket_guard.py` lifts it out of the headers
before Reflex copies them into the tab's state (which its state managers keep
at rest, on disk or in Redis): the session id stays in the connection's scope,
in this worker's memory, and is read from there (by the tab's Socket.IO sid) on
every use. Only what the page shows (name, avatar, roles) is ever in a var.

Two helpers for pages:
- `AuthState.require_login` as (part of) a page's `on_load`: a visitor without
  a live session goes to Discord login and comes back to the same page.
- `acting_racer_id(state)` (through `ui/service_call.call_service`) in every
  event handler that acts: the racer is re-derived from the backend session each time, never from an id the client
  sent, and a service then checks the role. Hiding a button is not a check.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote, urlsplit

import reflex as rx

from cozykart.domain.identity import NotLoggedIn, safe_next_path
from cozykart.services import default_uow, identity, notices
from cozykart.services.identity import Viewer
from cozykart.settings import load_settings
from cozykart.ui import routes, socket_guard


def _session_token(state: rx.State) -> str | None:
    return socket_guard.session_token_for(state.router.session.session_id)


async def current_viewer(state: rx.State) -> Viewer | None:
    """The racer behind this socket's session cookie, with their roles now (None if none)."""
    token = _session_token(state)
    if token is None:
        return None
    settings = load_settings()
    return await asyncio.to_thread(lambda: identity.viewer_for_session(token, uow=default_uow(settings)))


async def acting_racer_id(state: rx.State) -> int:
    """For an event handler about to act: the logged-in racer's id, or NotLoggedIn."""
    viewer = await current_viewer(state)
    if viewer is None:
        raise NotLoggedIn("Please log in first (your session may have ended).")
    return viewer.racer_id


def _current_path(state: rx.State) -> str:
    url = urlsplit(str(state.router.url))
    return safe_next_path(url.path + (f"?{url.query}" if url.query else ""))


def _auth_links(state: rx.State) -> tuple[str, str, str]:
    """(server base, way back to this page, way back home) for links to the /auth routes.

    On one port (production) all three are relative. When the pages and the
    server are two ports of one host (Reflex's dev mode), the /auth routes live
    on the server's port, which is the host this socket connected to, and the
    way back is an absolute URL to the pages' port.
    """
    headers = state.router.headers
    page = urlsplit(headers.origin or "")
    server_host = headers.raw_headers.get("x-forwarded-host") or headers.host
    path = _current_path(state)
    if page.scheme in {"http", "https"} and page.netloc and server_host and page.netloc != server_host:
        page_base = f"{page.scheme}://{page.netloc}"
        return f"{page.scheme}://{server_host}", page_base + path, page_base + "/"
    return "", path, "/"


def full_page_load(path: str) -> rx.event.EventSpec:
    """Navigate with a real page load (so the server sees the browser's cookies)."""
    return rx.call_script(f"window.location.assign({json.dumps(path)})")


class AuthState(rx.State):
    """What the header and pages show about the logged-in racer. Never a secret."""

    logged_in: bool = False
    display_name: str = ""
    avatar_url: str = ""
    is_admin: bool = False
    is_host: bool = False
    is_dj: bool = False
    unread_notices: int = 0  # the bell's number: the racer's private notices not seen yet
    dev_login_enabled: bool = False
    login_href: str = routes.Auth.LOGIN
    dev_login_href: str = routes.Auth.DEV_LOGIN_PAGE
    logout_href: str = routes.Auth.LOGOUT
    # Whose private data this tab's vars may hold: set only when the tab hydrates
    # (ui/event_guard.ViewerChangeGuard), which resets them first when it changed.
    _viewer_racer_id: int | None = None

    # Underscored: a public method of a state would be an event handler any client can call.
    def _vars_viewer(self) -> int | None:
        return self._viewer_racer_id

    def _remember_vars_viewer(self, racer_id: int | None) -> None:
        self._viewer_racer_id = racer_id

    def _show_viewer(self, viewer: Viewer | None) -> None:
        server_base, back_here, back_home = _auth_links(self)
        next_query = f"?next={quote(back_here, safe='/:')}"
        self.logged_in = viewer is not None
        self.display_name = viewer.display_name if viewer else ""
        self.avatar_url = viewer.avatar_url if viewer else ""
        self.is_admin = bool(viewer and viewer.is_admin)
        self.is_host = bool(viewer and viewer.is_host)
        self.is_dj = bool(viewer and viewer.is_dj)
        self.dev_login_enabled = load_settings().dev_login
        self.login_href = server_base + routes.Auth.LOGIN + next_query
        self.dev_login_href = server_base + routes.Auth.DEV_LOGIN_PAGE + next_query
        self.logout_href = (
            server_base + routes.Auth.LOGOUT + (f"?next={quote(back_home, safe='/:')}" if server_base else "")
        )

    async def _load_viewer(self) -> Viewer | None:
        viewer = await current_viewer(self)
        self._show_viewer(viewer)
        self.unread_notices = (
            await asyncio.to_thread(notices.unread_count, viewer.racer_id, uow=default_uow())
            if viewer is not None
            else 0
        )
        return viewer

    def _to_login(self) -> rx.event.EventSpec:
        return full_page_load(self.login_href)

    @rx.event
    async def refresh(self):
        """Re-read the session (the header calls this when it mounts)."""
        await self._load_viewer()

    @rx.event
    async def require_login(self):
        """`on_load` of a page for logged-in racers: without a session, go log in and come back."""
        if await self._load_viewer() is None:
            return self._to_login()
        return None

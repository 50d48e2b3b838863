"""The door of Reflex's event socket: which pages may open it, and where its session lives.

Every page talks to the backend over one websocket (`/_event`). Two things are
decided here, at the handshake, before Reflex sees it:

1. **Origin.** A browser sends the page's `Origin` with every websocket
   handshake and lets no script change it. A handshake from another origin (a
   page on another port or subdomain of the same site) would drive a logged-in
   admin's session with their cookie, so it is refused (HTTP 403) unless the
   origin is the socket's own (the `Host` it was sent to), the deployment's
   (Reflex's `deploy_url`, the pages' address in dev mode), or one listed in
   `COZYKART_ALLOWED_ORIGINS`. In dev mode any loopback origin is accepted too
   (the demo's pages and backend are two ports of localhost). A client that
   sends no `Origin` is not a browser and cannot carry a victim's cookie
   across sites; it is let through and has only its own cookies.
2. **Session.** Reflex copies the handshake's headers into every tab's state,
   and its state managers keep that state at rest (pickled to disk, or in
   Redis). So the `Cookie` header is taken out of the handshake here: the
   session id is kept in the connection's ASGI scope (`SESSION_SCOPE_KEY`, in
   this worker's memory for the socket's lifetime, never in a state), and
   `session_token_for(sid)` is how a handler reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cozykart.services.identity import session_token_from_cookie_header
from cozykart.ui.broadcast import event_namespace

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_SCOPE_KEY = "cozykart.session_token"
EVENT_SOCKET_PATH = "/_event"
# Closing a websocket before accepting it makes the server answer the handshake 403.
POLICY_VIOLATION_CLOSE_CODE = 1008
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_app: Any = None  # the Reflex app, set by attach(); its Socket.IO server exists once it is built


def _origin(url: str) -> tuple[str, int | None] | None:
    """(host, port) of an origin or URL, default ports made explicit; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port


def allowed_origins(deploy_url: str | None, extra: Iterable[str]) -> frozenset[tuple[str, int | None]]:
    """The configured origins a page may open the socket from (besides the socket's own)."""
    found = (_origin(url) for url in [deploy_url or "", *extra])
    return frozenset(origin for origin in found if origin is not None)


def origin_is_allowed(
    origin: str, host_header: str, *, scheme: str, allowed: frozenset[tuple[str, int | None]], dev_mode: bool
) -> bool:
    page = _origin(origin)
    if page is None:
        return False
    own = _origin(f"{scheme}://{host_header}")
    if own is not None and page[0] == own[0] and (page[1] == own[1] or _same_site_behind_proxy(origin, own)):
        return True
    if page in allowed:
        return True
    return dev_mode and page[0] in LOOPBACK_HOSTS


def _same_site_behind_proxy(origin: str, own: tuple[str, int | None]) -> bool:
    """A TLS proxy in front: the page is https on 443 while the socket arrived as plain ws on 80."""
    return urlsplit(origin).scheme == "https" and own[1] == DEFAULT_PORTS["ws"]


def guard_event_socket(
    app: ASGIApp, *, allowed: frozenset[tuple[str, int | None]], dev_mode: bool
) -> ASGIApp:
    """Wrap the backend's ASGI app: refuse foreign origins, lift the cookie out of the socket's headers."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket" or not str(scope.get("path", "")).startswith(EVENT_SOCKET_PATH):
            await app(scope, receive, send)
            return
        headers = [(name.lower(), value) for name, value in scope.get("headers", [])]
        origin = _header(headers, b"origin")
        if origin is not None and not origin_is_allowed(
            origin,
            _header(headers, b"host") or "",
            scheme="https" if scope.get("scheme") == "wss" else "http",
            allowed=allowed,
            dev_mode=dev_mode,
        ):
            logger.warning("refused an event socket from a foreign origin: %.200r", origin)
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": POLICY_VIOLATION_CLOSE_CODE})
            return
        cookies = "; ".join(value.decode("latin-1") for name, value in headers if name == b"cookie")
        scope = dict(scope, headers=[(name, value) for name, value in headers if name != b"cookie"])
        scope[SESSION_SCOPE_KEY] = session_token_from_cookie_header(cookies)
        await app(scope, receive, send)

    return guarded


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def attach(app: Any) -> None:
    """Remember the Reflex app, to find a connection's handshake by its Socket.IO sid."""
    global _app
    _app = app


def session_token_for(sid: str | None) -> str | None:
    """The session id the socket `sid` was opened with (None: no session, or not a socket of this worker)."""
    sio = getattr(_app, "sio", None)
    if not sid or sio is None:
        return None
    environ = sio.get_environ(sid, event_namespace()) or {}
    scope = environ.get("asgi.scope") or {}
    return scope.get(SESSION_SCOPE_KEY)


STATES_DIR_MODE = 0o700


def seal_states_dir(states_dir: Path) -> None:
    """Reflex's state folder readable by this user only, emptied of tab states pickled before.

    The app keeps tab state in memory or Redis (rxconfig.py), so nothing new is
    written there; pickles left by an earlier version's disk manager could hold
    session ids, and are removed.
    """
    if not states_dir.is_dir():
        return
    states_dir.chmod(STATES_DIR_MODE)
    stale = list(states_dir.glob("*.pkl"))
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        logger.warning("removed %d tab state file(s) left in %s", len(stale), states_dir)

"""Login and logout over plain HTTP: Discord OAuth, the developer login, logout.

Every route ends in a full page load (a redirect), so the Reflex socket the
next page opens carries the new cookie. Cookies are HttpOnly and SameSite=Lax,
and Secure when the request came over https. No cookie value, code or token is
ever logged or echoed back in a page.

    GET  /auth/discord/login?next=/me   -> Discord's authorize page
    GET  /auth/discord/callback         -> back to `next`, logged in
    POST /auth/logout  (GET from this site too)  -> `/`, logged out
    GET  /auth/dev, POST /auth/dev/login -> developer login (COZYKART_DEV_LOGIN=1 only)
"""

from __future__ import annotations

import asyncio
import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from cozykart.api._http import error_headers_for
from cozykart.domain.errors import CozyKartError, NotFound, PermissionDenied
from cozykart.domain.identity import LoginFailed, LoginUnavailable, TooManyLoginAttempts, safe_next
from cozykart.services import default_uow, identity
from cozykart.settings import Settings, load_settings

LOGIN_PATH = "/auth/discord/login"
CALLBACK_PATH = "/auth/discord/callback"
LOGOUT_PATH = "/auth/logout"
DEV_LOGIN_PAGE_PATH = "/auth/dev"
DEV_LOGIN_PATH = "/auth/dev/login"
FORM_BODY_BYTES_MAX = 4096
# The developer login form answers any refusal (no such demo racer, not a demo racer) as a bad form post.
DEV_LOGIN_REFUSED_STATUS = 400
# Browsers say where a request came from; a page on another site must not log anyone in or out.
# ("same-site" is allowed: in Reflex's dev mode the pages and this server are two ports of one host.)
_FOREIGN_FETCH_SITES = {"cross-site"}


def _settings(request: Request) -> Settings:
    """The app's settings when it was built with them, else the environment's."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else load_settings()


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def _from_another_site(request: Request) -> bool:
    return request.headers.get("sec-fetch-site", "").lower() in _FOREIGN_FETCH_SITES


def _client_address(request: Request) -> str:
    """The peer address, as the server saw it.

    X-Forwarded-For is never read here (anyone can send one); behind a reverse
    proxy, the server's own proxy-headers setting (uvicorn's, trusting only the
    proxy's address) puts the real client in `request.client`.
    """
    return request.client.host if request.client else ""


def _callback_uri(request: Request) -> str:
    return str(request.url.replace(path=CALLBACK_PATH, query="", fragment=""))


def _redirect(path: str) -> RedirectResponse:
    response = RedirectResponse(path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_session_cookie(response: Response, request: Request, signed_in: identity.SignedIn) -> None:
    response.set_cookie(
        identity.SESSION_COOKIE_NAME,
        signed_in.session_token,
        max_age=signed_in.lifetime_s,
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )


def _clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        identity.SESSION_COOKIE_NAME, path="/", secure=_is_https(request), httponly=True, samesite="lax"
    )


def _clear_login_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        identity.LOGIN_COOKIE_NAME,
        path=identity.LOGIN_COOKIE_PATH,
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )


def _message_page(
    title: str, message: str, *, status_code: int, links: tuple[tuple[str, str], ...] = ()
) -> HTMLResponse:
    items = "".join(
        f'<p><a href="{html.escape(href, quote=True)}">{html.escape(label)}</a></p>' for label, href in links
    )
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · Cozy-Kart</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>body{font-family:system-ui,sans-serif;background:#0f0d1a;color:#f4f2ff;"
        "max-width:36rem;margin:3rem auto;padding:0 1rem}a{color:#ffd700}"
        "button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;border-radius:8px;"
        "border:1px solid #2e2a4a;background:#1c1930;color:#f4f2ff;cursor:pointer;width:100%;text-align:left}"
        ".warn{background:#5c1f2a;padding:.75rem;border-radius:8px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{items}</body></html>"
    )
    response = HTMLResponse(body, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal_page(
    title: str,
    error: CozyKartError,
    *,
    links: tuple[tuple[str, str], ...] = (),
    status_code: int | None = None,
) -> HTMLResponse:
    """A refusal as a page: the status and headers `error_response_for` would give, the message shown."""
    response = _message_page(title, error.message, status_code=status_code or error.http_status, links=links)
    response.headers.update(error_headers_for(error))
    return response


# --- Discord --------------------------------------------------------------------------


async def discord_login(request: Request) -> Response:
    settings = _settings(request)
    next_path = safe_next(request.query_params.get("next"), site_hostname=request.url.hostname)
    try:
        start = await asyncio.to_thread(
            lambda: identity.begin_login(
                next_path=next_path,
                redirect_uri=_callback_uri(request),
                client_address=_client_address(request),
                uow=default_uow(settings),
                site_hostname=request.url.hostname,
            )
        )
    except TooManyLoginAttempts as error:
        return _refusal_page("Please wait", error, links=(("Home", "/"),))
    except LoginUnavailable as error:
        links = (("Developer login", DEV_LOGIN_PAGE_PATH),) if settings.dev_login else ()
        return _refusal_page("Login unavailable", error, links=(*links, ("Home", "/")))
    response = RedirectResponse(start.authorize_url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        identity.LOGIN_COOKIE_NAME,
        start.browser_secret,
        max_age=start.lifetime_s,
        path=identity.LOGIN_COOKIE_PATH,
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )
    return response


async def discord_callback(request: Request) -> Response:
    settings = _settings(request)
    again = (("Log in again", LOGIN_PATH), ("Home", "/"))
    if request.query_params.get("error"):
        response = _message_page(
            "Login cancelled", "Discord did not log you in. You can try again.", status_code=400, links=again
        )
        _clear_login_cookie(response, request)
        return response
    try:
        signed_in = await asyncio.to_thread(
            lambda: identity.complete_login(
                state=request.query_params.get("state"),
                code=request.query_params.get("code"),
                browser_secret=request.cookies.get(identity.LOGIN_COOKIE_NAME),
                redirect_uri=_callback_uri(request),
                uow=default_uow(settings),
            )
        )
    except (LoginFailed, LoginUnavailable) as error:
        response = _refusal_page("Login failed", error, links=again)
        _clear_login_cookie(response, request)
        return response
    response = _redirect(signed_in.next_path)
    _set_session_cookie(response, request, signed_in)
    _clear_login_cookie(response, request)
    return response


# --- logout -----------------------------------------------------------------------------


async def logout(request: Request) -> Response:
    if _from_another_site(request):
        return _message_page("Not logged out", "Use the Log out button on Cozy-Kart.", status_code=403)
    token = request.cookies.get(identity.SESSION_COOKIE_NAME)
    settings = _settings(request)
    await asyncio.to_thread(lambda: identity.logout(token, uow=default_uow(settings)))
    response = _redirect(safe_next(request.query_params.get("next"), site_hostname=request.url.hostname))
    _clear_session_cookie(response, request)
    return response


# --- developer login ---------------------------------------------------------------------


async def dev_login_page(request: Request) -> Response:
    settings = _settings(request)
    if not settings.dev_login:
        return _message_page("Not found", "There is no such page.", status_code=404)
    next_path = safe_next(request.query_params.get("next"), site_hostname=request.url.hostname)
    choices = await asyncio.to_thread(lambda: identity.dev_login_choices(uow=default_uow(settings)))
    buttons = "".join(
        f'<form method="post" action="{DEV_LOGIN_PATH}">'
        f'<input type="hidden" name="discord_id" value="{html.escape(choice.discord_id, quote=True)}">'
        f'<input type="hidden" name="next" value="{html.escape(next_path, quote=True)}">'
        f"<button type='submit' data-testid='dev-login-choice'>{html.escape(choice.display_name)}"
        f" <small>@{html.escape(choice.username)}"
        f"{' · ' + html.escape(choice.roles) if choice.roles else ''}</small></button></form>"
        for choice in choices
    )
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Developer login · Cozy-Kart</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>body{font-family:system-ui,sans-serif;background:#0f0d1a;color:#f4f2ff;"
        "max-width:36rem;margin:3rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem;"
        "margin:.25rem 0;border-radius:8px;border:1px solid #2e2a4a;background:#1c1930;color:#f4f2ff;"
        "cursor:pointer;width:100%;text-align:left}.warn{background:#5c1f2a;padding:.75rem;border-radius:8px}"
        "</style></head><body><h1>Developer login</h1>"
        "<p class='warn'>For local development only (COZYKART_DEV_LOGIN=1): pick a demo racer to log in"
        " as, without Discord.</p>"
        f"{buttons or '<p>No demo racers yet: run <code>python -m cozykart seed-demo</code>.</p>'}"
        "</body></html>"
    )
    response = HTMLResponse(body)
    response.headers["Cache-Control"] = "no-store"
    return response


async def dev_login(request: Request) -> Response:
    settings = _settings(request)
    if not settings.dev_login:
        return _message_page("Not found", "There is no such page.", status_code=404)
    if _from_another_site(request):
        return _message_page("Refused", "Log in from the developer login page.", status_code=403)
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > FORM_BODY_BYTES_MAX:
        return _message_page("Refused", "That request is too large.", status_code=413)
    form = await request.form()
    discord_id = str(form.get("discord_id") or "")
    next_path = str(form.get("next") or "")
    try:
        signed_in = await asyncio.to_thread(
            lambda: identity.dev_login(
                discord_id, next_path=next_path, uow=default_uow(settings), site_hostname=request.url.hostname
            )
        )
    except (NotFound, PermissionDenied) as error:
        return _refusal_page(
            "Login failed",
            error,
            status_code=DEV_LOGIN_REFUSED_STATUS,
            links=(("Back", DEV_LOGIN_PAGE_PATH),),
        )
    except CozyKartError as error:
        return _refusal_page("Login failed", error, status_code=DEV_LOGIN_REFUSED_STATUS)
    response = _redirect(signed_in.next_path)
    _set_session_cookie(response, request, signed_in)
    return response


routes = [
    Route(LOGIN_PATH, discord_login, methods=["GET"]),
    Route(CALLBACK_PATH, discord_callback, methods=["GET"]),
    Route(LOGOUT_PATH, logout, methods=["GET", "POST"]),
    Route(DEV_LOGIN_PAGE_PATH, dev_login_page, methods=["GET"]),
    Route(DEV_LOGIN_PATH, dev_login, methods=["POST"]),
]

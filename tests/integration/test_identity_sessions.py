"""Server-side sessions: found by the cookie's hash, refused when expired, tampered or revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cozykart.db.identity_tables import AuthSession
from cozykart.db.types import utc_now
from cozykart.domain.identity import NotLoggedIn
from cozykart.services import identity
from tests.integration.identity_support import ADMIN_DISCORD_ID


def _viewer(world, token, **kwargs):
    return identity.viewer_for_session(token, uow=world.uow(world.settings), **kwargs)


def test_the_session_cookie_names_the_racer_and_their_roles(world):
    world.fake.user.id = ADMIN_DISCORD_ID
    world.log_in()

    viewer = _viewer(world, world.session_cookie)

    assert viewer.discord_id == ADMIN_DISCORD_ID
    assert (viewer.is_admin, viewer.is_host, viewer.is_dj) == (True, False, False)
    assert identity.acting_racer_id(world.session_cookie, uow=world.uow(world.settings)) == (viewer.racer_id)


def test_an_expired_session_is_not_a_login(world):
    world.log_in()
    token = world.session_cookie

    later = utc_now() + identity.SESSION_LIFETIME + timedelta(seconds=1)

    assert _viewer(world, token, now=later) is None
    with pytest.raises(NotLoggedIn):
        identity.acting_racer_id(token, uow=world.uow(world.settings), now=later)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token + "x",
        lambda token: token * 4,
        lambda token: "",
        lambda token: identity.digest(token),  # the stored hash is not a key
    ],
    ids=["one-char-changed", "extended", "oversized", "empty", "stored-hash"],
)
def test_a_tampered_session_cookie_is_not_a_login(world, tamper):
    world.log_in()

    assert _viewer(world, tamper(world.session_cookie)) is None
    with pytest.raises(NotLoggedIn):
        identity.acting_racer_id(tamper(world.session_cookie), uow=world.uow(world.settings))


def test_logout_revokes_the_session_and_clears_the_cookie(world):
    world.log_in()
    token = world.session_cookie

    response = world.client.post("/auth/logout")

    assert response.status_code == 303 and response.headers["location"] == "/"
    cleared = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cozykart_session="))
    assert "Max-Age=0" in cleared or "expires=" in cleared.lower()
    assert world.session_cookie is None
    assert _viewer(world, token) is None
    with world.uow() as uow:
        [stored] = uow.session.exec(select(AuthSession)).all()
        assert stored.revoked_at is not None
    # The same cookie replayed after logout stays logged out.
    assert identity.logout(token, uow=world.uow()) is False


def test_logout_only_ends_its_own_session(world):
    world.log_in()
    first = world.session_cookie
    world.client.cookies.clear()
    world.log_in()
    second = world.session_cookie

    world.client.post("/auth/logout")

    assert _viewer(world, second) is None
    assert _viewer(world, first) is not None


def test_a_page_on_another_site_cannot_log_you_out(world):
    world.log_in()
    token = world.session_cookie

    response = world.client.get("/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})

    assert response.status_code == 403
    assert _viewer(world, token) is not None


def test_logout_by_link_from_this_site_works(world):
    world.log_in()
    token = world.session_cookie

    response = world.client.get("/auth/logout", headers={"Sec-Fetch-Site": "same-origin"})

    assert response.status_code == 303
    assert _viewer(world, token) is None


def test_a_secure_cookie_over_https(world):
    callback_url = world.start_login()
    login_cookie = world.login_cookie
    from urllib.parse import urlsplit

    url = urlsplit(callback_url)
    response = world.client.get(
        f"{url.path}?{url.query}",
        headers={"X-Forwarded-Proto": "https", "Cookie": f"{identity.LOGIN_COOKIE_NAME}={login_cookie}"},
    )

    assert response.status_code == 303
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("cozykart_session=")
    )
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_the_session_id_is_read_from_a_cookie_header():
    name = identity.SESSION_COOKIE_NAME
    assert identity.session_token_from_cookie_header(f"a=1; {name}=abc-123; b=2") == "abc-123"
    assert identity.session_token_from_cookie_header(f'{name}="quoted"') == "quoted"
    assert identity.session_token_from_cookie_header("other=1; bad cookie; x") is None
    assert identity.session_token_from_cookie_header(f"{name}=") is None
    assert identity.session_token_from_cookie_header(None) is None


def test_logout_from_the_pages_port_of_this_host_works(world):
    world.log_in()
    token = world.session_cookie

    response = world.client.get(
        "/auth/logout", params={"next": "http://testserver:3000/"}, headers={"Sec-Fetch-Site": "same-site"}
    )

    assert response.status_code == 303 and response.headers["location"] == "http://testserver:3000/"
    assert _viewer(world, token) is None

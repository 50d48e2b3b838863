"""Logging in with Discord against a fake Discord on loopback: state, PKCE, single use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cozykart.db.identity_tables import AuthSession, LoginAttempt
from cozykart.db.types import utc_now
from cozykart.domain.identity import LoginFailed
from cozykart.services import identity
from tests.fake_discord import running_fake_discord
from tests.integration.identity_support import build_world, query_of


def _sessions(world) -> list[AuthSession]:
    with world.uow() as uow:
        rows = list(uow.session.exec(select(AuthSession)).all())
        uow.session.expunge_all()
        return rows


def test_discord_login_creates_the_racer_and_a_hashed_session(world):
    response = world.log_in(next_path="/me")

    assert response.status_code == 303
    assert response.headers["location"] == "/me"
    set_cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookies if c.startswith(f"{identity.SESSION_COOKIE_NAME}="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Secure" not in session_cookie  # plain http here; https requests get Secure
    assert any(c.startswith(f"{identity.LOGIN_COOKIE_NAME}=") and "Max-Age=0" in c for c in set_cookies)

    racer = world.racer(world.fake.user.id)
    assert racer is not None
    assert (racer.username, racer.display_name) == ("nelly_nitro", "Nelly")
    assert racer.avatar_url == (
        f"https://cdn.discordapp.com/avatars/{world.fake.user.id}/{world.fake.user.avatar}.png?size=128"
    )

    token = world.session_cookie
    assert token
    [stored] = _sessions(world)
    assert stored.token_hash == identity.digest(token) != token
    assert stored.racer_id == racer.id and stored.revoked_at is None
    viewer = identity.viewer_for_session(token, uow=world.uow(world.settings))
    assert viewer is not None and viewer.display_name == "Nelly" and not viewer.is_admin


def test_login_attempt_keeps_no_secret_in_the_clear(world):
    callback_url = world.start_login()
    state = query_of(callback_url)["state"]
    with world.uow() as uow:
        [attempt] = uow.session.exec(select(LoginAttempt)).all()
        uow.session.expunge_all()
    assert attempt.state_hash == identity.digest(state)
    assert attempt.verifier_hash == identity.digest(world.login_cookie)
    assert state not in (attempt.state_hash, attempt.verifier_hash)


def test_second_login_updates_name_and_avatar_and_keeps_the_profile(world):
    world.log_in()
    first = world.racer(world.fake.user.id)
    identity.update_profile(first.id, mkt_name="NellyNitro", uow=world.uow())

    world.fake.user.global_name = "Nelly N."
    world.fake.user.avatar = None
    world.log_in()

    racer = world.racer(world.fake.user.id)
    assert racer.id == first.id
    assert racer.display_name == "Nelly N."
    assert racer.mkt_name == "NellyNitro"
    index = (int(world.fake.user.id) >> 22) % 6
    assert racer.avatar_url == f"https://cdn.discordapp.com/embed/avatars/{index}.png"
    assert len(_sessions(world)) == 2


def test_callback_with_a_wrong_state_is_refused(world):
    callback_url = world.start_login()
    code = query_of(callback_url)["code"]

    response = world.client.get(identity_callback(), params={"code": code, "state": "forged-state"})

    assert response.status_code == 400
    assert "expired or was already used" in response.text
    assert world.session_cookie is None
    assert world.racer(world.fake.user.id) is None
    assert world.fake.token_requests == 0  # refused before Discord was asked


def test_callback_without_state_is_refused(world):
    code = query_of(world.start_login())["code"]

    response = world.client.get(identity_callback(), params={"code": code})

    assert response.status_code == 400
    assert world.session_cookie is None and world.racer(world.fake.user.id) is None


def test_callback_in_a_browser_that_did_not_start_the_login_is_refused(world):
    callback_url = world.start_login()
    world.client.cookies.clear()  # the victim's browser: no login cookie

    response = world.callback(callback_url)

    assert response.status_code == 400
    assert "another browser" in response.text
    assert world.racer(world.fake.user.id) is None


def test_replayed_callback_logs_in_once(world):
    callback_url = world.start_login()
    login_cookie = world.login_cookie
    assert world.callback(callback_url).status_code == 303

    world.client.cookies.clear()
    world.client.cookies.set(identity.LOGIN_COOKIE_NAME, login_cookie, path="/auth/discord")
    replay = world.callback(callback_url)

    assert replay.status_code == 400
    assert world.session_cookie is None
    assert len(_sessions(world)) == 1
    assert world.fake.token_requests == 1


def test_a_code_used_twice_is_refused(world):
    first_callback = world.start_login()
    assert world.callback(first_callback).status_code == 303
    old_code = query_of(first_callback)["code"]

    # A fresh, valid state from a new login, carrying the already spent code.
    fresh_state = query_of(world.start_login())["state"]
    response = world.client.get(identity_callback(), params={"code": old_code, "state": fresh_state})

    assert response.status_code == 400
    assert "Discord did not confirm the login" in response.text
    assert world.fake.refusals == ["invalid_grant"]
    assert len(_sessions(world)) == 1


def test_an_expired_login_attempt_is_refused(world):
    callback_url = world.start_login()
    params = query_of(callback_url)

    with pytest.raises(LoginFailed, match="expired"):
        identity.complete_login(
            state=params["state"],
            code=params["code"],
            browser_secret=world.login_cookie,
            redirect_uri="http://testserver/auth/discord/callback",
            uow=world.uow(world.settings),
            now=utc_now() + identity.LOGIN_ATTEMPT_LIFETIME + timedelta(seconds=1),
        )
    assert world.fake.token_requests == 0


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/auth/logout", None]
)
def test_login_never_redirects_off_site(world, next_path):
    response = world.log_in(next_path=next_path)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_discord_cancelling_the_login_is_shown_and_changes_nothing(world):
    world.start_login()
    response = world.client.get(identity_callback(), params={"error": "access_denied", "state": "x"})

    assert response.status_code == 400
    assert "Login cancelled" in response.text
    assert world.session_cookie is None


def test_discord_unreachable_fails_the_login_cleanly(database):
    with running_fake_discord() as fake:
        worlds = build_world(database, fake)
        world = next(worlds)
        callback_url = world.start_login()
    # The fake is gone: the token exchange cannot reach Discord.
    response = world.callback(callback_url)

    assert response.status_code == 400
    assert "Discord did not confirm the login" in response.text
    assert world.session_cookie is None
    worlds.close()


def test_login_is_unavailable_when_discord_is_not_configured(database, fake_discord):
    worlds = build_world(database, fake_discord, DISCORD_CLIENT_ID="", DISCORD_CLIENT_SECRET="")
    world = next(worlds)

    response = world.client.get("/auth/discord/login")

    assert response.status_code == 503
    assert "not configured" in response.text
    worlds.close()


def identity_callback() -> str:
    return "/auth/discord/callback"


def test_pages_on_another_port_of_this_host_get_the_racer_back(world):
    """Reflex's dev mode: pages on :3000, this server on :8000 of the same host."""
    response = world.log_in(next_path="http://testserver:3000/me")

    assert response.status_code == 303
    assert response.headers["location"] == "http://testserver:3000/me"

"""A racer logs in through (fake) Discord in a real browser, sees themselves in the header, logs out.

The served app's Discord is tests/fake_discord.py on loopback; Discord's CDN is
answered by the browser itself (a local image), so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from cozykart.db.identity_tables import AuthSession, RoleChange
from cozykart.db.tables import Racer
from cozykart.db.uow import UnitOfWork
from cozykart.settings import PROJECT_ROOT
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID, screenshot_dir
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
AVATAR_HASH = "8342729096ea3675442027381ff50dfe"
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()


def _racer(uow: UnitOfWork, discord_id: str) -> Racer | None:
    with uow:
        racer = uow.session.exec(select(Racer).where(Racer.discord_id == discord_id)).first()
        if racer is not None:
            uow.session.expunge(racer)
        return racer


def _serve_cdn_locally(page) -> None:
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )


def _expect():
    from playwright.sync_api import expect

    return expect


def test_racer_logs_in_with_discord_sees_name_and_avatar_then_logs_out(
    served_app, fake_discord_server, page, db, tmp_path
):
    expect = _expect()
    user = FakeUser(id="80351110224678912", username="nelly_nitro", global_name="Nelly", avatar=AVATAR_HASH)
    fake_discord_server.user = user
    _serve_cdn_locally(page)
    frames_to_browser: list[str] = []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived",
            lambda payload: frames_to_browser.append(payload if isinstance(payload, str) else ""),
        ),
    )

    page.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
    login = page.get_by_test_id("login-button")
    expect(login).to_have_text("Log in with Discord", timeout=PAGE_TIMEOUT_MS)
    login.click()

    name = page.get_by_test_id("account-name")
    expect(name).to_have_text("Nelly", timeout=PAGE_TIMEOUT_MS)
    avatar = page.get_by_test_id("account-avatar")
    expected_src = f"https://cdn.discordapp.com/avatars/{user.id}/{AVATAR_HASH}.png?size=128"
    assert avatar.get_attribute("src") == expected_src
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=account-avatar]');"
        " return img && img.complete && img.naturalWidth > 0; }",
        timeout=PAGE_TIMEOUT_MS,
    )
    expect(page.get_by_test_id("login-button")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir(tmp_path) / "logged-in.png"))

    # The session cookie is HttpOnly: the page's JavaScript cannot read it.
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["cozykart_session"]["httpOnly"] is True
    assert cookies["cozykart_session"]["sameSite"] == "Lax"
    assert "cozykart_session" not in page.evaluate("document.cookie")
    # ...and no state delta the server sent over the socket carries it.
    session_id = cookies["cozykart_session"]["value"]
    assert frames_to_browser and any("Nelly" in frame for frame in frames_to_browser)
    assert not any(session_id in frame for frame in frames_to_browser)
    racer = _racer(db, user.id)
    assert racer is not None and racer.avatar_url == expected_src

    page.get_by_test_id("logout-button").click()

    expect(page.get_by_test_id("login-button")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("account-name")).to_have_count(0)
    assert "cozykart_session" not in {cookie["name"] for cookie in page.context.cookies()}
    with db:
        sessions = db.session.exec(select(AuthSession).where(AuthSession.racer_id == racer.id)).all()
        assert sessions and all(session.revoked_at is not None for session in sessions)


def test_a_protected_page_sends_you_to_login_and_back(served_app, fake_discord_server, page, db):
    expect = _expect()
    user = FakeUser(id="80351110224678913", username="kart_kat", global_name="Kat", avatar=None)
    fake_discord_server.user = user
    _serve_cdn_locally(page)

    page.goto(served_app.url("/me"), timeout=PAGE_TIMEOUT_MS)

    field = page.get_by_test_id("mkt-name-input")
    expect(field).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert page.url.rstrip("/") == served_app.url("/me")  # back where they started
    expect(page.get_by_test_id("account-name")).to_have_text("Kat")
    field.fill("KartKat99")
    page.get_by_test_id("mkt-name-save").click()
    expect(page.get_by_test_id("profile-message")).to_have_text("Saved.", timeout=PAGE_TIMEOUT_MS)
    assert _racer(db, user.id).mkt_name == "KartKat99"


def test_roles_page_refuses_a_racer_and_lets_an_admin_grant_host(served_app, fake_discord_server, page, db):
    expect = _expect()
    _serve_cdn_locally(page)
    fake_discord_server.user = FakeUser(
        id="80351110224678914", username="plain_pat", global_name="Pat", avatar=None
    )

    page.goto(served_app.url("/admin/roles"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("roles-refusal")).to_have_text(
        "Only a league admin can do that.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("role-row")).to_have_count(0)

    # Log out, and in again as the admin.
    page.get_by_test_id("logout-button").click()
    expect(page.get_by_test_id("login-button")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    fake_discord_server.user = FakeUser(
        id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None
    )
    page.goto(served_app.url("/admin/roles"), timeout=PAGE_TIMEOUT_MS)

    row = page.get_by_test_id("role-row").filter(has_text="@koopa_kid")
    expect(row).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    toggle = row.get_by_test_id("toggle-host")
    expect(toggle).to_have_text("Grant host")
    click_and_confirm(page, toggle)
    expect(toggle).to_have_text("Revoke host", timeout=PAGE_TIMEOUT_MS)

    kai = _racer(db, "demo-koopa_kid")
    assert kai.is_host is True
    with db:
        change = db.session.exec(select(RoleChange).where(RoleChange.racer_id == kai.id)).one()
        assert (change.role, change.old_value, change.new_value) == ("host", False, True)
    expect(page.get_by_test_id("role-change").first).to_contain_text("Boss granted host to Kai")

"""The admin overlays page's URL builder in Chromium (issue 19, item 2): the key made there
fills the builder (and only the browser), each overlay shows the size to enter in OBS,
the style choices become the URL's query (invalid ones named and left out), the live
preview loads that URL, and the copy button puts it on the clipboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cozykart.ui import routes
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.test_security import ADMIN, _login_in_browser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
PUSH_TIMEOUT_MS = 10_000


@pytest.fixture
def admin_overlays(browser, served_app, fake_discord_server):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served_app.url("/").rstrip("/"))
    page = context.new_page()
    try:
        _login_in_browser(page, served_app, fake_discord_server, ADMIN, routes.ADMIN_OVERLAYS)
        expect(page.get_by_test_id("overlay-builder")).to_be_attached(timeout=PAGE_TIMEOUT_MS)
        yield page
    finally:
        context.close()


def _url(page) -> str:
    return page.get_by_test_id("overlay-builder-url").input_value()


def test_the_builder_makes_the_url_shows_the_obs_size_previews_and_copies(admin_overlays, served_app):
    page = admin_overlays
    click_and_confirm(page, page.get_by_test_id("regenerate-overlay-key"))
    key_field = page.get_by_test_id("overlay-key-field")
    expect(key_field).not_to_have_value("", timeout=PAGE_TIMEOUT_MS)
    key = key_field.input_value()
    origin = served_app.url("/").rstrip("/")
    expect(page.get_by_test_id("overlay-builder-url")).to_have_value(
        f"{origin}{routes.POT_OVERLAY}?key={key}"
    )
    expect(page.get_by_test_id("overlay-obs-size")).to_have_text("520 px wide and 160 px high")

    page.get_by_test_id("overlay-builder-route").select_option(routes.ALERTS_OVERLAY)
    expect(page.get_by_test_id("overlay-obs-size")).to_have_text(
        "720 px wide and 240 px high", timeout=PUSH_TIMEOUT_MS
    )
    page.get_by_test_id("overlay-look-preset").select_option("neon")
    page.get_by_test_id("overlay-look-sound").select_option("on")
    page.get_by_test_id("overlay-look-accent").fill("not-a-colour")
    page.get_by_test_id("overlay-look-width").fill("800")
    page.get_by_test_id("overlay-look-width").blur()
    page.get_by_test_id("overlay-look-accent").blur()
    wanted = f"{origin}{routes.ALERTS_OVERLAY}?key={key}&preset=neon&width=800&sound=on"
    expect(page.get_by_test_id("overlay-builder-url")).to_have_value(wanted, timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-look-ignored")).to_contain_text("accent")
    expect(page.get_by_test_id("overlay-obs-size")).to_have_text("800 px wide and 240 px high")

    assert page.get_by_test_id("overlay-preview").get_attribute("src") is None  # only when asked
    page.get_by_test_id("overlay-preview-show").click()
    expect(page.get_by_test_id("overlay-preview")).to_have_attribute("src", wanted, timeout=PUSH_TIMEOUT_MS)
    preview = page.frame_locator("[data-testid=overlay-preview]")
    expect(preview.get_by_test_id("overlay-stage")).to_have_attribute(
        "data-look", "dark", timeout=PAGE_TIMEOUT_MS
    )
    page.get_by_test_id("send-test-alert").click()
    expect(preview.get_by_test_id("overlay-alert")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

    page.get_by_test_id("overlay-copy-url").click()
    expect(page.get_by_test_id("overlay-copy-url")).to_have_attribute(
        "data-copied", "true", timeout=PUSH_TIMEOUT_MS
    )
    assert page.evaluate("navigator.clipboard.readText()") == wanted


def test_after_a_reload_the_key_is_gone_until_pasted_and_the_preview_waits_for_it(admin_overlays, served_app):
    page = admin_overlays
    page.reload(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-builder")).to_be_attached(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-key-field")).to_have_value("")
    origin = served_app.url("/").rstrip("/")
    expect(page.get_by_test_id("overlay-builder-url")).to_have_value(f"{origin}{routes.POT_OVERLAY}?key=")
    assert page.get_by_test_id("overlay-preview").get_attribute("src") is None  # no key: nothing to preview

    page.get_by_test_id("overlay-preview-show").click()
    assert page.get_by_test_id("overlay-preview").get_attribute("src") is None  # no key: nothing to preview
    page.get_by_test_id("overlay-key-field").fill("pasted-key")
    expect(page.get_by_test_id("overlay-builder-url")).to_have_value(
        f"{origin}{routes.POT_OVERLAY}?key=pasted-key"
    )
    preview = page.frame_locator("[data-testid=overlay-preview]")
    expect(preview.get_by_test_id("overlay-locked")).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )  # not the current key

"""The supporters board in a real browser: a signed Stripe sale by a fan who chose a display name
shows on `/overlay/supporters` (race and season) and on the Watch page without reloading; a
buyer who chose none (only the cardholder's name is known) never shows; a refund takes the fan
off again; without the key the overlay shows no board."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from cozykart.domain.money import format_cents
from cozykart.ui import routes
from cozykart.ui.pages.overlay_supporters import OBS_HEIGHT_PX, OBS_WIDTH_PX
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.test_live_pot import _post_checkout, _post_full_refund, _post_sale, _pot_cents
from tests.e2e.test_security import ADMIN, _login_in_browser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
PUSH_TIMEOUT_MS = 5_000
BIG_CENTS = 900_000  # $9,000.00: more than any demo fan gave, so the name is first on every board


def _open_overlay(page: Page, served_app, query: str) -> None:
    page.set_viewport_size({"width": OBS_WIDTH_PX, "height": OBS_HEIGHT_PX})
    page.goto(served_app.url(f"{routes.SUPPORTERS_OVERLAY}?{query}"), timeout=PAGE_TIMEOUT_MS)


def _board_rows(page: Page, testid: str):
    return page.get_by_test_id(testid).get_by_test_id("supporter-row")


def _post_private_sale(served_app, amount_cents: int, cardholder: str) -> None:
    """A signed Checkout sale with no display name in the metadata: only the cardholder is known."""
    _post_checkout(served_app, amount_cents, {"item": "Rainbow Road hoodie"}, customer_name=cardholder)


def test_a_named_fans_sale_tops_the_overlay_and_the_watch_board_live_and_a_refund_removes_it(
    served_app, browser, overlay_key
):
    fan = f"Sol {uuid.uuid4().hex[:6]}"
    pages = {name: browser.new_context().new_page() for name in ("race", "season", "watch")}
    try:
        _open_overlay(pages["race"], served_app, f"key={overlay_key}")
        _open_overlay(pages["season"], served_app, f"key={overlay_key}&scope=season")
        pages["watch"].goto(served_app.url(routes.WATCH), timeout=PAGE_TIMEOUT_MS)
        for name in ("race", "season"):
            expect(pages[name].get_by_test_id("supporters-board")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        expect(pages["season"].get_by_test_id("supporters-board")).to_have_attribute("data-scope", "season")
        expect(pages["race"].get_by_test_id("supporters-board")).to_have_attribute("data-scope", "race")
        expect(pages["watch"].get_by_test_id("pot-amount")).to_have_text(
            format_cents(_pot_cents(served_app)), timeout=PAGE_TIMEOUT_MS
        )

        payment_intent = _post_sale(served_app, BIG_CENTS, fan)

        for page, board in [(pages["race"], "race-supporters"), (pages["season"], "season-supporters")]:
            first = _board_rows(page, board).first
            expect(first).to_contain_text(fan, timeout=PUSH_TIMEOUT_MS)
            expect(first).to_contain_text("#1")
        watch = pages["watch"]
        for board in ("race-supporters", "season-supporters"):
            expect(_board_rows(watch, board).first).to_contain_text(fan, timeout=PUSH_TIMEOUT_MS)
        assert watch.url == served_app.url(routes.WATCH)  # no reload

        _post_full_refund(served_app, payment_intent, BIG_CENTS)
        for page in pages.values():
            expect(page.get_by_test_id("supporter-row").filter(has_text=fan)).to_have_count(
                0, timeout=PUSH_TIMEOUT_MS
            )
    finally:
        for page in pages.values():
            page.context.close()


def test_a_buyer_who_chose_no_display_name_never_appears(served_app, page, overlay_key):
    cardholder = f"Penny Private {uuid.uuid4().hex[:6]}"
    _open_overlay(page, served_app, f"key={overlay_key}")
    expect(page.get_by_test_id("supporters-board")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    watch = page.context.new_page()
    watch.goto(served_app.url(routes.WATCH), timeout=PAGE_TIMEOUT_MS)
    before = _pot_cents(served_app)
    expect(watch.get_by_test_id("pot-amount")).to_have_text(format_cents(before), timeout=PAGE_TIMEOUT_MS)

    _post_private_sale(served_app, BIG_CENTS, cardholder)

    # The push arrived (the pot rose by 20% of the sale), and the board still has no such name.
    expect(watch.get_by_test_id("pot-amount")).to_have_text(
        format_cents(before + BIG_CENTS // 5), timeout=PUSH_TIMEOUT_MS
    )
    expect(watch.get_by_test_id("feed-line").first).to_contain_text("A fan bought Rainbow Road hoodie")
    for shown in (page, watch):
        assert cardholder not in shown.content()
    # The board shows only names that gave less than this sale: none of them is nine thousand dollars.
    assert format_cents(BIG_CENTS) not in " ".join(page.get_by_test_id("supporter-amount").all_inner_texts())


def test_the_overlay_is_transparent_and_without_the_key_shows_no_board(
    served_app, browser, page, overlay_key
):
    _open_overlay(page, served_app, f"key={overlay_key}")
    expect(page.get_by_test_id("supporter-row").first).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )  # the demo's fans
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background in {"rgba(0, 0, 0, 0)", "transparent"}
    box = page.get_by_test_id("supporters-board").bounding_box()
    assert box is not None and box["width"] <= OBS_WIDTH_PX

    for query in ("key=wrong&scope=season", "scope=season"):
        stranger = browser.new_context().new_page()  # a tab of its own: it never had the key
        try:
            _open_overlay(stranger, served_app, query)
            expect(stranger.get_by_test_id("overlay-locked")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
            stranger.wait_for_timeout(500)
            assert stranger.get_by_test_id("supporters-board").count() == 0
            assert stranger.get_by_test_id("supporter-row").count() == 0
        finally:
            stranger.context.close()


# Last in this module: a new key makes `overlay_key` out of date.
def test_the_admin_builds_the_supporters_url_with_its_obs_size_and_it_opens_the_season_board(
    served_app, fake_discord_server, browser
):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    try:
        _login_in_browser(page, served_app, fake_discord_server, ADMIN, routes.ADMIN_OVERLAYS)
        click_and_confirm(page, page.get_by_test_id("regenerate-overlay-key"))
        key_field = page.get_by_test_id("overlay-key-field")
        expect(key_field).not_to_have_value("", timeout=PAGE_TIMEOUT_MS)
        page.get_by_test_id("overlay-builder-route").select_option(routes.SUPPORTERS_OVERLAY)
        expect(page.get_by_test_id("overlay-obs-size")).to_have_text(
            f"{OBS_WIDTH_PX} px wide and {OBS_HEIGHT_PX} px high", timeout=PUSH_TIMEOUT_MS
        )
        origin = served_app.url("/").rstrip("/")
        url = f"{origin}{routes.SUPPORTERS_OVERLAY}?key={key_field.input_value()}"
        expect(page.get_by_test_id("overlay-builder-url")).to_have_value(url, timeout=PUSH_TIMEOUT_MS)

        overlay = context.new_page()
        overlay.set_viewport_size({"width": OBS_WIDTH_PX, "height": OBS_HEIGHT_PX})
        overlay.goto(f"{url}&scope=season&preset=neon", timeout=PAGE_TIMEOUT_MS)
        board = overlay.get_by_test_id("supporters-board")
        expect(board).to_have_attribute("data-scope", "season", timeout=PAGE_TIMEOUT_MS)
        expect(board.get_by_test_id("supporter-row").first).to_be_visible()
    finally:
        context.close()

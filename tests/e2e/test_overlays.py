"""OBS overlays in a real browser: locked without the key; with it, the ticker and a
sale's alert arrive live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.services import league, overlays
from cozykart.services.pot import live_pot
from cozykart.settings import Settings
from cozykart.ui.pages.overlays import ALERT_GAP_S, ALERT_SHOW_S
from tests.e2e.test_live_pot import _post_sale

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
PUSH_TIMEOUT_MS = 5_000
ADMIN_DISCORD_ID = "900000000000000088"


@pytest.fixture(scope="module")
def overlay_key(served_app) -> str:
    engine = create_db_engine(served_app.db_url)
    try:
        settings = Settings(db_url=served_app.db_url, admin_discord_ids=frozenset({ADMIN_DISCORD_ID}))
        admin = league.get_or_create_racer(ADMIN_DISCORD_ID, "overlay-admin", "Overlay Admin", None,
                                           uow=UnitOfWork(engine))
        return overlays.regenerate_overlay_key(actor_id=admin.racer_id, uow=UnitOfWork(engine), settings=settings)
    finally:
        engine.dispose()


def test_an_overlay_without_the_key_shows_nothing_of_the_pot(served_app, page, overlay_key):
    page.goto(served_app.url("/overlay/pot?key=wrong"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-locked")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert page.get_by_test_id("pot-amount").count() == 0


def test_the_pot_overlay_shows_the_ticker_on_a_transparent_page(served_app, page, overlay_key):
    engine = create_db_engine(served_app.db_url)
    pot_cents = live_pot(uow=UnitOfWork(engine)).pot_cents
    engine.dispose()

    page.goto(served_app.url(f"/overlay/pot?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)

    expect(page.get_by_test_id("pot-amount")).to_have_text(format_cents(pot_cents), timeout=PAGE_TIMEOUT_MS)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background in {"rgba(0, 0, 0, 0)", "transparent"}


def test_the_alerts_overlay_pops_a_new_sale_but_not_an_old_one(served_app, page, overlay_key):
    page.goto(served_app.url(f"/overlay/alerts?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('[data-testid=overlay-locked]') === null",
                           timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(500)
    assert page.get_by_test_id("overlay-alert").count() == 0  # what sold before it opened is not replayed

    _post_sale(served_app, 2000, "Xiomara")

    expect(page.get_by_test_id("overlay-alert")).to_contain_text("Xiomara bought Rainbow Road hoodie",
                                                                 timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-alert")).to_contain_text("$20.00")


def test_sales_that_arrive_together_are_alerted_one_at_a_time_in_order(served_app, page, overlay_key):
    page.goto(served_app.url(f"/overlay/alerts?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('[data-testid=overlay-locked]') === null",
                           timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(500)

    _post_sale(served_app, 1500, "Yusuf")
    _post_sale(served_app, 2500, "Zelda")

    alert = page.get_by_test_id("overlay-alert")
    expect(alert).to_contain_text("Yusuf bought Rainbow Road hoodie", timeout=PUSH_TIMEOUT_MS)
    expect(alert).to_contain_text("$15.00")
    first_key = alert.get_attribute("data-alert-key")
    # The second waits its turn: it shows only after the first has had its time on screen.
    page.wait_for_timeout(int(ALERT_SHOW_S * 1000 / 4))
    expect(alert).to_contain_text("Yusuf")
    expect(alert).to_contain_text("Zelda bought Rainbow Road hoodie",
                                  timeout=int((ALERT_SHOW_S + ALERT_GAP_S) * 1000) + PUSH_TIMEOUT_MS)
    expect(alert).to_contain_text("$25.00")
    assert alert.get_attribute("data-alert-key") != first_key

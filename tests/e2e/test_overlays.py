"""OBS overlays in a real browser: locked without the key; with it, the ticker and a
sale's alert arrive live. A hand-made client without the key calling every overlay
handler itself gets nothing either."""

from __future__ import annotations

import asyncio

import pytest
from playwright.sync_api import expect

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.pot import live_pot
from cozykart.ui import routes
from cozykart.ui.pages.overlays import ALERT_GAP_S, ALERT_SHOW_S, OverlayState
from tests.e2e.test_live_pot import _post_sale
from tests.reflex_viewer import Viewer, run_async

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
PUSH_TIMEOUT_MS = 5_000
SOCKET_TIMEOUT_S = 30
HANDLER_SETTLE_S = 2.0  # long enough for a handler a client started to have run and pushed
# What a client might send to each OverlayState handler (setvar: make itself "authorized").
HANDLER_PAYLOADS = {
    "open": {"key": "wrong"},
    "resume": {},
    "play_alerts": {},
    "setvar": {"var_name": "authorized", "value": True},
}


def test_an_overlay_without_the_key_shows_nothing_of_the_pot(served_app, page, overlay_key):
    page.goto(served_app.url("/overlay/pot?key=wrong"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-locked")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert page.get_by_test_id("pot-amount").count() == 0


def test_the_pot_overlay_shows_the_ticker_on_a_transparent_page(served_app, page, overlay_key):
    engine = create_db_engine(served_app.db_url)
    pot_cents = live_pot(uow=UnitOfWork(engine, handlers=HANDLERS)).pot_cents
    engine.dispose()

    page.goto(served_app.url(f"/overlay/pot?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)

    expect(page.get_by_test_id("pot-amount")).to_have_text(format_cents(pot_cents), timeout=PAGE_TIMEOUT_MS)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background in {"rgba(0, 0, 0, 0)", "transparent"}


def test_the_alerts_overlay_pops_a_new_sale_but_not_an_old_one(served_app, page, overlay_key):
    page.goto(served_app.url(f"/overlay/alerts?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=overlay-locked]') === null", timeout=PAGE_TIMEOUT_MS
    )
    page.wait_for_timeout(500)
    assert page.get_by_test_id("overlay-alert").count() == 0  # what sold before it opened is not replayed

    _post_sale(served_app, 2000, "Xiomara")

    expect(page.get_by_test_id("overlay-alert")).to_contain_text(
        "Xiomara bought Rainbow Road hoodie", timeout=PUSH_TIMEOUT_MS
    )
    expect(page.get_by_test_id("overlay-alert")).to_contain_text("$20.00")


def test_sales_that_arrive_together_are_alerted_one_at_a_time_in_order(served_app, page, overlay_key):
    page.goto(served_app.url(f"/overlay/alerts?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=overlay-locked]') === null", timeout=PAGE_TIMEOUT_MS
    )
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
    expect(alert).to_contain_text(
        "Zelda bought Rainbow Road hoodie", timeout=int((ALERT_SHOW_S + ALERT_GAP_S) * 1000) + PUSH_TIMEOUT_MS
    )
    expect(alert).to_contain_text("$25.00")
    assert alert.get_attribute("data-alert-key") != first_key


@pytest.mark.parametrize("route", [routes.ALERTS_OVERLAY, routes.POT_OVERLAY])
@pytest.mark.parametrize("query", [{}, {"key": "wrong"}], ids=["no-key", "wrong-key"])
def test_a_client_without_the_key_calling_every_overlay_handler_gets_no_alerts_and_no_pot(
    served_app, overlay_key, route, query
):
    assert set(OverlayState.event_handlers) == set(HANDLER_PAYLOADS), "a new handler: add it to this test"
    overlay_state = OverlayState.get_full_name()

    async def call_every_handler() -> Viewer:
        viewer = Viewer(served_app.base_url, route, query, headers={"Origin": served_app.base_url})
        await viewer.connect()
        try:
            # What the page's on_mount sends: the key its address had (here none, or a wrong one).
            await viewer.send(f"{overlay_state}.open", {"key": query.get("key", "")})
            await viewer.wait_for(lambda v: v.var("overlay_state", "checked") is True, SOCKET_TIMEOUT_S)
            for handler, payload in HANDLER_PAYLOADS.items():
                await viewer.send(f"{overlay_state}.{handler}", payload)
            await asyncio.sleep(HANDLER_SETTLE_S)
            await asyncio.to_thread(_post_sale, served_app, 1234, "Intruder")
            await asyncio.sleep(HANDLER_SETTLE_S)
        finally:
            await viewer.disconnect()
        return viewer

    viewer = run_async(call_every_handler)

    assert viewer.var("overlay_state", "authorized") is False
    assert viewer.var("overlay_state", "alert_showing") is False
    assert "Intruder" not in str(viewer.var("overlay_state", "alert"))
    assert viewer.var("live_pot_state", "loaded") is not True  # never seeded: no pot, no feed
    assert not viewer.var("live_pot_state", "feed")

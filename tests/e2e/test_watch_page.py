"""What a fan sees on `/`: the live race with its racers, and the season's leaders."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.watch import watch_snapshot
from tests.e2e.conftest import screenshot_dir

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def snapshot(served_app):
    engine = create_db_engine(served_app.db_url)
    try:
        return watch_snapshot(uow=UnitOfWork(engine, handlers=HANDLERS))
    finally:
        engine.dispose()


def test_fan_sees_the_live_race_with_every_racer(served_app, page, snapshot, tmp_path):
    page.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)

    race_name = page.get_by_test_id("race-name")
    race_name.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert race_name.inner_text() == snapshot.race.name
    assert "LIVE" in page.get_by_test_id("race-status").inner_text()
    # The relative time is rendered in the browser, after hydration: wait for it.
    expect(page.get_by_test_id("race-started")).to_have_text(
        re.compile(r"Started .*(minutes?|seconds?) ago"), timeout=PAGE_TIMEOUT_MS
    )

    tiles = page.get_by_test_id("race-racer")
    assert tiles.count() == len(snapshot.race.racers) == 8
    shown_names = [tiles.nth(index).inner_text().strip() for index in range(tiles.count())]
    assert shown_names == [card.name for card in snapshot.race.racers]

    # Every avatar is a real image the server served, not a broken link.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=race-racer] img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.screenshot(path=str(screenshot_dir(tmp_path) / "watch.png"), full_page=True)


def test_fan_sees_the_season_leaders_in_order(served_app, page, snapshot):
    page.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
    rows = page.get_by_test_id("leader-row")
    rows.first.wait_for(timeout=PAGE_TIMEOUT_MS)

    assert rows.count() == len(snapshot.leaders) > 0
    for index, leader in enumerate(snapshot.leaders):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[0].strip() == f"#{leader.rank}"
        assert cells[1].strip() == leader.name
        assert cells[2].strip() == str(leader.points)
    assert snapshot.season_name in page.get_by_role("region", name="Season leaders").inner_text()


def test_on_a_phone_the_pot_comes_before_the_race_card(served_app, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
    page.get_by_test_id("race-name").wait_for(timeout=PAGE_TIMEOUT_MS)
    # Seeded from the database: the placeholder gives way to the live race's message.
    expect(page.get_by_test_id("pot-message")).to_have_text(
        "Buy a shirt now to increase the pot!", timeout=PAGE_TIMEOUT_MS
    )

    ticker = page.get_by_test_id("pot-ticker").bounding_box()
    race = page.get_by_role("region", name="Current race").bounding_box()
    leaders = page.get_by_role("region", name="Season leaders").bounding_box()
    assert ticker["y"] + ticker["height"] <= race["y"] < leaders["y"]
    assert ticker["y"] < 844, "the pot is above the fold"
    # One column: nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_shop_and_tip_actions_are_links_not_buttons_in_links(served_app, page):
    page.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
    tip = page.get_by_role("main").get_by_role("link", name="Tip the DJ")
    tip.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert tip.get_attribute("href") == "/tip"
    assert page.locator("a button, button a").count() == 0
    tip.focus()
    assert page.evaluate("document.activeElement.textContent") == "Tip the DJ"


def test_health_reports_the_database_revision(served_app):
    response = httpx.get(served_app.url("/api/health"), timeout=10)
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["database_revision"] != "base"

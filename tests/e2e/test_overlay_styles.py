"""Every overlay in every preset, in Chromium at the size the admin page tells OBS (issue 19, item 2):
the page is transparent around the overlay's cards, the stage is exactly that size, and
the cards wear the preset's colours. With `sound=on` an alert plays the shipped chime at
the asked volume; without it, nothing plays."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

import cozykart.ui.pages  # noqa: F401  (declares every overlay)
from cozykart.domain.overlay_style import PRESETS, Theme, parse_overlay_style
from cozykart.ui import routes
from cozykart.ui.pages.overlays import CHIME_URL, OVERLAYS
from tests.e2e.test_live_pot import _post_sale
from tests.png_pixels import alpha_at, rgba_rows

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
CARD_TIMEOUT_MS = 10_000
TRANSPARENT = "rgba(0, 0, 0, 0)"
ANIMATION_MS = 1_200  # assets/cozykart.css: the alert is fully shown from 8% of its 9 s
# Records what the page asks to play, instead of asking headless Chromium's speakers.
RECORD_PLAYS_JS = """
window.__plays = [];
HTMLMediaElement.prototype.play = function () {
  window.__plays.push({src: this.src, volume: this.volume});
  return Promise.resolve();
};
"""


def _rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def _open(browser, served_app, route: str, query: str) -> Page:
    spec = OVERLAYS[route]
    context = browser.new_context(viewport={"width": spec.width_px, "height": spec.height_px})
    page = context.new_page()
    page.add_init_script(RECORD_PLAYS_JS)
    page.goto(served_app.url(f"{route}?{query}"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("overlay-stage")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    return page


def _give_the_live_race_a_goal(served_app) -> None:
    """The goal overlay paints only while the live race has a goal: an admin sets one above the pot."""
    from cozykart.db.engine import create_db_engine
    from cozykart.db.uow import UnitOfWork
    from cozykart.services import league, pot_goals
    from cozykart.services.handlers import HANDLERS
    from cozykart.services.reads.pot import live_pot
    from cozykart.settings import Settings
    from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID

    engine = create_db_engine(served_app.db_url)
    try:
        pot = live_pot(uow=UnitOfWork(engine, handlers=HANDLERS))
        if pot.race is None or pot.goal is not None:
            return
        settings = Settings(db_url=served_app.db_url, admin_discord_ids=frozenset({E2E_ADMIN_DISCORD_ID}))
        admin = league.get_or_create_racer(
            E2E_ADMIN_DISCORD_ID, "boss", "Boss", None, uow=UnitOfWork(engine, handlers=HANDLERS)
        )
        goal_text = str(pot.pot_cents // 100 + 100)
        pot_goals.set_race_goal(
            pot.race.race_id,
            goal_text,
            actor_id=admin.racer_id,
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
        )
    finally:
        engine.dispose()


def _show_a_card(page: Page, served_app, route: str) -> None:
    """The alerts overlay paints only while an alert shows: a sale makes one. The others always have a card."""
    if route == routes.ALERTS_OVERLAY:
        page.wait_for_timeout(500)  # its player has joined the feed
        _post_sale(served_app, 1500, "Preset Fan")
    if route == routes.GOAL_OVERLAY:
        _give_the_live_race_a_goal(served_app)
        page.reload()  # set behind the app's back (no push): the overlay reads it on opening
    expect(page.locator(".ck-card").first).to_be_visible(timeout=CARD_TIMEOUT_MS)
    page.wait_for_timeout(ANIMATION_MS)  # an alert pops in, then stays fully shown


def _most_opaque(rows: list[bytes], box: dict[str, float]) -> int:
    xs = range(int(box["x"]), min(int(box["x"] + box["width"]), len(rows[0]) // 4))
    ys = range(int(box["y"]), min(int(box["y"] + box["height"]), len(rows)))
    return max(alpha_at(rows, x, y) for y in ys for x in xs)


def test_every_overlay_route_is_described_with_its_obs_size():
    overlay_routes = {
        value for name, value in vars(routes).items() if name.isupper() and "/overlay/" in str(value)
    }
    assert overlay_routes and overlay_routes == set(OVERLAYS)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("route", sorted(OVERLAYS))
def test_each_overlay_renders_transparent_at_its_size_in_each_preset(
    browser, served_app, overlay_key, route, preset
):
    spec = OVERLAYS[route]
    look = parse_overlay_style({"preset": preset}, width_px=spec.width_px, height_px=spec.height_px)
    page = _open(browser, served_app, route, f"key={overlay_key}&preset={preset}")
    try:
        _show_a_card(page, served_app, route)
        stage = page.get_by_test_id("overlay-stage").bounding_box()
        assert (stage["x"], stage["y"], stage["width"], stage["height"]) == (
            0,
            0,
            spec.width_px,
            spec.height_px,
        )
        for selector in ("html", "body", ".cozykart-overlay"):
            background = page.evaluate(
                f"getComputedStyle(document.querySelector({selector!r})).backgroundColor"
            )
            assert background == TRANSPARENT, (selector, background)
        card = page.locator(".ck-card").first
        painted = card.evaluate("element => getComputedStyle(element).backgroundColor")
        assert painted == (TRANSPARENT if look.theme is Theme.TRANSPARENT else _rgb(look.background))
        accent = page.locator(".ck-accent").first.evaluate("element => getComputedStyle(element).color")
        assert accent == _rgb(look.accent)
        card_box = card.bounding_box()  # now: an alert leaves after a few seconds
        rows = rgba_rows(page.screenshot(omit_background=True))
        assert (len(rows[0]) // 4, len(rows)) == (spec.width_px, spec.height_px)
        # The stage's far corner (beyond the cards and their glow): nothing painted, OBS shows the scene.
        assert alpha_at(rows, spec.width_px - 2, spec.height_px - 2) == 0
        assert _most_opaque(rows, card_box) == 255  # the card's panel or text is drawn, fully
    finally:
        page.context.close()


def test_a_size_and_colours_from_the_url_are_applied(browser, served_app, overlay_key):
    page = _open(
        browser, served_app, routes.POT_OVERLAY, f"key={overlay_key}&width=400&height=130&accent=00ff88"
    )
    try:
        stage = page.get_by_test_id("overlay-stage").bounding_box()
        assert (stage["width"], stage["height"]) == (400, 130)
        expect(page.get_by_test_id("pot-amount")).to_have_css("color", "rgb(0, 255, 136)")
    finally:
        page.context.close()


def test_an_alert_plays_the_chime_only_when_sound_is_on(browser, served_app, overlay_key):
    assert httpx.get(served_app.url(CHIME_URL), timeout=10).headers["content-type"].startswith("audio/")
    loud = _open(browser, served_app, routes.ALERTS_OVERLAY, f"key={overlay_key}&sound=on&volume=40")
    quiet = _open(browser, served_app, routes.ALERTS_OVERLAY, f"key={overlay_key}")
    try:
        loud.wait_for_timeout(500)
        _post_sale(served_app, 1200, "Chime Fan")
        for page in (loud, quiet):
            expect(page.get_by_test_id("overlay-alert")).to_be_visible(timeout=CARD_TIMEOUT_MS)
        loud.wait_for_function("() => window.__plays.length > 0", timeout=CARD_TIMEOUT_MS)
        plays = loud.evaluate("window.__plays")
        assert (
            len(plays) == 1
            and plays[0]["src"].endswith(CHIME_URL)
            and plays[0]["volume"] == pytest.approx(0.4)
        )
        assert quiet.evaluate("window.__plays") == []
    finally:
        loud.context.close()
        quiet.context.close()

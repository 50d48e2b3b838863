"""Pot goals in a real browser, end to end: an admin sets the live race's goal on /lobby, a signed
Stripe webhook pushes the pot past it, /overlay/goal fills to 100%, /overlay/alerts pops the
celebration (after the sale's own alert) and the Watch page shows the banner; it is announced once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from cozykart.db.engine import create_db_engine
from cozykart.db.pot_goal_tables import PotGoalReached
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.services import outbox
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.pot import LivePot, live_pot
from cozykart.settings import PROJECT_ROOT
from cozykart.ui.pages.overlays import ALERT_GAP_S, ALERT_SHOW_S
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID
from tests.e2e.test_live_pot import _post_sale
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
PUSH_TIMEOUT_MS = 5_000
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="goal_boss", global_name="Goal Boss", avatar=None)
GOAL_ABOVE_POT_CENTS = 1000  # the goal is set about $10 above the pot
SALE_CENTS = 10_000  # 20% of it ($20.00) goes to the pool: past the goal
TRANSPARENT = {"rgba(0, 0, 0, 0)", "transparent"}


def _read_pot(served_app) -> LivePot:
    engine = create_db_engine(served_app.db_url)
    try:
        return live_pot(uow=UnitOfWork(engine, handlers=HANDLERS))
    finally:
        engine.dispose()


def _celebrations(served_app, race_id: int) -> tuple[int, int]:
    """(pot_goal_reached rows of the race, pot_goal announcements queued)."""
    engine = create_db_engine(served_app.db_url)
    try:
        uow = UnitOfWork(engine, handlers=HANDLERS)
        with uow:
            rows = (
                uow.session.connection()
                .execute(
                    select(func.count()).select_from(PotGoalReached).where(PotGoalReached.race_id == race_id)
                )
                .scalar_one()
            )
        messages = [
            row
            for row in outbox.list_outbox(uow=UnitOfWork(engine, handlers=HANDLERS))
            if row.kind == "pot_goal"
        ]
        return rows, len(messages)
    finally:
        engine.dispose()


def _log_in_as_admin(page, served_app, fake_discord_server) -> None:
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )
    fake_discord_server.user = ADMIN
    page.goto(served_app.url("/auth/discord/login?next=/lobby"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("account-name")).to_have_text(ADMIN.global_name, timeout=PAGE_TIMEOUT_MS)


def _set_goal(page, text: str) -> None:
    form = page.get_by_test_id("goal-form")
    expect(form).to_have_count(1, timeout=PAGE_TIMEOUT_MS)  # the live race's card only
    form.get_by_test_id("goal-input").fill(text)
    form.get_by_test_id("goal-button").click()


def _toast(page, words: str):
    """The toast saying `words` (toasts stack: an earlier one may still be on screen)."""
    return page.locator("[data-sonner-toast]").filter(has_text=words)


def _open_overlay(browser, served_app, path: str):
    overlay = browser.new_context().new_page()
    overlay.goto(served_app.url(path), timeout=PAGE_TIMEOUT_MS)
    overlay.wait_for_function(
        "() => document.querySelector('[data-testid=overlay-locked]') === null", timeout=PAGE_TIMEOUT_MS
    )
    return overlay


def test_an_admin_sets_a_goal_a_signed_sale_reaches_it_and_every_screen_celebrates_once(
    served_app, fake_discord_server, browser, overlay_key
):
    before = _read_pot(served_app)
    assert before.race is not None, "the demo has a live race"
    assert before.goal is None or not before.goal.reached, "this test reaches the live race's goal first"
    goal_cents = (before.pot_cents + GOAL_ABOVE_POT_CENTS) // 100 * 100 + 100
    goal_text = format_cents(goal_cents)

    admin = browser.new_context().new_page()
    overlay_pages = []
    try:
        _log_in_as_admin(admin, served_app, fake_discord_server)
        _set_goal(admin, "ten dollars")
        expect(_toast(admin, "is not an amount")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        assert _read_pot(served_app).goal == before.goal  # refused: nothing changed
        _set_goal(admin, f"{goal_cents // 100}")
        done = _toast(admin, f"Pot goal of {before.race.name}: {goal_text}")
        expect(done).to_be_visible(timeout=PAGE_TIMEOUT_MS)

        goal_overlay = _open_overlay(browser, served_app, f"/overlay/goal?key={overlay_key}")
        alerts = _open_overlay(browser, served_app, f"/overlay/alerts?key={overlay_key}")
        watch = browser.new_context().new_page()
        overlay_pages = [goal_overlay, alerts, watch]
        watch.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
        amounts = goal_overlay.get_by_test_id("goal-amounts")
        expect(amounts).to_contain_text(
            f"{format_cents(before.pot_cents)} of {goal_text}", timeout=PAGE_TIMEOUT_MS
        )
        assert goal_overlay.evaluate("getComputedStyle(document.body).backgroundColor") in TRANSPARENT
        expect(goal_overlay.get_by_test_id("goal-done")).to_have_count(0)
        expect(watch.get_by_test_id("goal-bar")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        expect(watch.get_by_test_id("goal-banner")).to_have_count(0)
        alerts.wait_for_timeout(500)
        assert alerts.get_by_test_id("overlay-alert").count() == 0

        _post_sale(served_app, SALE_CENTS, "Gina")

        after_cents = before.pot_cents + SALE_CENTS // 5
        expect(amounts).to_contain_text(
            f"{format_cents(after_cents)} of {goal_text} · 100%", timeout=PUSH_TIMEOUT_MS
        )
        expect(goal_overlay.get_by_test_id("goal-progress")).to_have_attribute("aria-valuenow", "100")
        expect(goal_overlay.get_by_test_id("goal-done")).to_be_visible()
        alert = alerts.get_by_test_id("overlay-alert")
        expect(alert).to_contain_text("Gina bought Rainbow Road hoodie", timeout=PUSH_TIMEOUT_MS)
        expect(alert).to_contain_text(
            "Pot goal reached!", timeout=int((ALERT_SHOW_S + ALERT_GAP_S) * 1000) + PUSH_TIMEOUT_MS
        )
        expect(alert).to_contain_text(f"{before.race.name} hit its goal of {goal_text}")
        expect(watch.get_by_test_id("goal-banner")).to_contain_text(
            "Pot goal reached!", timeout=PUSH_TIMEOUT_MS
        )
        assert _celebrations(served_app, before.race.race_id) == (1, 1)

        # Another sale is alerted, but the goal is never celebrated twice.
        _post_sale(served_app, SALE_CENTS, "Hugo")
        expect(alert).to_contain_text(
            "Hugo bought Rainbow Road hoodie",
            timeout=int((ALERT_SHOW_S + ALERT_GAP_S) * 1000) + PUSH_TIMEOUT_MS,
        )
        alerts.wait_for_timeout(int((ALERT_SHOW_S + ALERT_GAP_S) * 1000) + 500)
        expect(alert).to_have_count(0)
        assert _celebrations(served_app, before.race.race_id) == (1, 1)
    finally:
        admin.context.close()
        for opened in overlay_pages:
            opened.context.close()


def test_an_admin_sets_the_seasons_default_goal_on_the_seasons_console(
    served_app, fake_discord_server, browser
):
    admin = browser.new_context().new_page()
    try:
        _log_in_as_admin(admin, served_app, fake_discord_server)
        admin.goto(served_app.url("/admin/seasons"), timeout=PAGE_TIMEOUT_MS)
        row = admin.get_by_test_id("season-row").filter(has=admin.get_by_test_id("season-goal-input")).first
        expect(row).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        row.get_by_test_id("season-goal-input").fill("0")
        row.get_by_test_id("season-goal-button").click()
        expect(_toast(admin, "must be positive")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        expect(row.get_by_test_id("season-goal")).to_have_count(0)
        row.get_by_test_id("season-goal-input").fill("100000")  # far above any pot of the shared demo
        row.get_by_test_id("season-goal-button").click()
        expect(row.get_by_test_id("season-goal")).to_have_text(
            "Pot goal: $100,000.00", timeout=PAGE_TIMEOUT_MS
        )
    finally:
        admin.context.close()

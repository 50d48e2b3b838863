"""A race's public receipt in a real browser (issue 17, items 5 and 6), on the production build.

A race of the demo league runs on its own served app (its own database: the
shared app's demo race stays live for the other tests): it goes live, a signed
Stripe sale arrives by webhook while it is live, it ends and its host sets the
results. Then, in Chromium set to Tokyo's time zone, the receipt shows the pot
(20% of the sale), every racer's share, that the shares add up to the pot, the
sale with the fan's chosen name and its time in Tokyo time (the UTC instant in
its title); the lobby's "Last race", the racer's history, the standings' chart
and the Discord announcement all link to it; an unknown race is a clear page.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.integrations import stripe_payments
from cozykart.services import league, outbox
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.race_receipt import race_receipt
from cozykart.settings import PROJECT_ROOT, load_settings
from cozykart.ui import routes
from tests.e2e.conftest import (
    STRIPE_WEBHOOK_SECRET,
    ServedApp,
    _app_env,
    _discord_env,
    _run_cli,
    screenshot_dir,
    serve_production,
)

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
SITE_URL = "https://kart.example"
VIEWER_ZONE = "Asia/Tokyo"  # UTC+9, no daylight saving: a time there is never the UTC one
RACE_NAME = "Receipt Cup"
FAN_NAME = "Receipt Fan"
SALE_AHEAD_S_MAX = 10  # the fixture's sale is about 3 s after the fixture ran
CARDHOLDER = "Cardholder Private"
SALE_CENTS = 5_000
RACER_COUNT = 4


@pytest.fixture(scope="module")
def receipt_app(tmp_path_factory: pytest.TempPathFactory, fake_discord_server) -> Iterator[ServedApp]:
    workdir = tmp_path_factory.mktemp("race-receipt-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-race-receipt"
    env = _app_env(
        db_url,
        workdir / "states",
        {**_discord_env(fake_discord_server), "REFLEX_WEB_WORKDIR": web_dir, "COZYKART_SITE_URL": SITE_URL},
    )
    _run_cli(env, "migrate")
    _run_cli(env, "seed-demo")
    with serve_production(env, db_url, workdir) as app:
        yield app


@pytest.fixture(scope="module")
def db(receipt_app) -> Iterator[UnitOfWork]:
    """Units of work with the served app's own settings (its COZYKART_SITE_URL: the announcement's link)."""
    engine = create_db_engine(receipt_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS, settings=load_settings(receipt_app.env))
    finally:
        engine.dispose()


def _post_sale(app: ServedApp, sold_at: datetime) -> None:
    token = uuid.uuid4().hex[:12]
    body = json.dumps(
        stripe_payments.checkout_completed_event(
            event_id=f"evt_{token}",
            session_id=f"cs_{token}",
            payment_intent=f"pi_{token}",
            amount_cents=SALE_CENTS,
            currency="usd",
            created=int(sold_at.timestamp()),
            metadata={"item": "Rainbow Road hoodie", "fan_name": FAN_NAME},
            customer_name=CARDHOLDER,
        )
    )
    response = httpx.post(
        app.url("/api/webhooks/stripe"),
        content=body,
        timeout=10,
        headers={"Stripe-Signature": stripe_payments.sign(body, STRIPE_WEBHOOK_SECRET)},
    )
    assert response.json()["status"] == "applied", response.text


@pytest.fixture(scope="module")
def final_race(receipt_app, db) -> tuple[int, datetime]:
    """The demo's live race ends; a new one runs with a sale and is made final. (race id, sale time)"""
    demo = league.current_race(uow=db)
    assert demo is not None and demo.is_live, "the demo has a live race"
    host_id = demo.host.racer_id
    # Commission windows never overlap: the new race starts after the demo's ended.
    ended_demo_at = datetime.now(UTC)
    league.end_race(demo.race_id, actor_id=host_id, uow=db, now=ended_demo_at)
    demo_ids = [card.racer_id for card in demo.racers]
    league.set_results(demo.race_id, {r: n + 1 for n, r in enumerate(demo_ids)}, actor_id=host_id, uow=db)
    racer_ids = demo_ids[:RACER_COUNT]
    started_at = ended_demo_at + timedelta(seconds=1)
    race = league.open_lobby(RACE_NAME, actor_id=host_id, uow=db, now=ended_demo_at)
    for racer_id in racer_ids:
        league.join_lobby(race.race_id, actor_id=racer_id, uow=db, now=ended_demo_at)
    league.start_race(race.race_id, actor_id=host_id, uow=db, now=started_at)
    sold_at = (started_at + timedelta(seconds=2)).replace(
        microsecond=0
    )  # whole seconds, as Stripe's `created`
    _post_sale(receipt_app, sold_at)
    ended_at = started_at + timedelta(seconds=5)
    league.end_race(race.race_id, actor_id=host_id, uow=db, now=ended_at)
    table = {racer_id: n + 1 for n, racer_id in enumerate(racer_ids)}
    league.set_results(race.race_id, table, actor_id=host_id, uow=db, now=ended_at)
    return race.race_id, sold_at


def _money_of(text: str) -> int:
    match = re.fullmatch(r"\$(\d+)\.(\d\d)", text.strip())
    assert match, text
    return int(match.group(1)) * 100 + int(match.group(2))


def test_the_receipt_adds_up_and_shows_times_in_the_viewers_zone(
    receipt_app, browser, db, final_race, tmp_path
):
    race_id, sold_at = final_race
    receipt = race_receipt(race_id, uow=db, now=datetime.now(UTC))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=VIEWER_ZONE)
    try:
        page = context.new_page()
        page.goto(receipt_app.url(routes.race_path(race_id)), timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("receipt-race-name")).to_have_text(RACE_NAME, timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("receipt-status")).to_have_text("final")

        pot_cents = SALE_CENTS * 2000 // 10_000  # the default commission, 20%, floored
        expect(page.get_by_test_id("receipt-pot")).to_have_text(format_cents(pot_cents))
        expect(page.get_by_test_id("receipt-pot-in")).to_have_text(format_cents(pot_cents))
        rows = page.get_by_test_id("receipt-result")
        expect(rows).to_have_count(RACER_COUNT)
        shares = [_money_of(rows.nth(n).locator("td").last.inner_text()) for n in range(RACER_COUNT)]
        assert sum(shares) == pot_cents == receipt.pot_cents
        assert shares == [result.share_cents for result in receipt.results]
        expect(page.get_by_test_id("receipt-adds-up")).to_have_text(
            f"Shares {format_cents(pot_cents)} + still in the pot $0.00 = the pot {format_cents(pot_cents)}"
        )
        expect(rows.first).to_contain_text("#1")
        expect(rows.first).to_contain_text("15")  # the default points table's winner

        sale = page.get_by_test_id("receipt-sale")
        expect(sale).to_have_count(1)
        expect(sale).to_contain_text(FAN_NAME)
        expect(sale).to_contain_text("Rainbow Road hoodie")
        expect(sale).to_contain_text(format_cents(SALE_CENTS))
        assert CARDHOLDER not in page.content()
        # The sale's time in Tokyo, and the UTC instant on hover.
        when = sale.get_by_test_id("local-time")
        expect(when).to_have_text(sold_at.astimezone(ZoneInfo(VIEWER_ZONE)).strftime("%H:%M:%S"))
        assert sold_at.astimezone(ZoneInfo(VIEWER_ZONE)).hour != sold_at.hour
        expect(when).to_have_attribute("title", sold_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
        page.screenshot(path=str(screenshot_dir(tmp_path) / "race-receipt-tokyo.png"), full_page=True)

        # The Watch feed says how long ago, refreshed, with the UTC instant on hover. The fixture's
        # race starts a second from now and its sale two seconds later: until that instant has
        # passed the feed rightly says "in a few seconds", and its next refresh is
        # AGO_REFRESH_MS away, so the page is opened once the sale is in the past.
        time.sleep(max(0.0, min(SALE_AHEAD_S_MAX, (sold_at - datetime.now(UTC)).total_seconds() + 1)))
        page.goto(receipt_app.url(routes.WATCH), timeout=PAGE_TIMEOUT_MS)
        line = page.get_by_test_id("feed-line").filter(has_text=FAN_NAME)
        ago = line.get_by_test_id("feed-ago")
        expect(ago).to_have_text(re.compile(r"(seconds?|minutes?) ago$"), timeout=PAGE_TIMEOUT_MS)
        expect(ago).to_have_attribute("title", sold_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    finally:
        context.close()


def test_the_lobby_the_profile_and_the_standings_link_the_receipt(receipt_app, browser, db, final_race):
    race_id, _sold_at = final_race
    receipt = race_receipt(race_id, uow=db, now=datetime.now(UTC))
    path = routes.race_path(race_id)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(receipt_app.url(routes.LOBBY), timeout=PAGE_TIMEOUT_MS)
        last = page.get_by_test_id("last-race")
        expect(last).to_contain_text(RACE_NAME, timeout=PAGE_TIMEOUT_MS)
        expect(last.get_by_test_id("last-race-row")).to_have_count(RACER_COUNT)
        expect(last.get_by_test_id("last-race-row").first).to_contain_text(
            format_cents(receipt.results[0].share_cents)
        )
        last.get_by_test_id("last-race-receipt-link").click()
        expect(page).to_have_url(receipt_app.url(path), timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("receipt-race-name")).to_have_text(RACE_NAME, timeout=PAGE_TIMEOUT_MS)

        page.goto(receipt_app.url(routes.racer_path(receipt.results[0].racer_id)), timeout=PAGE_TIMEOUT_MS)
        history_link = page.get_by_test_id("history-race-link").filter(has_text=RACE_NAME)
        expect(history_link).to_have_attribute("href", path, timeout=PAGE_TIMEOUT_MS)

        page.goto(receipt_app.url(routes.STANDINGS), timeout=PAGE_TIMEOUT_MS)
        chart_link = page.get_by_test_id("chart-race-link").filter(has_text=RACE_NAME)
        expect(chart_link).to_have_attribute("href", path, timeout=PAGE_TIMEOUT_MS)
        expect(chart_link).to_contain_text(re.compile(r"^R\d+ "))
        # The chart's x axis names the races (R1, R2...) and its lines step between them: no curves.
        axis = page.get_by_test_id("points-chart").locator("svg")
        expect(axis.get_by_text("R1", exact=True).first).to_be_visible()
        expect(axis.get_by_text("R2", exact=True).first).to_be_visible()
        curves = page.locator("path.recharts-line-curve")
        expect(curves.first).to_be_visible()
        for n in range(curves.count()):
            d = curves.nth(n).get_attribute("d") or ""
            assert d.startswith("M") and "C" not in d, d  # a monotone line is drawn with cubic Béziers (C)
    finally:
        context.close()
    (announcement,) = [
        row
        for row in outbox.list_outbox(uow=db)
        if row.kind == "race_results" and RACE_NAME in json.dumps(row.message)
    ]
    assert f"]({SITE_URL}{path})" in json.dumps(announcement.message)


def test_an_unknown_race_is_a_clear_page(receipt_app, page):
    page.goto(receipt_app.url(routes.race_path(987_654)), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("race-missing")).to_have_text("No such race", timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text("987654")).to_be_visible()

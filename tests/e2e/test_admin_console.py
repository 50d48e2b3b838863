"""The admin console in a real browser: money settings, seasons and result fixes.

These tests run against their own served app (production build, one port on
127.0.0.1) on a fresh database with no demo league, because activating a season
needs a league without an active one, and the shared demo app's season must stay
active for the other browser tests. Its frontend builds into its own directory
(COZYKART_E2E_WEB_DIR + "-admin-console"), so it never rewrites the build the
shared app serves. Screenshots go to COZYKART_SCREENSHOT_DIR like the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cozykart.db.engine import create_db_engine
from cozykart.db.money_settings_tables import MoneySettingChange
from cozykart.db.tables import Racer
from cozykart.db.uow import UnitOfWork
from cozykart.services import league, ledger, seasons
from cozykart.services.handlers import HANDLERS
from cozykart.settings import PROJECT_ROOT, load_settings
from cozykart.ui.pages.admin_seasons import SeasonsAdminState
from cozykart.ui.pages.admin_settings import MoneySettingsState
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.conftest import (
    E2E_ADMIN_DISCORD_ID,
    ServedApp,
    _app_env,
    _discord_env,
    _run_cli,
    screenshot_dir,
    serve_production,
)
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()
REFUSAL = "Only a league admin can do that."
PHONE = {"width": 390, "height": 844}
PHONE_SETTLE_MS = 500

ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
PLAIN = FakeUser(id="80351110224670999", username="plain_pat", global_name="Pat", avatar=None)

# Keeps the browser's socket objects so a test can send a hand-made event on one.
SOCKET_SPY = """
(() => {
  const Original = window.WebSocket;
  class Spied extends Original {
    constructor(...args) { super(...args); (window.__cozySockets ||= []).push(this); }
  }
  window.WebSocket = Spied;
})();
"""


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def console_app(tmp_path_factory: pytest.TempPathFactory, fake_discord_server) -> Iterator[ServedApp]:
    workdir = tmp_path_factory.mktemp("admin-console-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-admin-console"
    env = _app_env(
        db_url, workdir / "states", {**_discord_env(fake_discord_server), "REFLEX_WEB_WORKDIR": web_dir}
    )
    _run_cli(env, "migrate")
    with serve_production(env, db_url, workdir) as app:
        yield app


@pytest.fixture
def db(console_app) -> Iterator[UnitOfWork]:
    engine = create_db_engine(console_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS)
    finally:
        engine.dispose()


def _open_as(page, app: ServedApp, fake_discord_server, user: FakeUser, path: str) -> None:
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )
    fake_discord_server.user = user
    page.goto(app.url(path), timeout=PAGE_TIMEOUT_MS)


def _racer_id(db: UnitOfWork, discord_id: str) -> int:
    with db:
        return (
            db.session.connection()
            .execute(select(Racer.__table__.c.id).where(Racer.__table__.c.discord_id == discord_id))
            .scalar_one()
        )


def _changes(db: UnitOfWork) -> list:
    with db:
        return (
            db.session.connection()
            .execute(select(MoneySettingChange.__table__).order_by(MoneySettingChange.id))
            .all()
        )


def _assert_fits_a_phone(page) -> None:
    """At phone width the page scrolls down, never sideways."""
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(PHONE_SETTLE_MS)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0


def _toast(page):
    return page.locator("[data-sonner-toast]")


def test_an_admin_changes_the_commission_rate_with_a_reason_and_the_audit_row_appears(
    console_app, fake_discord_server, page, db, tmp_path
):
    expect = _expect()
    _open_as(page, console_app, fake_discord_server, ADMIN, "/admin/settings")
    commission = page.get_by_test_id("setting-commission_rate_bps")
    expect(commission.get_by_test_id("setting-value")).to_have_text(
        "20.00% (2000 bps)", timeout=PAGE_TIMEOUT_MS
    )
    expect(commission.get_by_test_id("setting-source")).to_have_text(
        "Environment default (COZYKART_COMMISSION_RATE_BPS)"
    )
    expect(page.get_by_test_id("settings-audit-empty")).to_be_visible()

    # A bad value is refused with the service's message and changes nothing.
    commission.get_by_test_id("setting-new-value").fill("150")
    commission.get_by_test_id("setting-reason").fill("way too much")
    commission.get_by_test_id("setting-change").click()
    # Said once, beside that setting's form (no toast), and what was typed stays.
    expect(commission.get_by_test_id("setting-error")).to_contain_text(
        "Commission rate must be between 0.00% (0 bps) and 100.00%", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("setting-error")).to_have_count(1)
    expect(_toast(page)).to_have_count(0)
    expect(commission.get_by_test_id("setting-new-value")).to_have_value("150")
    expect(commission.get_by_test_id("setting-reason")).to_have_value("way too much")
    assert _changes(db) == []

    commission.get_by_test_id("setting-new-value").fill("25")
    commission.get_by_test_id("setting-reason").fill("Bigger pots for the winter cup")
    click_and_confirm(page, commission.get_by_test_id("setting-change"))

    expect(commission.get_by_test_id("setting-value")).to_have_text(
        "25.00% (2500 bps)", timeout=PAGE_TIMEOUT_MS
    )
    expect(commission.get_by_test_id("setting-source")).to_contain_text("Changed by Boss at ")
    expect(commission.get_by_test_id("setting-error")).to_have_count(0)
    expect(commission.get_by_test_id("setting-new-value")).to_have_value("")  # done: the form is cleared
    rows = page.get_by_test_id("setting-change-row")
    expect(rows).to_have_count(1)
    for words in (
        "Commission rate",
        "20.00% (2000 bps)",
        "25.00% (2500 bps)",
        "Boss",
        "Bigger pots for the winter cup",
    ):
        expect(rows.first).to_contain_text(words)
    (change,) = _changes(db)
    assert (change.name, change.old_value, change.new_value) == ("commission_rate_bps", 2000, 2500)
    with UnitOfWork(db.engine, handlers=HANDLERS, settings=load_settings(console_app.env)) as uow:
        assert uow.settings.commission_rate_bps == 2500
    page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-settings-changed.png"), full_page=True)
    _assert_fits_a_phone(page)


def test_an_admin_creates_and_activates_a_season(console_app, fake_discord_server, page, db, tmp_path):
    expect = _expect()
    _open_as(page, console_app, fake_discord_server, ADMIN, "/admin/seasons")
    expect(page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

    # A refused season is said beside the form once, and every field keeps what was typed.
    page.get_by_test_id("season-name").fill("Winter Cup E2E")
    page.get_by_test_id("season-points").fill("20, lots, 10")
    page.get_by_test_id("season-create").click()
    expect(page.get_by_test_id("season-error")).to_contain_text(
        "Write the points table as whole numbers", timeout=PAGE_TIMEOUT_MS
    )
    expect(_toast(page)).to_have_count(0)
    expect(page.get_by_test_id("season-name")).to_have_value("Winter Cup E2E")
    expect(page.get_by_test_id("season-points")).to_have_value("20, lots, 10")

    page.get_by_test_id("season-sponsor").fill("Cozy Threads")
    page.get_by_test_id("season-banner").fill("/sponsor-banner.png")
    page.get_by_test_id("season-points").fill("20, 15, 10, 5")
    page.get_by_test_id("season-split").select_option("winner_bonus")
    page.get_by_test_id("season-bonus").fill("40")
    page.get_by_test_id("season-create").click()

    row = page.get_by_test_id("season-row").filter(has_text="Winter Cup E2E")
    expect(row.get_by_test_id("season-status")).to_have_text("upcoming", timeout=PAGE_TIMEOUT_MS)
    expect(row).to_contain_text("Cozy Threads")
    expect(row).to_contain_text("Winner's bonus, the rest even (40.00% to the winner)")
    expect(row).to_contain_text("Points: 20, 15, 10, 5")

    row.get_by_test_id("season-activate").click()
    expect(row.get_by_test_id("season-status")).to_have_text("active", timeout=PAGE_TIMEOUT_MS)
    expect(row.get_by_test_id("season-close")).to_be_visible()
    active = seasons.active_season(uow=db)
    assert (active.name, active.split_policy, active.winner_bonus_bps) == (
        "Winter Cup E2E",
        "winner_bonus",
        4000,
    )
    assert active.points_table.default == (20, 15, 10, 5)
    assert active.sponsor_logo_url == "/sponsor-banner.png"
    page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-seasons-activated.png"), full_page=True)
    _assert_fits_a_phone(page)


def _final_race_with_a_sale(db: UnitOfWork, settings, admin_id: int, names: list[str], race_name: str):
    racers = [
        league.get_or_create_racer(f"e2e-{name}", name, name.title(), uow=db).racer_id for name in names
    ]
    # The services read the settings from their unit of work.
    league_uow = UnitOfWork(db.engine, handlers=db.handlers, settings=settings)
    race = league.open_lobby(race_name, actor_id=admin_id, uow=league_uow)
    for racer_id in racers:
        league.join_lobby(race.race_id, actor_id=racer_id, uow=league_uow)
    league.start_race(race.race_id, actor_id=admin_id, uow=league_uow)
    ledger.record_sale(
        key=f"e2e-{race_name}",
        gross_cents=4000,
        sold_at=datetime.now(UTC),
        item="Cozy hoodie",
        uow=league_uow,
    )
    league.end_race(race.race_id, actor_id=admin_id, uow=league_uow)
    return race.race_id, racers


def test_an_admin_previews_and_applies_a_result_fix(console_app, fake_discord_server, page, db, tmp_path):
    expect = _expect()
    settings = load_settings(console_app.env)
    _open_as(page, console_app, fake_discord_server, ADMIN, "/admin/results")
    expect(page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    admin_id = _racer_id(db, ADMIN.id)
    race_id, (ana, ben, cyd) = _final_race_with_a_sale(
        db, settings, admin_id, ["ana", "ben", "cyd"], "Koopa Cape"
    )
    league.set_results(
        race_id,
        {ana: 1, ben: 2, cyd: 3},
        actor_id=admin_id,
        uow=UnitOfWork(db.engine, handlers=db.handlers, settings=settings),
    )
    _final_race_with_a_sale(db, settings, admin_id, ["dot", "eli"], "Waluigi Pinball")  # ended, waiting
    page.reload()

    waiting = page.get_by_test_id("awaiting-race").filter(has_text="Waluigi Pinball")
    expect(waiting).to_contain_text("not reported", timeout=PAGE_TIMEOUT_MS)
    race = page.get_by_test_id("final-race").filter(has_text="Koopa Cape")
    race.get_by_test_id("fix-racer").select_option(label="Cyd")
    race.get_by_test_id("fix-position").fill("1")
    race.get_by_test_id("fix-reason").fill("Photo finish reviewed")
    race.get_by_test_id("fix-preview").click()

    preview = page.get_by_test_id("fix-preview-panel")
    expect(preview.get_by_test_id("fix-change-row")).to_have_count(3, timeout=PAGE_TIMEOUT_MS)
    expect(preview.get_by_test_id("fix-change-row").filter(has_text="Cyd")).to_contain_text("P3 → P1")
    expect(preview).to_contain_text("of this race's pot; it is split again by the new results")
    assert league.get_race(race_id, uow=db).entry_of(cyd).position == 3  # a preview changes nothing

    page.get_by_test_id("fix-apply").click()
    outcome = page.get_by_test_id("fix-outcome-panel")
    expect(outcome.get_by_test_id("fix-change-row").filter(has_text="Cyd")).to_contain_text(
        "P3 → P1", timeout=PAGE_TIMEOUT_MS
    )
    expect(outcome.get_by_test_id("fix-outcome-note")).to_contain_text("The ledger moved")
    fixed = league.get_race(race_id, uow=db)
    assert [fixed.entry_of(r).position for r in (cyd, ana, ben)] == [1, 2, 3]
    assert {fix.reason for fix in fixed.fixes} == {"Photo finish reviewed"}
    page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-results-fixed.png"), full_page=True)

    # The waiting race: the admin sets the whole table, and it moves to the final races.
    positions = waiting.get_by_test_id("set-position")
    positions.nth(0).fill("2")
    positions.nth(1).fill("1")
    click_and_confirm(page, waiting.get_by_test_id("set-results"))
    expect(page.get_by_test_id("awaiting-empty")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("final-race").filter(has_text="Waluigi Pinball")).to_contain_text("P1")
    pinball = next(
        race for race in league.list_races(uow=db, statuses=("final",)) if race.name == "Waluigi Pinball"
    )
    assert {entry.racer.name: entry.position for entry in pinball.entries} == {"Dot": 2, "Eli": 1}
    _assert_fits_a_phone(page)


def _forge(page, event_name: str, payload: dict) -> None:
    """Send `event_name` on the page's own socket, as a tampered browser could."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: frames.append(str(frame))))
    page.reload()
    _expect()(page.get_by_test_id("admin-refusal")).to_have_text(REFUSAL, timeout=PAGE_TIMEOUT_MS)
    # A Socket.IO event packet on the state namespace: 42/_event,["event",{"name": ..., ...}]
    template = next(frame for frame in frames if frame.startswith("42") and '["event",' in frame)
    prefix, body = template[: template.index("[")], json.loads(template[template.index("[") :])
    body[1] = {**body[1], "name": event_name, "payload": payload}
    page.evaluate("frame => window.__cozySockets.at(-1).send(frame)", prefix + json.dumps(body))


def test_a_racer_is_refused_at_the_console_and_a_forged_event_changes_nothing(
    console_app, fake_discord_server, page, db
):
    expect = _expect()
    page.add_init_script(SOCKET_SPY)
    _open_as(page, console_app, fake_discord_server, PLAIN, "/admin/settings")
    expect(page.get_by_test_id("admin-refusal")).to_have_text(REFUSAL, timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("admin-nav")).to_have_count(0)
    expect(page.get_by_test_id("setting-change")).to_have_count(0)
    changes_before = _changes(db)
    seasons_before = seasons.list_seasons(uow=db)

    _forge(
        page,
        f"{MoneySettingsState.get_full_name()}.change",
        {"form": {"name": "commission_rate_bps", "value": "99", "reason": "forged by a racer"}},
    )
    expect(_toast(page).filter(has_text=REFUSAL)).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    _forge(
        page,
        f"{SeasonsAdminState.get_full_name()}.create",
        {"form": {"name": "Forged Cup", "starts_on": "2026-12-01", "ends_on": "2026-12-31"}},
    )
    expect(_toast(page).filter(has_text=REFUSAL)).to_have_count(1, timeout=PAGE_TIMEOUT_MS)

    assert _changes(db) == changes_before
    assert seasons.list_seasons(uow=db) == seasons_before
    with UnitOfWork(db.engine, handlers=HANDLERS, settings=load_settings(console_app.env)) as uow:
        assert uow.settings.commission_rate_bps != 9900

"""A racer's evening in a real browser, logged in with the developer login.

The developer login only exists where COZYKART_DEV_LOGIN=1, and the app
refuses to start with it in production mode. So this journey runs against the
app as `scripts/demo` serves it (Reflex's dev mode, `served_dev_app`, its own
fresh demo database), and a last test checks the production build the other
browser tests share has no developer login at all.

Two browser contexts, two people: a host (Priya, a demo host) opens a lobby and
joins it; a racer (Kai) logs in and joins too; the host starts the race and
ends it; Kai reports his finish. Each page sees the other's moves without
reloading (the lobby re-reads its board every few seconds). The host claims
the same place, so the race is disputed on both pages; the host rules with the
whole table, and the final race shows up on Kai's profile.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from cozykart.db.engine import create_db_engine
from cozykart.db.tables import Race, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.services import league
from cozykart.services.handlers import HANDLERS
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.conftest import screenshot_dir

pytestmark = pytest.mark.e2e
# Dev mode compiles a page the first time it is asked for: allow for it on a loaded machine.
PAGE_TIMEOUT_MS = 120_000
# The lobby re-reads its board every 4 s; another viewer sees a change within this.
LIVE_UPDATE_TIMEOUT_MS = 20_000
HOST_DISPLAY_NAME = "Priya"  # a demo host (services/demo.py)
RACER_DISPLAY_NAME = "Kai"
LOBBY_NAME = "Journey Cup"


@pytest.fixture(scope="module")
def db(served_dev_app):
    engine = create_db_engine(served_dev_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS)
    finally:
        engine.dispose()


def _racer_named(db: UnitOfWork, display_name: str) -> Racer:
    with db:
        racer = db.session.exec(select(Racer).where(Racer.display_name == display_name)).one()
        db.session.expunge(racer)
    return racer


def _dev_log_in(page, app, display_name: str, path: str) -> None:
    """Open `path`, follow the header's Developer login link, pick the demo racer, land back on `path`."""
    page.goto(app.url(path), timeout=PAGE_TIMEOUT_MS)
    page.get_by_test_id("dev-login-link").click(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Developer login")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    page.get_by_test_id("dev-login-choice").filter(has_text=display_name).first.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(app.url(path))}/?$"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("account-name")).to_have_text(display_name, timeout=PAGE_TIMEOUT_MS)


def test_the_developer_login_lists_demo_racers_and_logs_one_in(served_dev_app, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        # In dev mode the pages and the backend are two ports: the way back is the pages' absolute URL.
        back = quote(served_dev_app.url("/wallet"), safe="")
        page.goto(served_dev_app.backend(f"/auth/dev?next={back}"), timeout=PAGE_TIMEOUT_MS)
        choices = page.get_by_test_id("dev-login-choice")
        expect(choices.filter(has_text=RACER_DISPLAY_NAME)).to_have_count(1)
        expect(choices.filter(has_text="Sam")).to_contain_text("admin")  # roles are shown beside the name
        page.screenshot(path=str(screenshot_dir(tmp_path) / "dev-login.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
        page.screenshot(path=str(screenshot_dir(tmp_path) / "dev-login-phone.png"), full_page=True)

        choices.filter(has_text=RACER_DISPLAY_NAME).click()

        # Back to the page asked for, on the pages' port, logged in: the wallet is Kai's.
        expect(page).to_have_url(
            re.compile(rf"^{re.escape(served_dev_app.url('/wallet'))}/?$"), timeout=PAGE_TIMEOUT_MS
        )
        expect(page.get_by_test_id("account-name")).to_have_text(RACER_DISPLAY_NAME, timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_role("heading", name="Your wallet")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    finally:
        context.close()


def test_a_racer_joins_a_lobby_races_and_reports_live_for_the_host_too(served_dev_app, browser, db, tmp_path):
    host = _racer_named(db, HOST_DISPLAY_NAME)
    racer = _racer_named(db, RACER_DISPLAY_NAME)
    # At most one race is live: the demo's live race ends first (its own host ends it).
    demo_race = league.current_race(uow=db)
    if demo_race is not None and demo_race.is_live:
        league.end_race(demo_race.race_id, actor_id=demo_race.host.racer_id, uow=db)

    host_context = browser.new_context(viewport={"width": 1280, "height": 900})
    racer_context = browser.new_context(viewport={"width": 390, "height": 844})  # Kai is on his phone
    try:
        host_page, racer_page = host_context.new_page(), racer_context.new_page()

        # The host opens a lobby and takes a seat in it.
        _dev_log_in(host_page, served_dev_app, HOST_DISPLAY_NAME, "/lobby")
        host_page.get_by_label("New lobby name").fill(LOBBY_NAME)
        host_page.get_by_test_id("open-lobby-button").click()
        host_lobby = host_page.get_by_test_id("lobby-card").filter(has_text=LOBBY_NAME)
        expect(host_lobby).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        host_lobby.get_by_test_id("join-button").click()
        expect(host_lobby.get_by_test_id("lobby-member")).to_have_count(1, timeout=PAGE_TIMEOUT_MS)

        # Kai logs in with the developer login and joins.
        _dev_log_in(racer_page, served_dev_app, RACER_DISPLAY_NAME, "/lobby")
        racer_lobby = racer_page.get_by_test_id("lobby-card").filter(has_text=LOBBY_NAME)
        expect(racer_lobby.get_by_test_id("lobby-member")).to_contain_text(
            host.mkt_name, timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_lobby.get_by_test_id("start-button")).to_have_count(0)  # not his lobby to start
        racer_lobby.get_by_test_id("join-button").click()
        expect(racer_lobby.get_by_test_id("lobby-member")).to_have_count(2, timeout=PAGE_TIMEOUT_MS)
        # The host's open page sees him arrive, without reloading.
        expect(host_lobby.get_by_test_id("lobby-member").filter(has_text=racer.mkt_name)).to_have_count(
            1, timeout=LIVE_UPDATE_TIMEOUT_MS
        )

        # The host starts the race: Kai's page shows it live.
        host_lobby.get_by_test_id("start-button").click()
        host_race = host_page.get_by_test_id("race-card").filter(has_text=LOBBY_NAME)
        racer_race = racer_page.get_by_test_id("race-card").filter(has_text=LOBBY_NAME)
        expect(host_race.get_by_test_id("race-card-status")).to_have_text("LIVE", timeout=PAGE_TIMEOUT_MS)
        expect(racer_race.get_by_test_id("race-card-status")).to_have_text(
            "LIVE", timeout=LIVE_UPDATE_TIMEOUT_MS
        )

        # The host ends it: Kai's page asks for results.
        click_and_confirm(host_page, host_race.get_by_test_id("end-button"))
        ended = "Ended · waiting for results"
        expect(host_race.get_by_test_id("race-card-status")).to_have_text(ended, timeout=PAGE_TIMEOUT_MS)
        expect(racer_race.get_by_test_id("race-card-status")).to_have_text(
            ended, timeout=LIVE_UPDATE_TIMEOUT_MS
        )

        # Kai reports first place; the host's page shows it beside his name.
        racer_race.get_by_label("Your finishing position").select_option("1")
        racer_race.get_by_test_id("report-button").click()
        expect(racer_race.get_by_test_id("your-report")).to_have_text(
            "You reported #1", timeout=PAGE_TIMEOUT_MS
        )
        expect(host_race.get_by_test_id("lobby-member").filter(has_text=racer.mkt_name)).to_contain_text(
            "#1", timeout=LIVE_UPDATE_TIMEOUT_MS
        )
        # The host's results table starts from what the racers reported.
        expect(host_race.get_by_label(f"Finish of {racer.mkt_name}")).to_have_value(
            "1", timeout=LIVE_UPDATE_TIMEOUT_MS
        )
        host_page.screenshot(path=str(screenshot_dir(tmp_path) / "lobby-host-journey.png"), full_page=True)
        racer_page.screenshot(
            path=str(screenshot_dir(tmp_path) / "lobby-racer-journey-phone.png"), full_page=True
        )

        # The host claims first place too: the race is disputed, on both pages.
        host_race.get_by_label("Your finishing position").select_option("1")
        host_race.get_by_test_id("report-button").click()
        expect(host_race.get_by_test_id("dispute")).to_contain_text("Disputed", timeout=PAGE_TIMEOUT_MS)
        expect(racer_race.get_by_test_id("dispute")).to_contain_text(
            "Disputed", timeout=LIVE_UPDATE_TIMEOUT_MS
        )

        # The host rules with the whole table (Kai first): the race is final and leaves both pages.
        host_race.get_by_label(f"Finish of {racer.mkt_name}").select_option("1")
        host_race.get_by_label(f"Finish of {host.mkt_name}").select_option("2")
        click_and_confirm(host_page, host_race.get_by_test_id("set-table-button"))
        expect(host_race).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
        expect(racer_race).to_have_count(0, timeout=LIVE_UPDATE_TIMEOUT_MS)

        # Kai's profile has the race: first of two.
        racer_page.goto(served_dev_app.url(f"/racers/{racer.id}"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("history-row").filter(has_text=LOBBY_NAME)).to_contain_text(
            "#1 of 2", timeout=PAGE_TIMEOUT_MS
        )
    finally:
        host_context.close()
        racer_context.close()
    # The league's own record agrees with what the pages showed.
    with db:
        race_id = db.session.exec(select(Race.id).where(Race.name == LOBBY_NAME)).one()
    final = league.get_race(race_id, uow=db)
    assert final.status == "final"
    assert {entry.racer.racer_id: entry.position for entry in final.entries} == {racer.id: 1, host.id: 2}


def test_the_production_build_has_no_developer_login(served_app, page):
    """The shared production-mode app (fake Discord login) answers the developer login with 404."""
    assert httpx.get(served_app.url("/auth/dev"), timeout=10).status_code == 404
    refused = httpx.post(served_app.url("/auth/dev/login"), data={"discord_id": "demo-koopa_kid"}, timeout=10)
    assert refused.status_code == 404 and "cozykart_session" not in refused.headers.get("set-cookie", "")
    page.goto(served_app.url("/lobby"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("login-button")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("dev-login-link")).to_have_count(0)

"""The league pages in a real browser: standings, a racer's profile, the lobby.

A fan sees the season's standings with its sponsor, in the order the standings
service gives; a profile; a racer logs in (through the fake Discord), joins a
lobby a host opened, and reports their finish in the live race.

The served app is shared with the other browser tests, so the lobby walk
leaves the league as it found it: the demo's live race stays live, the lobby
is closed again, and the demo racer who logged in gets their own Discord id,
name and avatar back.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from cozykart.db.tables import Racer
from cozykart.services import league, seasons
from cozykart.services.reads import standings
from cozykart.settings import PROJECT_ROOT
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID, screenshot_dir
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
# The lobby page re-reads the board every few seconds; another viewer sees a change within this.
LIVE_UPDATE_TIMEOUT_MS = 15_000
PHONE_VIEWPORT = {"width": 390, "height": 844}
AVATAR_HASH = "8342729096ea3675442027381ff50dfe"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()
E2E_LOBBY_NAME = "E2E Twilight Dash"
E2E_RACER_DISCORD_ID = "900000000000000555"


@pytest.fixture(scope="module")
def season_view(db):
    """The demo season's standings as the service computes them (built once if the seed did not)."""
    view = standings.season_standings(uow=db)
    assert view is not None, "the demo has an active season"
    if not view.rows:
        seasons.rebuild_standings(view.season.season_id, uow=db)
        standings.clear_standings_cache()
        view = standings.season_standings(uow=db)
    assert len(view.rows) > 3
    return view


def _serve_discord_cdn_locally(page) -> None:
    page.route(
        "https://cdn.discordapp.com/**",
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG),
    )


def _log_in(page, served_app, fake_discord_server, user: FakeUser, next_path: str) -> None:
    fake_discord_server.user = user
    _serve_discord_cdn_locally(page)
    page.goto(served_app.url(f"/auth/discord/login?next={next_path}"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("account-name")).to_have_text(user.global_name, timeout=PAGE_TIMEOUT_MS)


def test_fan_sees_the_standings_with_the_sponsor_in_the_services_order(
    served_app, page, season_view, tmp_path
):
    page.goto(served_app.url("/standings"), timeout=PAGE_TIMEOUT_MS)

    season = season_view.season
    expect(page.get_by_test_id("season-name")).to_have_text(season.name, timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("sponsor-name")).to_have_text(season.sponsor_name)
    assert page.get_by_test_id("sponsor-link").get_attribute("href") == season.sponsor_url
    expect(page.get_by_test_id("sponsor-logo")).to_have_attribute("src", season.sponsor_logo_url)

    rows = page.get_by_test_id("standing-row")
    expect(rows).to_have_count(len(season_view.rows))
    shown = [
        (
            row.get_by_test_id("standing-rank").inner_text().strip(),
            row.get_by_test_id("standing-racer").inner_text().strip(),
            row.get_by_test_id("standing-points").inner_text().strip(),
        )
        for row in rows.all()
    ]
    assert shown == [(f"#{row.rank}", row.name, str(row.points)) for row in season_view.rows]
    points = [row.points for row in season_view.rows]
    assert points == sorted(points, reverse=True)

    # Every row's tiny avatar is an image the server really served.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=standing-row] img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=PAGE_TIMEOUT_MS,
    )
    # The points chart draws one line per leading racer.
    chart = page.get_by_test_id("points-chart")
    expect(chart.locator(".recharts-line")).to_have_count(5, timeout=PAGE_TIMEOUT_MS)
    expect(chart).to_contain_text(season_view.rows[0].name)
    # The season picker offers the active season; no season has closed, so the trophy case says so.
    expect(page.get_by_role("combobox", name="Season")).to_contain_text(season.name)
    expect(page.get_by_label("Trophy case")).to_contain_text("No season has closed yet")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "standings.png"), full_page=True)


def test_league_pages_fit_a_phone(served_app, browser, season_view, tmp_path):
    leader = season_view.rows[0]
    pages = {
        "standings": ("/standings", "standing-row"),
        "racer": (f"/racers/{leader.racer_id}", "history-row"),
        "lobby": ("/lobby", "race-card"),
    }
    context = browser.new_context(viewport=PHONE_VIEWPORT)
    try:
        phone = context.new_page()
        for name, (path, testid) in pages.items():
            phone.goto(served_app.url(path), timeout=PAGE_TIMEOUT_MS)
            expect(phone.get_by_test_id(testid).first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
            # Wide tables scroll inside their panels; the page itself never scrolls sideways.
            overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than the phone"
            phone.screenshot(path=str(screenshot_dir(tmp_path) / f"{name}-phone.png"), full_page=True)
    finally:
        context.close()


def test_a_racers_profile_from_the_standings(served_app, page, season_view, db, tmp_path):
    leader = season_view.rows[0]
    profile = standings.racer_profile(leader.racer_id, uow=db)
    page.goto(served_app.url("/standings"), timeout=PAGE_TIMEOUT_MS)

    page.get_by_test_id("standing-racer").first.click()

    expect(page).to_have_url(re.compile(rf"/racers/{leader.racer_id}/?$"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("racer-name")).to_have_text(leader.name, timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("career-points")).to_have_text(str(profile.career.points))
    expect(page.get_by_test_id("career-wins")).to_have_text(str(profile.career.wins))
    expect(page.get_by_test_id("career-races")).to_have_text(str(profile.career.races))
    history = page.get_by_test_id("history-row")
    expect(history).to_have_count(len(profile.history))
    final_lines = [line for line in profile.history if line.status == "final"]
    expect(history.filter(has_text=final_lines[0].race_name)).to_contain_text(
        "DNF" if final_lines[0].dnf else f"#{final_lines[0].position} of"
    )
    expect(page.get_by_test_id("racer-season")).to_contain_text(season_view.season.name)
    page.screenshot(path=str(screenshot_dir(tmp_path) / "racer.png"), full_page=True)


def test_an_unknown_racer_gets_a_clear_page(served_app, page):
    page.goto(served_app.url("/racers/999999"), timeout=PAGE_TIMEOUT_MS)

    expect(page.get_by_test_id("racer-missing")).to_have_text("No such racer", timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text("There is no racer #999999.")).to_be_visible()


def _demo_racer_in_the_live_race(db) -> Racer:
    race = league.current_race(uow=db)
    assert race is not None and race.is_live, "the demo has a live race"
    racer_id = next(card.racer_id for card in race.racers if card.racer_id != race.host.racer_id)
    with db:
        racer = db.session.get(Racer, racer_id)
        db.session.expunge(racer)
    return racer


def _set_racer(db, racer_id: int, **values) -> None:
    with db:
        row = db.session.exec(select(Racer).where(Racer.id == racer_id)).one()
        for name, value in values.items():
            setattr(row, name, value)
        db.session.add(row)
        db.session.commit()


def test_a_racer_joins_a_hosts_lobby_and_reports_a_result(
    served_app, browser, fake_discord_server, db, tmp_path
):
    racer = _demo_racer_in_the_live_race(db)
    live = league.current_race(uow=db)
    host_page = browser.new_context().new_page()
    racer_page = browser.new_context().new_page()
    try:
        # Demo racers have made-up Discord ids; lend this one a real-looking id to log in with.
        _set_racer(db, racer.id, discord_id=E2E_RACER_DISCORD_ID)
        # A host (here the league admin, who may host) opens a lobby.
        _log_in(
            host_page,
            served_app,
            fake_discord_server,
            FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None),
            "/lobby",
        )
        host_page.get_by_label("New lobby name").fill(E2E_LOBBY_NAME)
        host_page.get_by_test_id("open-lobby-button").click()
        host_lobby = host_page.get_by_test_id("lobby-card").filter(has_text=E2E_LOBBY_NAME)
        expect(host_lobby).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(host_lobby.get_by_test_id("start-button")).to_be_visible()

        # A racer of the live race logs in and joins it.
        _log_in(
            racer_page,
            served_app,
            fake_discord_server,
            FakeUser(
                id=E2E_RACER_DISCORD_ID,
                username=racer.username,
                global_name=racer.display_name,
                avatar=AVATAR_HASH,
            ),
            "/lobby",
        )
        racer_lobby = racer_page.get_by_test_id("lobby-card").filter(has_text=E2E_LOBBY_NAME)
        expect(racer_lobby).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(racer_lobby.get_by_test_id("start-button")).to_have_count(0)  # not their lobby to start
        racer_lobby.get_by_test_id("join-button").click()
        expect(racer_lobby.get_by_test_id("lobby-member")).to_contain_text(
            racer.mkt_name, timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_lobby.get_by_test_id("leave-button")).to_be_visible()
        # The host's open page sees the new member without reloading.
        expect(host_lobby.get_by_test_id("lobby-member")).to_contain_text(
            racer.mkt_name, timeout=LIVE_UPDATE_TIMEOUT_MS
        )

        # In the live race, the racer reports their finish.
        race_card = racer_page.get_by_test_id("race-card").filter(has_text=live.name)
        expect(race_card.get_by_test_id("race-card-status")).to_have_text("LIVE")
        race_card.get_by_label("Your finishing position").select_option("3")
        race_card.get_by_test_id("report-button").click()
        expect(race_card.get_by_test_id("your-report")).to_have_text(
            "You reported #3", timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_page.get_by_text("You reported #3").first).to_be_visible()
        entry = league.get_race(live.race_id, uow=db).entry_of(racer.id)
        assert (entry.reported_position, entry.reported_dnf) == (3, False)
        racer_page.screenshot(path=str(screenshot_dir(tmp_path) / "lobby.png"), full_page=True)

        # Leave the league as it was: the racer leaves, the host closes the lobby.
        racer_lobby.get_by_test_id("leave-button").click()
        expect(racer_lobby.get_by_test_id("lobby-member")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
        host_lobby.get_by_test_id("cancel-button").click()
        expect(host_page.get_by_test_id("lobby-card").filter(has_text=E2E_LOBBY_NAME)).to_have_count(
            0, timeout=PAGE_TIMEOUT_MS
        )
    finally:
        # Logging in took the fake Discord's name and avatar: give the demo racer theirs back.
        _set_racer(
            db,
            racer.id,
            discord_id=racer.discord_id,
            username=racer.username,
            display_name=racer.display_name,
            avatar_url=racer.avatar_url,
        )
        host_page.context.close()
        racer_page.context.close()
    assert league.current_race(uow=db).race_id == live.race_id  # the demo race is still live
    assert all(lobby.name != E2E_LOBBY_NAME for lobby in league.list_open_lobbies(uow=db))


def test_a_visitor_sees_lobbies_but_is_asked_to_log_in(served_app, page):
    page.goto(served_app.url("/lobby"), timeout=PAGE_TIMEOUT_MS)

    expect(page.get_by_test_id("race-card").first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_role("link", name="log in with Discord", exact=True)).to_be_visible()
    expect(page.get_by_test_id("report-form")).to_have_count(0)
    expect(page.get_by_test_id("join-button")).to_have_count(0)

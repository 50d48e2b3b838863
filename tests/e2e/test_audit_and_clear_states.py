"""Issue 17 items 4 and 8 in a real browser on the served app (production build, demo league):
the audit trail at /admin/audit and in the admin nav, a racer's profile listing the fixes to
their results, the outbox's "recorded only" state with its previews, the lobby's Live Pot for
the live race's racers, and touch targets of at least 44 px at phone width on the main pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cozykart.db.tables import Race, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.services import league
from cozykart.settings import PROJECT_ROOT, load_settings
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID, screenshot_dir
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()
PHONE = {"width": 390, "height": 844}
TOUCH_MIN_PX = 44

ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
OLIVE = FakeUser(id="80351110224679101", username="olive_audit", global_name="Olive", avatar=None)

# Every visible button, link, field and select that is not part of a sentence, and is too small.
TOO_SMALL = """
(minimum) => {
  const hidden = (el) => el.closest('[aria-hidden="true"]') || getComputedStyle(el).visibility === 'hidden';
  const targets = document.querySelectorAll(
    'button, [role="button"], a[href], select, textarea, input:not([type="hidden"])'
  );
  const small = [];
  for (const el of targets) {
    if (el.closest('p, li, td') && el.tagName === 'A') continue;  // a link inside a sentence
    if (hidden(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not displayed
    if (box.width < minimum || box.height < minimum) {
      small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30)}" ${box.width.toFixed(0)}x${box.height.toFixed(0)}`);
    }
  }
  return small;
}
"""


def _expect():
    from playwright.sync_api import expect

    return expect


def _open_as(page, served_app, fake_discord_server, user: FakeUser, path: str) -> None:
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )
    fake_discord_server.user = user
    page.goto(served_app.url(path), timeout=PAGE_TIMEOUT_MS)


def _uow(db: UnitOfWork, served_app) -> UnitOfWork:
    return UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env))


def _racer_id(db: UnitOfWork, discord_id: str) -> int:
    with db:
        return db.session.scalars(select(Racer.id).where(Racer.discord_id == discord_id)).one()


def _a_final_race_and_its_winner(db: UnitOfWork) -> tuple[int, int]:
    with db:
        race_id = db.session.scalars(select(Race.id).where(Race.status == "final").order_by(Race.id)).first()
    assert race_id is not None, "the demo has final races"
    view = league.get_race(race_id, uow=db)
    winner = next(entry for entry in view.entries if entry.position == 1)
    return race_id, winner.racer.racer_id


def test_an_admin_reads_the_audit_trail_filters_it_and_a_racer_sees_their_fix(
    served_app, fake_discord_server, page, db, tmp_path
):
    expect = _expect()
    _open_as(page, served_app, fake_discord_server, ADMIN, "/admin/audit")
    nav = page.get_by_test_id("admin-nav")
    expect(nav).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(nav.get_by_role("link", name="Audit trail")).to_have_attribute("aria-current", "page")
    rows = page.get_by_test_id("audit-row")
    # The demo's payouts were decided by its admin, Sam: the trail has them from the first load.
    # (other tests on this served app may reject payouts of their own: the demo's is Sam's)
    expect(rows.filter(has_text="Payout rejected").filter(has_text="Sam")).to_have_count(
        1, timeout=PAGE_TIMEOUT_MS
    )
    expect(rows.filter(has_text="Payout paid").first).to_contain_text("Sam")

    admin_id = _racer_id(db, E2E_ADMIN_DISCORD_ID)
    race_id, winner_id = _a_final_race_and_its_winner(db)
    league.admin_fix_result(
        race_id,
        winner_id,
        "DNF",
        reason="<b>disconnected</b> on lap 2",
        actor_id=admin_id,
        uow=_uow(db, served_app),
    )
    page.reload()
    fix = rows.filter(has_text="Result fixed").filter(has_text=f"race #{race_id}").filter(has_text="P1 → DNF")
    expect(fix).to_have_count(1, timeout=PAGE_TIMEOUT_MS)  # the winner's; the racers behind moved up a place
    expect(fix).to_contain_text("<b>disconnected</b> on lap 2")  # shown as typed, never as markup
    expect(fix).to_contain_text("Boss")

    # A bad filter is said beside its field, what was typed stays, the list does not change.
    shown = rows.count()
    page.get_by_test_id("audit-filter-race").fill("twelve")
    page.get_by_test_id("audit-filter-apply").click()
    expect(page.get_by_test_id("audit-race-error")).to_have_text(
        "Give a race number (a whole number like 12), or leave it empty.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("audit-filter-race")).to_have_value("twelve")
    expect(page.get_by_test_id("audit-racer-error")).to_have_text("")
    assert rows.count() == shown
    page.get_by_test_id("audit-filter-race").fill(str(race_id))
    page.get_by_test_id("audit-filter-apply").click()
    expect(page.get_by_test_id("audit-race-error")).to_have_text("", timeout=PAGE_TIMEOUT_MS)
    expect(rows.filter(has_text="Payout")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    expect(rows.filter(has_text="Result fixed").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-audit.png"), full_page=True)

    # The results desk's "fixed result(s)" badge links here with ?race=N: the same filter, checked.
    page.goto(served_app.url(f"/admin/audit?race={race_id}"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("audit-filter-race")).to_have_value(str(race_id), timeout=PAGE_TIMEOUT_MS)
    expect(rows.filter(has_text="P1 → DNF")).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    expect(rows.filter(has_text="Payout")).to_have_count(0)
    page.goto(served_app.url("/admin/audit?race=99999"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("audit-race-error")).to_have_text(
        "There is no race #99999.", timeout=PAGE_TIMEOUT_MS
    )
    # the whole trail, and why not filtered
    expect(rows.filter(has_text="Payout rejected").filter(has_text="Sam")).to_have_count(1)

    page.goto(served_app.url(f"/racers/{winner_id}"), timeout=PAGE_TIMEOUT_MS)
    profile_fix = page.get_by_test_id("racer-fix").first
    expect(profile_fix).to_contain_text("P1 → DNF", timeout=PAGE_TIMEOUT_MS)
    expect(profile_fix).to_contain_text("<b>disconnected</b> on lap 2")


def test_a_racer_is_refused_the_audit_trail(served_app, fake_discord_server, page):
    expect = _expect()
    _open_as(page, served_app, fake_discord_server, OLIVE, "/admin/audit")
    expect(page.get_by_test_id("admin-refusal")).to_have_text(
        "Only a league admin can do that.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("audit-row")).to_have_count(0)


def test_without_a_webhook_the_outbox_says_recorded_only_and_previews_names(
    served_app, fake_discord_server, page, db
):
    from cozykart.domain import discord_messages as say
    from cozykart.services import outbox

    assert not served_app.env.get("DISCORD_ANNOUNCE_WEBHOOK_URL"), "the served app sends nothing"
    expect = _expect()
    with _uow(db, served_app) as uow:
        outbox.record(
            uow,
            dedupe_key="e2e:audit:cash-out",
            kind="cash_out",
            message=say.cash_out(
                racer=say.Person("Sam", "demo-shyguy_drift"), amount_cents=2500, currency="USD"
            ),
        )
        uow.commit()
    _open_as(page, served_app, fake_discord_server, ADMIN, "/admin/outbox")
    expect(page.get_by_test_id("outbox-not-sending")).to_contain_text(
        "recorded only: DISCORD_ANNOUNCE_WEBHOOK_URL is not set", timeout=PAGE_TIMEOUT_MS
    )
    row = page.get_by_test_id("outbox-row").filter(has_text="just cashed out $25.00").first
    expect(row.get_by_test_id("outbox-status")).to_have_text("recorded only")
    expect(row.get_by_test_id("outbox-preview")).to_contain_text("💸 @Sam just cashed out $25.00!")
    expect(row.get_by_test_id("outbox-preview")).not_to_contain_text("<@")
    expect(page.get_by_text("pending", exact=True)).to_have_count(0)


def test_the_lobby_shows_the_live_races_pot(served_app, page):
    expect = _expect()
    page.goto(served_app.url("/lobby"), timeout=PAGE_TIMEOUT_MS)
    pot = page.get_by_test_id("lobby-pot")
    expect(pot.get_by_test_id("pot-amount")).to_have_text(
        "$9.00", timeout=PAGE_TIMEOUT_MS
    )  # 20% of the $45 hoodie
    expect(pot.get_by_test_id("pot-message")).to_have_text("Buy a shirt now to increase the pot!")


@pytest.mark.parametrize("path", ["/", "/lobby", "/standings", "/tip", "/racers/1", "/wallet", "/me"])
def test_every_touch_target_is_at_least_44_px_at_phone_width(served_app, fake_discord_server, browser, path):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        _open_as(page, served_app, fake_discord_server, OLIVE, path)
        page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_timeout(500)
        assert page.evaluate(TOO_SMALL, TOUCH_MIN_PX) == [], f"targets under {TOUCH_MIN_PX} px on {path}"
    finally:
        context.close()


def test_the_wallet_says_the_hold_in_days_and_a_refused_payout_is_said_once_with_the_amount_kept(
    served_app, fake_discord_server, page
):
    expect = _expect()
    _open_as(page, served_app, fake_discord_server, OLIVE, "/wallet")
    hold_days = load_settings(served_app.env).hold_days
    expect(page.get_by_test_id("wallet-hold-days")).to_have_text(
        f"available after {hold_days} days", timeout=PAGE_TIMEOUT_MS
    )
    page.get_by_test_id("payout-amount").fill("5")
    page.get_by_test_id("payout-request").click()
    expect(page.get_by_test_id("payout-error")).to_have_text(
        "The smallest payout is $20.00.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    expect(page.get_by_test_id("payout-amount")).to_have_value("5")

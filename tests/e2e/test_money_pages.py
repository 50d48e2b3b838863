"""The money pages in a real browser against the served app (production build, demo league):
a racer's wallet and payout errors, an admin paying a payout from the queue, the tip page
of a deployment without Stripe Checkout (no tips, whatever a client sends), and a racer
refused at the admin pages. A fan's demo tip reaching the DJ's wallet is in
test_demo_tips.py (demo tips are for dev mode only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger, wallet
from cozykart.settings import PROJECT_ROOT, load_settings
from cozykart.ui.pages.tip import TipState
from tests.e2e.confirm_support import click_and_confirm
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID, screenshot_dir
from tests.fake_discord import FakeUser
from tests.reflex_viewer import Viewer, run_async

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
SOCKET_TIMEOUT_S = 30
TIP_ATTEMPTS = 3
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()

DEMO_DJ_DISCORD_ID = "demo-rosalina_rx"  # Rosa, the demo league's DJ (demo ids cannot log in through Discord)
NELL = FakeUser(id="80351110224678801", username="nell_money", global_name="Nell", avatar=None)
KAI = FakeUser(id="80351110224678802", username="kai_cashout", global_name="Kai", avatar=None)
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
PLAIN = FakeUser(id="80351110224678999", username="plain_percy", global_name="Percy", avatar=None)


def _expect():
    from playwright.sync_api import expect

    return expect


def _open_as(page, served_app, fake_discord_server, user: FakeUser, path: str) -> None:
    """Open a page that needs a login: the app sends the browser through (fake) Discord and back."""
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )
    fake_discord_server.user = user
    page.goto(served_app.url(path), timeout=PAGE_TIMEOUT_MS)


def _new_page(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


def _wallet(db, discord_id: str, served_app) -> wallet.WalletSummary:
    return wallet.wallet_by_discord_id(
        discord_id, uow=UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env))
    )


def test_a_racer_sees_their_wallet_in_words_and_clear_payout_errors(
    served_app, fake_discord_server, page, db, tmp_path
):
    expect = _expect()
    _open_as(page, served_app, fake_discord_server, NELL, "/wallet")

    expect(page.get_by_test_id("account-name")).to_have_text("Nell", timeout=PAGE_TIMEOUT_MS)
    assert page.url.rstrip("/") == served_app.url("/wallet")
    expect(page.get_by_test_id("wallet-available")).to_have_text("$0.00", timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_text("Nothing yet", exact=False)).to_be_visible()
    # A fan tips Nell (through the ledger service, as the webhook inbox would); the page shows it in words.
    ledger.record_tip(
        key="e2e-money-tip-nell",
        dj_racer_id=_wallet(db, NELL.id, served_app).racer_id,
        tip_cents=500,
        tipped_at=datetime.now(UTC),
        song="Coconut Mall",
        fan_name="Theo",
        uow=UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env)),
    )
    page.reload()
    lines = page.get_by_test_id("wallet-line")
    expect(lines.filter(has_text="Tip from Theo for 'Coconut Mall' ($5.00), less $0.25 fee")).to_have_count(
        1, timeout=PAGE_TIMEOUT_MS
    )
    expect(lines.filter(has_text="Tip from Theo").get_by_text("on hold until", exact=False)).to_be_visible()
    expect(page.get_by_test_id("wallet-available")).to_have_text("$0.00")
    expect(page.get_by_test_id("wallet-threshold")).to_contain_text("of the $20.00 you need")

    amount = page.get_by_test_id("payout-amount")
    amount.fill("5")
    page.get_by_test_id("payout-request").click()
    expect(page.get_by_test_id("payout-error")).to_have_text(
        "The smallest payout is $20.00.", timeout=PAGE_TIMEOUT_MS
    )

    amount.fill("25.00")
    page.get_by_test_id("payout-request").click()
    expect(page.get_by_test_id("payout-error")).to_contain_text(
        "You can withdraw up to $0.00 right now", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("payout-error")).to_contain_text("is still on hold")

    amount.fill("12.345")
    page.get_by_test_id("payout-request").click()
    expect(page.get_by_test_id("payout-error")).to_have_text(
        "Amounts have at most two decimals (whole cents).", timeout=PAGE_TIMEOUT_MS
    )
    page.screenshot(path=str(screenshot_dir(tmp_path) / "wallet.png"), full_page=True)

    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        page.get_by_test_id("wallet-csv").click()
    csv_text = download.value.path().read_text()
    assert csv_text.startswith("date_utc,kind,description,amount_cents,amount,")
    assert "Tip from Theo for 'Coconut Mall' ($5.00), less $0.25 fee" in csv_text


def test_an_admin_pays_a_requested_payout_from_the_queue_and_the_racer_sees_it(
    served_app, fake_discord_server, browser, db, tmp_path
):
    expect = _expect()
    settings = load_settings(served_app.env)
    admin_page = _new_page(browser)
    racer_page = _new_page(browser)
    try:
        # The admin logs in (and so exists as a racer); Kai gets $50.00 available from an admin adjustment.
        _open_as(admin_page, served_app, fake_discord_server, ADMIN, "/admin/payouts")
        expect(admin_page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        _open_as(racer_page, served_app, fake_discord_server, KAI, "/wallet")
        expect(racer_page.get_by_test_id("account-name")).to_have_text("Kai", timeout=PAGE_TIMEOUT_MS)
        admin_id = _wallet(db, E2E_ADMIN_DISCORD_ID, served_app).racer_id
        kai_id = _wallet(db, KAI.id, served_app).racer_id
        ledger.adjust_wallet(
            admin_id,
            kai_id,
            5000,
            reason="e2e prize money",
            key="e2e-money-kai",
            uow=UnitOfWork(db.engine, handlers=db.handlers, settings=settings),
        )
        racer_page.reload()
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$50.00", timeout=PAGE_TIMEOUT_MS)
        racer_page.get_by_test_id("payout-amount").fill("25")
        racer_page.get_by_test_id("payout-request").click()
        message = racer_page.get_by_test_id("payout-message")
        expect(message).to_contain_text("of $25.00 requested", timeout=PAGE_TIMEOUT_MS)
        payout_id = re.search(r"Payout #(\d+)", message.inner_text()).group(1)
        expect(racer_page.get_by_test_id("my-payout").filter(has_text=f"#{payout_id}")).to_contain_text(
            "waiting for an admin", timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_page.get_by_test_id("wallet-in-payout")).to_have_text("$25.00", timeout=PAGE_TIMEOUT_MS)

        admin_page.reload()
        row = admin_page.get_by_test_id("pending-payout").filter(has_text=f"#{payout_id}")
        expect(row).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(row).to_contain_text("Kai")
        expect(row).to_contain_text("$25.00")
        admin_page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-payouts.png"), full_page=True)
        row.get_by_test_id("pay-method").select_option("paypal")
        row.get_by_test_id("pay-reference").fill("PP-E2E-1")
        click_and_confirm(admin_page, row.get_by_test_id("pay-button"))

        expect(admin_page.get_by_text(f"Payout #{payout_id} marked paid")).to_be_visible(
            timeout=PAGE_TIMEOUT_MS
        )
        expect(admin_page.get_by_test_id("pending-payout").filter(has_text=f"#{payout_id}")).to_have_count(
            0, timeout=PAGE_TIMEOUT_MS
        )
        decided = admin_page.get_by_test_id("decided-payout").filter(has_text=f"#{payout_id}")
        expect(decided).to_contain_text("paid", timeout=PAGE_TIMEOUT_MS)
        expect(decided).to_contain_text("by PayPal, ref PP-E2E-1")

        summary = _wallet(db, KAI.id, served_app)
        assert (summary.in_payout_cents, summary.available_cents) == (0, 2500)
        assert summary.paid_out_cents == 2500

        racer_page.reload()
        expect(racer_page.get_by_test_id("wallet-paid-out")).to_have_text("$25.00", timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("wallet-in-payout")).to_have_text("$0.00")
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$25.00")
        expect(
            racer_page.get_by_test_id("wallet-line").filter(
                has_text=f"Payout #{payout_id} requested ($25.00)"
            )
        ).to_have_count(1)
        mine = racer_page.get_by_test_id("my-payout").filter(has_text=f"#{payout_id}")
        expect(mine).to_contain_text("paid")
        expect(mine).to_contain_text("by PayPal (ref PP-E2E-1)")

        # A second request is rejected with a reason: the money goes back, and Kai reads why.
        racer_page.get_by_test_id("payout-amount").fill("20")
        racer_page.get_by_test_id("payout-request").click()
        expect(racer_page.get_by_test_id("payout-message")).to_contain_text(
            "of $20.00 requested", timeout=PAGE_TIMEOUT_MS
        )
        second_id = re.search(
            r"Payout #(\d+)", racer_page.get_by_test_id("payout-message").inner_text()
        ).group(1)
        admin_page.reload()
        row = admin_page.get_by_test_id("pending-payout").filter(has_text=f"#{second_id}")
        row.get_by_test_id("reject-reason").fill("PayPal account not verified yet")
        click_and_confirm(admin_page, row.get_by_test_id("reject-button"))
        expect(admin_page.get_by_text(f"Payout #{second_id} rejected")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        racer_page.reload()
        expect(racer_page.get_by_test_id("my-payout").filter(has_text=f"#{second_id}")).to_contain_text(
            "PayPal account not verified yet", timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$25.00")

        # A direct payout (no request): the admin pays Kai $5.00 of the $25.00 available.
        admin_page.reload()
        direct = admin_page.get_by_label("Direct payout")
        direct.get_by_test_id("direct-racer").select_option(str(kai_id))
        direct.get_by_test_id("direct-amount").fill("5.00")
        direct.get_by_test_id("direct-method").select_option("gift_card")
        direct.get_by_test_id("direct-reference").fill("GC-E2E-5")
        click_and_confirm(admin_page, direct.get_by_test_id("direct-pay"))
        expect(admin_page.get_by_text("of $5.00 paid")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        racer_page.reload()
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$20.00", timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("wallet-paid-out")).to_have_text("$30.00")
        expect(
            racer_page.get_by_test_id("wallet-line").filter(has_text="paid by gift card (ref GC-E2E-5)")
        ).to_have_count(1)

        # The admin's other money pages: reconciliation is clean, the inbox lists events.
        admin_page.get_by_test_id("admin-nav").get_by_text("Reconciliation").click()
        expect(admin_page.get_by_test_id("reconcile-clean")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        admin_page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-reconcile.png"), full_page=True)
        admin_page.get_by_test_id("admin-nav").get_by_text("Webhook inbox").click()
        expect(admin_page.get_by_test_id("inbox-filter").first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        admin_page.screenshot(path=str(screenshot_dir(tmp_path) / "admin-webhooks.png"), full_page=True)
    finally:
        admin_page.context.close()
        racer_page.context.close()


def test_in_production_without_stripe_checkout_the_tip_page_says_tips_are_unavailable(served_app, page):
    """The served app is a merch-only set-up (STRIPE_WEBHOOK_SECRET, no STRIPE_API_KEY): no demo tips."""
    expect = _expect()
    page.goto(served_app.url("/tip"), timeout=PAGE_TIMEOUT_MS)

    expect(page.get_by_test_id("tip-off")).to_contain_text("Tips are unavailable", timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("tip-demo-banner")).to_have_count(0)
    expect(page.get_by_test_id("tip-send")).to_have_count(0)


def test_an_anonymous_client_sending_tips_itself_in_production_credits_nobody(served_app, db):
    """A hand-made client skips the page and calls `send_tip` again and again: the service refuses each."""
    before = _wallet(db, DEMO_DJ_DISCORD_ID, served_app)
    tip_state = TipState.get_full_name()

    async def send_tips() -> list[str]:
        viewer = Viewer(served_app.base_url, "/tip", headers={"Origin": served_app.base_url})
        await viewer.connect()
        errors = []
        try:
            await viewer.wait_for(lambda v: v.var("tip_state", "loaded") is True, SOCKET_TIMEOUT_S)
            await viewer.send(f"{tip_state}.set_dj_choice", {"value": DEMO_DJ_DISCORD_ID})
            await viewer.send(f"{tip_state}.choose_amount", {"value": "1000"})
            for _attempt in range(TIP_ATTEMPTS):
                await viewer.send(f"{tip_state}.tip_again")
                await viewer.wait_for(lambda v: v.var("tip_state", "error") == "", SOCKET_TIMEOUT_S)
                await viewer.send(f"{tip_state}.send_tip")
                await viewer.wait_for(
                    lambda v: v.var("tip_state", "error") or v.var("tip_state", "thanks"), SOCKET_TIMEOUT_S
                )
                errors.append(viewer.var("tip_state", "error"))
        finally:
            await viewer.disconnect()
        return errors

    errors = run_async(send_tips)

    assert errors == ["Tips are unavailable here right now: nothing was charged."] * TIP_ATTEMPTS
    after = _wallet(db, DEMO_DJ_DISCORD_ID, served_app)
    assert (after.held_cents, after.lifetime_earned_cents) == (
        before.held_cents,
        before.lifetime_earned_cents,
    )


@pytest.mark.parametrize("path", ["/admin/payouts", "/admin/webhooks", "/admin/reconcile"])
def test_a_racer_opening_an_admin_money_page_is_refused(served_app, fake_discord_server, page, path):
    expect = _expect()
    _open_as(page, served_app, fake_discord_server, PLAIN, path)
    expect(page.get_by_test_id("admin-refusal")).to_have_text(
        "Only a league admin can do that.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("admin-nav")).to_have_count(0)
    expect(page.get_by_test_id("pending-payout")).to_have_count(0)

"""Where a racer is paid, and withdrawing a request, in Chromium against the served production app.

On /me a racer says where to be paid: a wrong email or an IBAN with a typo is
refused beside the form and what was typed stays; the saved destination is
shown in words. A request then carries it: the admin's queue shows "Pay to: ..."
and the pay form starts on that method. On /wallet the racer cancels the
pending request: the money is available again and the admin's queue drops it.
Another racer's /me shows nothing of it.
"""

from __future__ import annotations

import pytest

from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger, wallet
from cozykart.settings import load_settings
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID
from tests.e2e.test_money_pages import PAGE_TIMEOUT_MS, _expect, _new_page, _open_as
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e

SAM = FakeUser(id="80351110224678821", username="sam_destination", global_name="Sam", avatar=None)
OTHER = FakeUser(id="80351110224678822", username="otto_other", global_name="Otto", avatar=None)
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
IBAN_WITH_TYPO = "DE89 3704 0044 0532 0130 01"  # the standard example IBAN, last digit changed


def _wallet(db, served_app, discord_id: str) -> wallet.WalletSummary:
    uow = UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env))
    return wallet.wallet_by_discord_id(discord_id, uow=uow)


def _set_destination_on_me(page, expect) -> None:
    expect(page.get_by_test_id("dest-current")).to_have_text(
        "Not set yet: say where before you ask for a payout.", timeout=PAGE_TIMEOUT_MS
    )
    page.get_by_test_id("dest-method").select_option("bank")
    page.get_by_test_id("dest-holder").fill("Sam Example")
    page.get_by_test_id("dest-iban").fill(IBAN_WITH_TYPO)
    page.get_by_test_id("dest-save").click()
    expect(page.get_by_test_id("dest-error")).to_have_text(
        "That IBAN's check digits do not match: check it for a typo.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("dest-iban")).to_have_value(IBAN_WITH_TYPO)  # kept, to be corrected
    expect(page.get_by_test_id("dest-error")).to_have_count(1)

    page.get_by_test_id("dest-method").select_option("paypal")
    page.get_by_test_id("dest-email").fill("sam at example")
    page.get_by_test_id("dest-save").click()
    expect(page.get_by_test_id("dest-error")).to_have_text(
        "Give the PayPal account's email address, like ana@example.com.", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("dest-email")).to_have_value("sam at example")
    page.get_by_test_id("dest-email").fill("sam@example.com")
    page.get_by_test_id("dest-save").click()
    expect(page.get_by_test_id("dest-message")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("dest-error")).to_have_count(0)
    expect(page.get_by_test_id("dest-current")).to_have_text("Now: PayPal to sam@example.com")
    page.reload()
    expect(page.get_by_test_id("dest-current")).to_have_text(
        "Now: PayPal to sam@example.com", timeout=PAGE_TIMEOUT_MS
    )
    expect(page.get_by_test_id("dest-email")).to_have_value("sam@example.com")


def test_a_racer_says_where_to_be_paid_the_admin_sees_it_and_the_racer_can_withdraw(
    served_app, fake_discord_server, browser, db
):
    expect = _expect()
    admin_page, racer_page, other_page = _new_page(browser), _new_page(browser), _new_page(browser)
    try:
        _open_as(admin_page, served_app, fake_discord_server, ADMIN, "/admin/payouts")
        expect(admin_page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        _open_as(racer_page, served_app, fake_discord_server, SAM, "/me")
        _set_destination_on_me(racer_page, expect)

        sam = _wallet(db, served_app, SAM.id).racer_id
        admin_id = _wallet(db, served_app, E2E_ADMIN_DISCORD_ID).racer_id
        uow = UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env))
        ledger.adjust_wallet(admin_id, sam, 4000, reason="e2e prize", key="e2e-destination-sam", uow=uow)

        racer_page.goto(served_app.url("/wallet"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$40.00", timeout=PAGE_TIMEOUT_MS)
        racer_page.get_by_test_id("payout-amount").fill("30")
        racer_page.get_by_test_id("payout-request").click()
        expect(racer_page.get_by_test_id("payout-message")).to_contain_text(
            "of $30.00 requested", timeout=PAGE_TIMEOUT_MS
        )
        mine = racer_page.get_by_test_id("my-payout").filter(has_text="waiting for an admin")
        expect(mine).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        payout_number = mine.inner_text().split()[1]

        admin_page.reload()
        row = admin_page.get_by_test_id("pending-payout").filter(has_text="Sam")
        expect(row.get_by_test_id("pending-destination")).to_have_text(
            "Pay to: PayPal to sam@example.com", timeout=PAGE_TIMEOUT_MS
        )
        expect(row.get_by_test_id("pay-method")).to_have_value("paypal")

        _open_as(other_page, served_app, fake_discord_server, OTHER, "/me")
        expect(other_page.get_by_test_id("dest-current")).to_have_text(
            "Not set yet: say where before you ask for a payout.", timeout=PAGE_TIMEOUT_MS
        )
        assert "sam@example.com" not in other_page.content()

        mine.get_by_test_id("payout-cancel").click()
        expect(racer_page.get_by_test_id("payout-message")).to_contain_text(
            "cancelled: the money is back in your wallet", timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$40.00", timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("wallet-in-payout")).to_have_text("$0.00")
        expect(racer_page.get_by_test_id("my-payout").filter(has_text="cancelled by you")).to_have_count(1)
        expect(racer_page.get_by_test_id("payout-cancel")).to_have_count(0)
        summary = _wallet(db, served_app, SAM.id)
        assert (summary.available_cents, summary.in_payout_cents, summary.paid_out_cents) == (4000, 0, 0)

        admin_page.reload()
        expect(admin_page.get_by_test_id("pending-payout").filter(has_text="Sam")).to_have_count(
            0, timeout=PAGE_TIMEOUT_MS
        )
        decided = admin_page.get_by_test_id("decided-payout").filter(has_text=payout_number)
        expect(decided.filter(has_text="cancelled by the racer")).to_have_count(1)
    finally:
        for opened in (admin_page, racer_page, other_page):
            opened.context.close()

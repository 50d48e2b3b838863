"""A racer hears privately how their payout went: the bell, /notices, and a Discord DM.

In Chromium against the served production app: an admin rejects a racer's
request with a reason in the admin console; the racer's open wallet page, on
its next load, shows the bell with one unread notice; /notices shows the reason
and clears the bell; and the served app's bot sender delivers the same words
as a direct message to the fake Discord (tests/fake_discord.py), once.
"""

from __future__ import annotations

import time

import pytest

from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger, payouts, wallet
from cozykart.settings import load_settings
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID
from tests.e2e.test_money_pages import PAGE_TIMEOUT_MS, _expect, _new_page, _open_as
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
DM_WAIT_S = 20.0
DM_POLL_S = 0.25

RIA = FakeUser(id="80351110224678811", username="ria_notices", global_name="Ria", avatar=None)
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
REASON = "PayPal said the *account* is closed"


def _uow(db, served_app) -> UnitOfWork:
    return UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env))


def _racer_id(db, served_app, discord_id: str) -> int:
    return wallet.wallet_by_discord_id(discord_id, uow=_uow(db, served_app)).racer_id


def _dms_to(fake, discord_id: str) -> list[dict]:
    return [body for recipient, body in list(fake.direct_messages) if recipient == discord_id]


def test_a_rejected_payout_rings_the_racers_bell_and_reaches_their_dms(
    served_app, fake_discord_server, browser, db
):
    expect = _expect()
    admin_page, racer_page = _new_page(browser), _new_page(browser)
    try:
        _open_as(admin_page, served_app, fake_discord_server, ADMIN, "/admin/payouts")
        expect(admin_page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        _open_as(racer_page, served_app, fake_discord_server, RIA, "/wallet")
        expect(racer_page.get_by_test_id("account-name")).to_have_text("Ria", timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("notice-bell")).to_be_visible()
        expect(racer_page.get_by_test_id("notice-count")).to_have_count(0)

        ria = _racer_id(db, served_app, RIA.id)
        admin_id = _racer_id(db, served_app, E2E_ADMIN_DISCORD_ID)
        ledger.adjust_wallet(
            admin_id, ria, 3000, reason="e2e prize", key="e2e-notice-ria", uow=_uow(db, served_app)
        )
        payout_id = payouts.request_payout(ria, 2500, key="e2e-notice-ask", uow=_uow(db, served_app))

        admin_page.reload()
        row = admin_page.get_by_test_id("pending-payout").filter(has_text=f"#{payout_id}")
        expect(row).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        row.get_by_test_id("reject-reason").fill(REASON)
        row.get_by_test_id("reject-button").click()
        confirm = admin_page.get_by_test_id("confirm-yes")
        try:  # the confirm dialog, where there is one
            confirm.wait_for(state="visible", timeout=1500)
            confirm.click()
        except Exception:  # noqa: BLE001 - no dialog: the click itself acted
            pass
        expect(admin_page.get_by_text(f"Payout #{payout_id} rejected")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

        racer_page.reload()
        expect(racer_page.get_by_test_id("notice-count")).to_have_text("1", timeout=PAGE_TIMEOUT_MS)
        assert racer_page.get_by_test_id("notice-bell").get_attribute("aria-label") == "Notices: 1 unread"
        racer_page.get_by_test_id("notice-bell").click()
        racer_page.wait_for_url("**/notices**", timeout=PAGE_TIMEOUT_MS)
        line = racer_page.get_by_test_id("notice-line").first
        expect(line).to_contain_text("Payout rejected", timeout=PAGE_TIMEOUT_MS)
        expect(line).to_contain_text(f"Your payout #{payout_id} of $25.00 was rejected: {REASON}.")
        expect(line).to_contain_text("new")
        expect(racer_page.get_by_test_id("notice-count")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
        racer_page.reload()
        expect(racer_page.get_by_test_id("notice-line").first).not_to_contain_text(
            "new", timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_page.get_by_test_id("notice-count")).to_have_count(0)

        # The admin's page never shows Ria's notices: /notices is each racer's own.
        admin_page.goto(served_app.url("/notices"), timeout=PAGE_TIMEOUT_MS)
        expect(admin_page.get_by_test_id("notices-empty")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

        deadline = time.monotonic() + DM_WAIT_S
        while not _dms_to(fake_discord_server, RIA.id) and time.monotonic() < deadline:
            time.sleep(DM_POLL_S)
        (dm,) = _dms_to(fake_discord_server, RIA.id)
        assert dm["content"].startswith("**Payout rejected**\n")
        assert r"PayPal said the \*account\* is closed" in dm["content"]
        assert dm["allowed_mentions"] == {"parse": []}
    finally:
        admin_page.context.close()
        racer_page.context.close()

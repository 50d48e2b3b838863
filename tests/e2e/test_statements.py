"""The yearly statement in Chromium against the served production app: a racer downloads their own
from /wallet, an admin reads every racer's on /admin/statements and downloads the CSV, and a racer
is refused the admin page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger, wallet
from cozykart.settings import load_settings
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID
from tests.e2e.test_money_pages import PAGE_TIMEOUT_MS, _expect, _new_page, _open_as
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e

TESS = FakeUser(id="80351110224678831", username="tess_taxes", global_name="Tess", avatar=None)
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)


def _uow(db, served_app) -> UnitOfWork:
    return UnitOfWork(db.engine, handlers=db.handlers, settings=load_settings(served_app.env))


def test_a_racers_statement_and_the_leagues(served_app, fake_discord_server, browser, db):
    expect = _expect()
    year = str(datetime.now(UTC).year)
    racer_page, admin_page = _new_page(browser), _new_page(browser)
    try:
        _open_as(admin_page, served_app, fake_discord_server, ADMIN, "/admin/statements")
        expect(admin_page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        _open_as(racer_page, served_app, fake_discord_server, TESS, "/wallet")
        expect(racer_page.get_by_test_id("account-name")).to_have_text("Tess", timeout=PAGE_TIMEOUT_MS)
        tess = wallet.wallet_by_discord_id(TESS.id, uow=_uow(db, served_app)).racer_id
        admin_id = wallet.wallet_by_discord_id(E2E_ADMIN_DISCORD_ID, uow=_uow(db, served_app)).racer_id
        ledger.adjust_wallet(
            admin_id,
            tess,
            1234,
            reason="e2e season prize",
            key="e2e-statement-tess",
            uow=_uow(db, served_app),
        )

        racer_page.reload()
        expect(racer_page.get_by_test_id("statement-year")).to_have_value(year, timeout=PAGE_TIMEOUT_MS)
        with racer_page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
            racer_page.get_by_test_id("statement-csv").click()
        assert download.value.suggested_filename == f"cozykart-statement-{year}.csv"
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        assert rows[-1]["month"] == "total"
        assert (rows[-1]["adjustments_usd"], rows[-1]["net_earned_usd"]) == ("12.34", "12.34")
        assert "racer" not in rows[-1]  # the racer's own: no names column

        admin_page.reload()
        row = admin_page.get_by_test_id("statement-row").filter(has_text="Tess")
        expect(row).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        expect(row).to_contain_text("$12.34")
        admin_page.get_by_test_id("statement-year").fill("1999")
        admin_page.get_by_test_id("statement-show").click()
        expect(admin_page.get_by_test_id("statement-error")).to_have_text(
            "Give a year from 2000 to 2100, like 2026.", timeout=PAGE_TIMEOUT_MS
        )
        expect(admin_page.get_by_test_id("statement-year")).to_have_value("1999")  # kept, to be corrected
        admin_page.get_by_test_id("statement-year").fill(year)
        admin_page.get_by_test_id("statement-show").click()
        expect(admin_page.get_by_test_id("statement-error")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
        expect(admin_page.get_by_test_id("statement-row").filter(has_text="Tess")).to_have_count(1)
        with admin_page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
            admin_page.get_by_test_id("statements-csv").click()
        league = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        assert any(line["racer"] == "Tess" and line["month"] == "total" for line in league)

        racer_page.goto(served_app.url("/admin/statements"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("admin-refusal")).to_contain_text("admin", timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("statement-row")).to_have_count(0)
    finally:
        racer_page.context.close()
        admin_page.context.close()

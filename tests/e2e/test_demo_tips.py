"""A fan's demo tip in a real browser, reaching the DJ's wallet, on the app as `scripts/demo`
serves it: demo tips (COZYKART_DEMO_TIPS=1) are for dev mode only, so this runs against the
dev-mode app (`served_dev_app`), never the production build."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.services import wallet
from cozykart.services.handlers import HANDLERS
from cozykart.settings import load_settings
from tests.e2e.conftest import screenshot_dir

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
DEMO_DJ_DISCORD_ID = "demo-rosalina_rx"  # Rosa, the demo league's DJ


@pytest.fixture(scope="module")
def dev_db(served_dev_app) -> Iterator[UnitOfWork]:
    engine = create_db_engine(served_dev_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS)
    finally:
        engine.dispose()


def _wallet(dev_db, served_dev_app) -> wallet.WalletSummary:
    return wallet.wallet_by_discord_id(
        DEMO_DJ_DISCORD_ID,
        uow=UnitOfWork(dev_db.engine, handlers=dev_db.handlers, settings=load_settings(served_dev_app.env)),
    )


def test_a_fan_tips_in_demo_mode_and_the_djs_wallet_grows(served_dev_app, page, dev_db, tmp_path):
    from playwright.sync_api import expect

    before = _wallet(dev_db, served_dev_app)

    page.goto(served_dev_app.url("/tip"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("tip-demo-banner")).to_contain_text(
        "Demo mode: no card is charged", timeout=PAGE_TIMEOUT_MS
    )
    page.get_by_test_id("tip-preset").filter(has_text="$10.00").click()
    page.get_by_test_id("tip-song").fill("Rainbow Road (Wii)")
    page.get_by_test_id("tip-message").fill("One more lap!")
    page.get_by_test_id("tip-fan-name").fill("Fan Fiona")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "tip.png"), full_page=True)
    page.get_by_test_id("tip-send").click()

    expect(page.get_by_test_id("tip-thanks")).to_contain_text(
        "got your $10.00 tip (demo: no card was charged)", timeout=PAGE_TIMEOUT_MS
    )
    after = _wallet(dev_db, served_dev_app)
    assert after.held_cents - before.held_cents == 950  # $10.00 less the 5% fee, on hold
    assert after.lifetime_earned_cents - before.lifetime_earned_cents == 950
    history = wallet.wallet_history(after.racer_id, uow=dev_db, limit=1)
    assert history[0].description == "Tip from Fan Fiona for 'Rainbow Road (Wii)' ($10.00), less $0.50 fee"

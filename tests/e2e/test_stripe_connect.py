"""Stripe Connect in Chromium against the served production app and the local fake Stripe.

A racer on /me clicks "Connect with Stripe": the served app makes their Express
account and an account link, and the browser goes to the (fake) Stripe
onboarding page, which finishes at once and sends it back to the link's
return_url on the site; /me then reads the account and says it is ready, and
the racer chooses it as where to be paid. Their request shows in the admin's
queue with "Pay with Stripe": one click makes one transfer with the payout's
idempotency key, and the payout reads paid by Stripe with the transfer's id.
Then Stripe's signed events reach the served webhook: the transfer reversed puts
the money back in the racer's wallet (their /wallet says so), and an
account.updated that restricts the account shows on /me.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.integrations import stripe_payments
from cozykart.services import ledger, payouts, wallet
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.reconcile import reconcile
from cozykart.settings import load_settings
from tests.e2e.conftest import (
    E2E_ADMIN_DISCORD_ID,
    PROJECT_ROOT,
    STRIPE_WEBHOOK_SECRET,
    ServedApp,
    _app_env,
    _discord_env,
    _run_cli,
    serve_production,
)
from tests.e2e.test_money_pages import PAGE_TIMEOUT_MS, _expect, _new_page, _open_as
from tests.fake_discord import FakeUser
from tests.fake_stripe import API_KEY, FakeStripe, running_fake_stripe

pytestmark = pytest.mark.e2e

RIA = FakeUser(id="80351110224678901", username="ria_stripe", global_name="Ria", avatar=None)
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
CONFIRM_WAIT_MS = 1500


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        yield fake


@pytest.fixture(scope="module")
def stripe_app(tmp_path_factory, fake_discord_server, fake_stripe) -> Iterator[ServedApp]:
    workdir = tmp_path_factory.mktemp("stripe-connect-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-stripe"
    extra = {
        **_discord_env(fake_discord_server),
        "REFLEX_WEB_WORKDIR": web_dir,
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_API_BASE": fake_stripe.base_url,
    }
    env = _app_env(db_url, workdir / "states", extra)
    _run_cli(env, "migrate")
    with serve_production(env, db_url, workdir) as app:
        yield app


@pytest.fixture
def db(stripe_app) -> Iterator[UnitOfWork]:
    engine = create_db_engine(stripe_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS, settings=load_settings(stripe_app.env))
    finally:
        engine.dispose()


def _click_and_confirm(page, button) -> None:
    """Click; if a confirming dialog opens (the confirm engineer's), say yes."""
    button.click()
    yes = page.locator("[data-testid=confirm-yes]")
    try:
        yes.wait_for(state="visible", timeout=CONFIRM_WAIT_MS)
    except Exception:  # noqa: BLE001 - no dialog: the click itself acted
        return
    yes.click()


def _signed_post(app: ServedApp, event_id: str, event_type: str, obj: dict) -> str:
    """A Stripe event, signed with the served app's secret, to its webhook; the inbox status."""
    event = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    body = json.dumps(event)
    answer = httpx.post(
        app.url("/api/webhooks/stripe"),
        content=body,
        headers={
            "Stripe-Signature": stripe_payments.sign(body, STRIPE_WEBHOOK_SECRET),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["status"]


def _uow(db) -> UnitOfWork:
    return UnitOfWork(db.engine, handlers=db.handlers, settings=db.base_settings)


def test_a_racer_connects_stripe_from_me_and_the_admin_pays_with_one_click(
    stripe_app, fake_discord_server, fake_stripe, browser, db
):
    expect = _expect()
    admin_page, racer_page = _new_page(browser), _new_page(browser)
    try:
        _open_as(admin_page, stripe_app, fake_discord_server, ADMIN, "/admin/payouts")
        expect(admin_page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        _open_as(racer_page, stripe_app, fake_discord_server, RIA, "/me")
        expect(racer_page.get_by_test_id("stripe-status")).to_have_text(
            "Get payouts straight to your bank through Stripe: connect an account on Stripe's site.",
            timeout=PAGE_TIMEOUT_MS,
        )
        expect(racer_page.get_by_test_id("stripe-use")).to_have_count(0)

        fake_stripe.onboarding_completes = False  # the racer leaves Stripe's page before the end
        racer_page.get_by_test_id("stripe-connect").click()  # to Stripe's onboarding, and back
        racer_page.wait_for_url(re.compile(r"/me/?\?stripe=return$"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("stripe-status")).to_have_text(
            "Stripe: not ready yet: finish Stripe's set-up to receive payouts.", timeout=PAGE_TIMEOUT_MS
        )
        expect(racer_page.get_by_test_id("stripe-use")).to_have_count(0)

        fake_stripe.onboarding_completes = True
        racer_page.goto(stripe_app.url("/me?stripe=refresh"), timeout=PAGE_TIMEOUT_MS)  # Stripe's refresh_url
        racer_page.wait_for_url(re.compile(r"/me/?\?stripe=return$"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("stripe-status")).to_have_text(
            "Stripe: ready to receive payouts.", timeout=PAGE_TIMEOUT_MS
        )
        (account_id,) = fake_stripe.accounts
        assert [call[2] for call in fake_stripe.calls if call[1] == "/v1/accounts"] == [
            call[2] for call in fake_stripe.calls[:1]
        ], "the account was made once"
        onboarding = [call for call in fake_stripe.calls if call[1] == "/setup/e/"]
        assert len(onboarding) == 2, "the browser itself went to Stripe's page, twice"
        links = [call[3] for call in fake_stripe.calls if call[1] == "/v1/account_links"]
        assert len(links) == 2, "a refresh made a new link"
        for link in links:
            assert link["return_url"] == stripe_app.url("/me?stripe=return")
            assert link["refresh_url"] == stripe_app.url("/me?stripe=refresh")

        racer_page.get_by_test_id("stripe-use").click()
        expect(racer_page.get_by_test_id("dest-current")).to_have_text(
            f"Now: Stripe (connected account {account_id})", timeout=PAGE_TIMEOUT_MS
        )

        ria = wallet.wallet_by_discord_id(RIA.id, uow=_uow(db)).racer_id
        admin_id = wallet.wallet_by_discord_id(E2E_ADMIN_DISCORD_ID, uow=_uow(db)).racer_id
        ledger.adjust_wallet(admin_id, ria, 4000, reason="e2e prize", key="e2e-stripe-ria", uow=_uow(db))
        payout_id = payouts.request_payout(ria, 2500, key="e2e-stripe-ask", uow=_uow(db))

        admin_page.reload()
        row = admin_page.get_by_test_id("pending-payout").filter(has_text="Ria")
        expect(row.get_by_test_id("pending-destination")).to_have_text(
            f"Pay to: Stripe (connected account {account_id})", timeout=PAGE_TIMEOUT_MS
        )
        expect(row.get_by_test_id("pending-stripe-status")).to_have_text("Stripe: ready to receive payouts.")
        _click_and_confirm(admin_page, row.get_by_test_id("stripe-pay-button"))

        expect(admin_page.get_by_test_id("pending-payout").filter(has_text="Ria")).to_have_count(
            0, timeout=PAGE_TIMEOUT_MS
        )
        (transfer,) = fake_stripe.transfers
        decided = admin_page.get_by_test_id("decided-payout").filter(has_text="Ria")
        expect(decided).to_contain_text(f"by Stripe, ref {transfer['id']}", timeout=PAGE_TIMEOUT_MS)
        keys = [call[2] for call in fake_stripe.calls if call[1] == "/v1/transfers"]
        assert keys == [f"cozykart-payout-{payout_id}"]
        assert (transfer["amount"], transfer["destination"]) == (2500, account_id)
        summary = wallet.wallet_by_discord_id(RIA.id, uow=_uow(db))
        assert (summary.available_cents, summary.in_payout_cents, summary.paid_out_cents) == (1500, 0, 2500)

        # Stripe's events, signed, to the served webhook: the transfer reversed, the account restricted.
        reversed_transfer = {**transfer, "amount_reversed": 2500, "reversed": True}
        assert (
            _signed_post(stripe_app, "evt_e2e_reversed", "transfer.reversed", reversed_transfer) == "applied"
        )
        racer_page.goto(stripe_app.url("/wallet"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("wallet-available")).to_have_text("$40.00", timeout=PAGE_TIMEOUT_MS)
        expect(
            racer_page.get_by_test_id("wallet-line").filter(
                has_text=f"Payout #{payout_id} came back: Stripe reversed $25.00 of its transfer"
            )
        ).to_have_count(1)
        restricted = {**fake_stripe.accounts[account_id], "capabilities": {"transfers": "inactive"}}
        assert _signed_post(stripe_app, "evt_e2e_account", "account.updated", restricted) == "applied"
        racer_page.goto(stripe_app.url("/me"), timeout=PAGE_TIMEOUT_MS)
        expect(racer_page.get_by_test_id("stripe-status")).to_have_text(
            "Stripe: not ready yet: finish Stripe's set-up to receive payouts.", timeout=PAGE_TIMEOUT_MS
        )
        assert reconcile(uow=_uow(db)).clean
    finally:
        for opened in (admin_page, racer_page):
            opened.context.close()

"""The Live Pot is live: a webhook lands and every open dashboard shows the new pot
without reloading, with the feed line of the sale."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.integrations import stripe_payments
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads.pot import live_pot
from tests.e2e.conftest import STRIPE_WEBHOOK_SECRET

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
# The product's goal is one second (bench/ measures it); the test allows for a loaded CI machine.
PUSH_TIMEOUT_MS = 5_000


def _pot_cents(served_app) -> int:
    engine = create_db_engine(served_app.db_url)
    try:
        return live_pot(uow=UnitOfWork(engine, handlers=HANDLERS)).pot_cents
    finally:
        engine.dispose()


def _post_sale(served_app, amount_cents: int, fan_name: str) -> str:
    """Posts a signed Stripe sale; returns its payment intent (what a refund names).

    `fan_name` is the display name the checkout's metadata carries (what the app sets);
    the cardholder's `customer_details.name` is never shown, so it is another name here.
    """
    metadata = {"item": "Rainbow Road hoodie", "fan_name": fan_name}
    return _post_checkout(served_app, amount_cents, metadata, customer_name="Cardholder Private")


def _post_checkout(served_app, amount_cents: int, metadata: dict, *, customer_name: str | None = None) -> str:
    """Posts a signed, applied `checkout.session.completed` with `metadata`; returns its payment intent."""
    token = uuid.uuid4().hex[:12]
    _post(
        served_app,
        stripe_payments.checkout_completed_event(
            event_id=f"evt_{token}",
            session_id=f"cs_{token}",
            payment_intent=f"pi_{token}",
            amount_cents=amount_cents,
            currency="usd",
            created=int(datetime.now(UTC).timestamp()),
            metadata=metadata,
            customer_name=customer_name,
        ),
    )
    return f"pi_{token}"


def _post_full_refund(served_app, payment_intent: str, amount_cents: int) -> None:
    """Posts a signed, applied `charge.refunded` giving back all `amount_cents` of `payment_intent`."""
    _post(
        served_app,
        stripe_payments.charge_refunded_event(
            event_id=f"evt_refund_{payment_intent}",
            charge_id=f"ch_{payment_intent}",
            payment_intent=payment_intent,
            amount_cents=amount_cents,
            amount_refunded_cents=amount_cents,
            currency="usd",
            created=int(datetime.now(UTC).timestamp()),
        ),
    )


def _post(served_app, event: dict) -> None:
    body = json.dumps(event)
    response = httpx.post(
        served_app.url("/api/webhooks/stripe"),
        content=body,
        timeout=10,
        headers={"Stripe-Signature": stripe_payments.sign(body, STRIPE_WEBHOOK_SECRET)},
    )
    assert response.json()["status"] == "applied", response.text


def test_two_open_dashboards_see_a_sale_raise_the_pot_without_reloading(served_app, browser):
    viewers = [browser.new_context().new_page() for _ in range(2)]
    try:
        before_cents = _pot_cents(served_app)
        for viewer in viewers:
            viewer.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
            expect(viewer.get_by_test_id("pot-amount")).to_have_text(
                format_cents(before_cents), timeout=PAGE_TIMEOUT_MS
            )

        started = time.monotonic()
        _post_sale(served_app, 4000, "Wanda")
        expected = format_cents(before_cents + 800)  # 20% of $40.00
        for viewer in viewers:
            expect(viewer.get_by_test_id("pot-amount")).to_have_text(expected, timeout=PUSH_TIMEOUT_MS)
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"live pot reached 2 viewers {elapsed_ms:.0f} ms after the webhook was posted")

        for viewer in viewers:
            expect(viewer.get_by_test_id("feed-line").first).to_contain_text(
                "Wanda bought Rainbow Road hoodie"
            )
            assert viewer.url == served_app.url("/")  # no reload, no navigation
    finally:
        for viewer in viewers:
            viewer.context.close()


def test_a_refund_lowers_the_pot_and_marks_its_sale_in_the_feed_without_reloading(served_app, browser):
    context = browser.new_context()
    viewer = context.new_page()
    try:
        viewer.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
        before_cents = _pot_cents(served_app)
        expect(viewer.get_by_test_id("pot-amount")).to_have_text(
            format_cents(before_cents), timeout=PAGE_TIMEOUT_MS
        )
        payment_intent = _post_sale(served_app, 5000, "Rex")
        expect(viewer.get_by_test_id("pot-amount")).to_have_text(
            format_cents(before_cents + 1000), timeout=PUSH_TIMEOUT_MS
        )
        sale_line = viewer.get_by_test_id("feed-line").filter(has_text="Rex bought Rainbow Road hoodie")
        expect(sale_line.get_by_test_id("feed-reversal")).to_have_count(0)

        _post_full_refund(served_app, payment_intent, 5000)
        expect(viewer.get_by_test_id("pot-amount")).to_have_text(
            format_cents(before_cents), timeout=PUSH_TIMEOUT_MS
        )
        # A refunded payment is shown, but never beside the fan's name.
        expect(sale_line).to_have_count(0, timeout=PUSH_TIMEOUT_MS)
        refunded = viewer.get_by_test_id("feed-line").filter(has=viewer.get_by_test_id("feed-reversal")).first
        expect(refunded).to_contain_text("A fan bought Rainbow Road hoodie", timeout=PUSH_TIMEOUT_MS)
        expect(refunded.get_by_test_id("feed-reversal")).to_have_text("refunded")
        assert viewer.url == served_app.url("/")
    finally:
        context.close()


def test_api_pot_answers_the_public_shape(served_app):
    body = httpx.get(served_app.url("/api/pot"), timeout=10).json()
    assert set(body) == {"race", "pot_cents", "currency"}
    assert body["race"]["status"] == "live"
    assert body["pot_cents"] == _pot_cents(served_app)


def test_before_the_pot_is_seeded_the_ticker_says_it_is_loading(served_app, browser):
    # The viewer's socket never connects, so `join` never seeds it: the ticker must not
    # claim a $0.00 pot or that no race is on while a race is live.
    context = browser.new_context()
    viewer = context.new_page()
    try:
        viewer.route_web_socket(re.compile(r".*/_event.*"), lambda ws: ws.close())
        viewer.goto(served_app.url("/"), timeout=PAGE_TIMEOUT_MS)
        expect(viewer.get_by_test_id("pot-message")).to_have_text("Loading the pot…", timeout=PAGE_TIMEOUT_MS)
        assert viewer.get_by_test_id("pot-amount").inner_text() == "—"
        assert _pot_cents(served_app) > 0  # the real pot is not zero: the placeholder is not a coincidence
    finally:
        context.close()

"""Tipping the DJ (services/tips.py): Stripe Checkout through a fake Stripe on loopback, and the
demo mode, which signs the webhook Stripe would send and goes through the inbox to the ledger.

Demo tips exist only when COZYKART_DEMO_TIPS=1 and never in production mode: a
merch-only deployment (STRIPE_WEBHOOK_SECRET set, no STRIPE_API_KEY) must not let
an anonymous fan credit a DJ money nobody paid."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from cozykart.db.inbox_tables import WebhookEvent
from cozykart.db.tables import Racer
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.ledger import house_code, wallet_code
from cozykart.domain.payments import CheckoutFailed, TipsUnavailable
from cozykart.services import tips, wallet
from cozykart.services.reads import reconcile
from cozykart.settings import load_settings
from tests.fake_stripe import API_KEY, running_fake_stripe
from tests.integration.ledger_support import make_racers
from tests.integration.webhook_support import STRIPE_SECRET, balance, webhook_settings

SITE = "http://127.0.0.1:3000"


@pytest.fixture
def fake_stripe():
    with running_fake_stripe() as fake:
        yield fake


def _with_dj(database) -> tuple[int, str]:
    racer_id = make_racers(database, 2, prefix="dj")[0]
    with database.uow() as uow:
        racer = uow.session.get(Racer, racer_id)
        racer.is_dj = True
        discord_id = racer.discord_id
        uow.session.add(racer)
        uow.commit()
    return racer_id, discord_id


def _demo_settings(database, **overrides):
    """Demo tips switched on, as `./scripts/demo` does (dev mode, COZYKART_DEMO_TIPS=1)."""
    return webhook_settings(database, demo_tips=True, **overrides)


def _env_settings(database, **env: str):
    """Settings read from an environment like a served app's: the Stripe webhook secret, no API key."""
    return load_settings({"REFLEX_DB_URL": database.url, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET, **env})


def _nothing_recorded(database, dj_id: int) -> None:
    assert balance(database, wallet_code(dj_id)) == 0
    with database.uow() as uow:
        assert uow.session.exec(select(WebhookEvent)).all() == []


def _tip(database, settings, dj_discord_id: str, *, tip_cents: int = 500, key: str = "k1", **fields):
    values = {"song": "Coconut Mall", "message": "Turn it up", "fan_name": "Theo"} | fields
    return tips.start_tip(
        dj_discord_id=dj_discord_id,
        tip_cents=tip_cents,
        key=key,
        site_url=SITE + "/tip",
        uow=database.uow(settings),
        **values,
    )


def test_tip_options_list_the_djs_presets_and_the_mode(database):
    _dj_id, discord_id = _with_dj(database)
    options = tips.tip_options(uow=database.uow(_demo_settings(database)))
    assert options.mode == tips.MODE_DEMO
    assert [dj.discord_id for dj in options.djs] == [discord_id]
    assert options.presets_cents == (200, 500, 1000)
    assert (
        tips.tip_options(uow=database.uow(_demo_settings(database, stripe_webhook_secret=None))).mode
        == tips.MODE_OFF
    )


def test_stripe_mode_creates_a_checkout_session_with_tip_metadata_on_the_configured_api_base(
    database, fake_stripe
):
    dj_id, discord_id = _with_dj(database)
    settings = webhook_settings(database, stripe_api_key=API_KEY, stripe_api_base=fake_stripe.base_url)

    started = _tip(database, settings, discord_id, tip_cents=1000)

    assert started.mode == tips.MODE_STRIPE
    assert started.checkout_url.startswith("https://checkout.stripe.test/c/pay/cs_test_")
    (form,) = fake_stripe.sessions
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "1000"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["metadata[kind]"] == "tip"
    assert form["metadata[dj]"] == discord_id
    assert (form["metadata[song]"], form["metadata[message]"], form["metadata[fan_name]"]) == (
        "Coconut Mall",
        "Turn it up",
        "Theo",
    )
    assert form["success_url"] == f"{SITE}/tip?tipped=1"
    assert form["cancel_url"] == f"{SITE}/tip?cancelled=1"
    # Nothing is in the ledger until Stripe's webhook says the fan paid.
    assert balance(database, wallet_code(dj_id)) == 0


def test_a_repeated_click_is_the_same_checkout_session(database, fake_stripe):
    _dj_id, discord_id = _with_dj(database)
    settings = webhook_settings(database, stripe_api_key=API_KEY, stripe_api_base=fake_stripe.base_url)
    first = _tip(database, settings, discord_id, key="same")
    second = _tip(database, settings, discord_id, key="same")
    assert first.checkout_url == second.checkout_url
    assert len(fake_stripe.sessions) == 1


def test_stripe_failing_is_a_clear_error_and_charges_nothing(database, fake_stripe):
    _dj_id, discord_id = _with_dj(database)
    settings = webhook_settings(
        database, stripe_api_key="sk_test_wrong", stripe_api_base=fake_stripe.base_url
    )
    with pytest.raises(CheckoutFailed, match="nothing was charged"):
        _tip(database, settings, discord_id)
    assert fake_stripe.refusals == ["Invalid API Key provided"]


def test_demo_tip_goes_through_the_signed_webhook_inbox_and_credits_the_dj_less_the_fee(database):
    dj_id, discord_id = _with_dj(database)
    settings = _demo_settings(database)

    started = _tip(database, settings, discord_id, tip_cents=1000)

    assert (started.mode, started.inbox_status, started.checkout_url) == (tips.MODE_DEMO, "applied", None)
    assert balance(database, wallet_code(dj_id)) == 950
    assert balance(database, house_code()) == 50
    with database.uow() as uow:
        (event,) = uow.session.exec(select(WebhookEvent)).all()
        assert (event.provider, event.event_type, event.fact_kind) == (
            "stripe",
            "checkout.session.completed",
            "tip",
        )
    lines = wallet.wallet_history(dj_id, uow=database.uow())
    assert "Tip from Theo for 'Coconut Mall' ($10.00), less $0.50 fee" in lines[0].description
    assert reconcile.reconcile(uow=database.uow()).clean


def test_a_repeated_demo_tip_with_the_same_key_is_credited_once(database):
    dj_id, discord_id = _with_dj(database)
    settings = _demo_settings(database)
    _tip(database, settings, discord_id, key="double-click")
    again = _tip(database, settings, discord_id, key="double-click")
    assert again.inbox_status == "applied"
    assert balance(database, wallet_code(dj_id)) == 475
    _tip(database, settings, discord_id, key="another tip")
    assert balance(database, wallet_code(dj_id)) == 950


@pytest.mark.parametrize(
    ("tip_cents", "fields", "error"),
    [
        (50, {}, "between $1.00 and $500.00"),
        (50_001, {}, "between $1.00 and $500.00"),
        (500, {"message": "x" * 281}, "at most 280 characters"),
        (500, {"fan_name": "y" * 61}, "at most 60 characters"),
    ],
)
def test_bad_tips_are_refused_with_a_message_and_record_nothing(database, tip_cents, fields, error):
    _dj_id, discord_id = _with_dj(database)
    with pytest.raises(InvalidInput, match=re.escape(error)):
        _tip(database, _demo_settings(database), discord_id, tip_cents=tip_cents, **fields)
    with database.uow() as uow:
        assert uow.session.exec(select(WebhookEvent)).all() == []


def test_a_tip_for_someone_who_is_not_a_dj_is_refused(database):
    _with_dj(database)
    not_dj = make_racers(database, 1, prefix="plain")[0]
    with database.uow() as uow:
        plain_discord_id = uow.session.get(Racer, not_dj).discord_id
    with pytest.raises(NotFound):
        _tip(database, _demo_settings(database), plain_discord_id)


def test_without_stripe_keys_tips_are_off(database):
    _dj_id, discord_id = _with_dj(database)
    with pytest.raises(TipsUnavailable):
        _tip(database, _demo_settings(database, stripe_webhook_secret=None), discord_id)


def test_a_webhook_secret_without_stripe_checkout_takes_no_tips(database):
    """A merch-only set-up: the server must not sign tips for itself with the webhook secret."""
    dj_id, discord_id = _with_dj(database)
    settings = _env_settings(database)

    assert tips.tip_options(uow=database.uow(settings)).mode == tips.MODE_OFF
    for attempt in range(3):
        with pytest.raises(TipsUnavailable, match="unavailable"):
            _tip(database, settings, discord_id, tip_cents=50_000, key=f"anonymous-{attempt}")
    _nothing_recorded(database, dj_id)


@pytest.mark.parametrize("demo_tips", ["", "1"])
def test_in_production_without_stripe_checkout_tips_are_refused_whatever_the_demo_flag(database, demo_tips):
    dj_id, discord_id = _with_dj(database)
    settings = _env_settings(database, REFLEX_ENV_MODE="prod", COZYKART_DEMO_TIPS=demo_tips)

    assert tips.tip_options(uow=database.uow(settings)).mode == tips.MODE_OFF
    with pytest.raises(TipsUnavailable, match="unavailable"):
        _tip(database, settings, discord_id, tip_cents=1000)
    _nothing_recorded(database, dj_id)


def test_cozykart_demo_tips_in_dev_mode_switches_the_demo_on(database):
    dj_id, discord_id = _with_dj(database)
    settings = _env_settings(database, REFLEX_ENV_MODE="dev", COZYKART_DEMO_TIPS="1")

    started = _tip(database, settings, discord_id, tip_cents=1000)

    assert (started.mode, started.inbox_status) == (tips.MODE_DEMO, "applied")
    assert balance(database, wallet_code(dj_id)) == 950


def test_in_production_stripe_checkout_still_takes_tips(database, fake_stripe):
    dj_id, discord_id = _with_dj(database)
    settings = _env_settings(
        database, REFLEX_ENV_MODE="prod", STRIPE_API_KEY=API_KEY, STRIPE_API_BASE=fake_stripe.base_url
    )

    started = _tip(database, settings, discord_id, tip_cents=1000)

    assert started.mode == tips.MODE_STRIPE
    assert len(fake_stripe.sessions) == 1
    _nothing_recorded(database, dj_id)  # until Stripe's webhook says the fan paid

"""Settings come from the environment, with SPEC's defaults and clear errors."""

from __future__ import annotations

import pytest

from cozykart.settings import SettingsError, default_db_url, load_settings


def test_defaults_match_the_spec():
    settings = load_settings({})
    assert settings.db_url == default_db_url()
    assert settings.is_sqlite
    assert (settings.commission_rate_bps, settings.tip_fee_bps) == (2000, 500)
    assert (settings.payout_min_cents, settings.hold_days, settings.currency) == (2000, 7, "USD")
    assert settings.admin_discord_ids == frozenset()
    assert settings.dev_login is False


def test_values_are_read_and_normalised():
    settings = load_settings(
        {
            "REFLEX_DB_URL": "postgresql+psycopg://u@127.0.0.1/x",
            "COZYKART_ADMIN_DISCORD_IDS": " 12, 34 ,,",
            "COZYKART_CURRENCY": "eur",
            "COZYKART_COMMISSION_RATE_BPS": "2500",
            "COZYKART_DEV_LOGIN": "1",
        }
    )
    assert not settings.is_sqlite
    assert settings.admin_discord_ids == frozenset({"12", "34"})
    assert settings.currency == "EUR"
    assert settings.commission_rate_bps == 2500
    assert settings.dev_login is True


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COZYKART_COMMISSION_RATE_BPS", "20%", "must be a whole number"),
        ("COZYKART_TIP_FEE_BPS", "10001", "between 0 and 10000"),
        ("COZYKART_PAYOUT_MIN_CENTS", "0", "between 1 and"),
        ("COZYKART_CURRENCY", "dollars", "three-letter ISO code"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(name, value, message):
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings({name: value})
    assert name in str(raised.value)


def test_secrets_are_kept_out_of_the_repr():
    settings = load_settings({"STRIPE_WEBHOOK_SECRET": "whsec_very_secret", "SHOPIFY_WEBHOOK_SECRET": "shh"})
    assert "whsec_very_secret" not in repr(settings)
    assert "shh" not in repr(settings)


def test_the_site_address_is_an_origin_without_a_trailing_slash():
    assert load_settings({}).site_url is None
    assert load_settings({"COZYKART_SITE_URL": " https://kart.example/ "}).site_url == "https://kart.example"
    assert load_settings({"COZYKART_SITE_URL": "http://127.0.0.1:3000"}).site_url == "http://127.0.0.1:3000"


@pytest.mark.parametrize(
    "value",
    [
        "kart.example",
        "javascript:alert(1)",
        "https://kart.example/path",
        "https://kart.example?x=1",
        "https://kart.example/#top",
        "https://kart.example)[x](https://evil.example",
        "https://ka rt.example",
        "https://" + "k" * 200 + ".example",
    ],
)
def test_a_site_address_that_is_not_one_is_refused(value):
    with pytest.raises(SettingsError, match="COZYKART_SITE_URL"):
        load_settings({"COZYKART_SITE_URL": value})


def test_the_receipt_link_in_discord_is_the_receipt_page():
    from cozykart.services.announcements import race_receipt_url
    from cozykart.ui import routes

    assert race_receipt_url("https://kart.example", 42) == "https://kart.example" + routes.race_path(42)
    assert race_receipt_url(None, 42) is None

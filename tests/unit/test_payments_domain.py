"""The provider-neutral payment facts (domain/payments.py): amounts, instants, keys, the inbox record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain.errors import CozyKartError, InvalidInput
from cozykart.domain.money import AMOUNT_CENTS_MAX
from cozykart.domain.payments import (
    EVENT_ID_LENGTH_MAX,
    FACT_TYPES,
    KEY_LENGTH_MAX,
    AccountUpdated,
    CheckoutPending,
    DisputeOpened,
    DisputeWon,
    Ignored,
    MalformedWebhook,
    Refund,
    Sale,
    Tip,
    TransferReversed,
    VerifiedEvent,
    WebhookRejected,
    decimal_amount_cents,
    fact_from_record,
    instant_from_iso,
    instant_from_unix,
    nothing_paid,
    provider_cents,
)

T0 = datetime(2026, 3, 1, 20, 15, 30, 123456, tzinfo=UTC)


def refusal(call, *args) -> str:
    with pytest.raises(MalformedWebhook) as caught:
        call(*args)
    return str(caught.value)


def sale(**changes) -> Sale:
    values = {
        "currency": "USD",
        "payment_key": "kofi:tx-1",
        "gross_cents": 2550,
        "sold_at": T0,
        "item": "Cap",
    }
    return Sale(**{**values, **changes})


def tip(**changes) -> Tip:
    values = {
        "currency": "USD",
        "payment_key": "kofi:tx-2",
        "tip_cents": 500,
        "tipped_at": T0,
        "song": "Rainbow Road",
    }
    return Tip(**{**values, **changes})


# --- amounts ------------------------------------------------------------------


def test_errors_are_the_ones_entry_points_answer():
    assert issubclass(MalformedWebhook, InvalidInput)
    assert issubclass(WebhookRejected, CozyKartError)


def test_provider_cents_takes_whole_cents_from_zero_to_the_limit():
    assert provider_cents(0, "amount") == 0
    assert provider_cents(1, "amount") == 1
    assert provider_cents(AMOUNT_CENTS_MAX, "amount") == AMOUNT_CENTS_MAX


@pytest.mark.parametrize("value", [-1, True, False, 1.0, "100", None])
def test_provider_cents_refuses_what_is_not_whole_cents(value):
    assert refusal(provider_cents, value, "data.amount") == "data.amount is not a whole number of cents"


def test_provider_cents_refuses_one_cent_above_the_limit():
    assert (
        refusal(provider_cents, AMOUNT_CENTS_MAX + 1, "total")
        == "total is above the limit of $100,000,000.00"
    )


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("25.50", 2550),  # Ko-fi and Shopify send cents: never $24.50 (units - fraction)
        ("3.5", 350),  # one decimal is tenths: never $3.05 (rjust)
        ("3.05", 305),
        ("3", 300),
        ("0.01", 1),
        ("0", 0),
        (" 12.00 ", 1200),
        ("100000000", AMOUNT_CENTS_MAX),
        ("999999999", None),
    ],
)
def test_decimal_amounts_as_the_providers_send_them(text, cents):
    if cents is None:
        assert refusal(decimal_amount_cents, text, "order.total_price") == (
            "order.total_price is above the limit of $100,000,000.00"
        )
    else:
        assert decimal_amount_cents(text, "order.total_price") == cents


def test_a_sale_with_cents_is_recorded_to_the_cent():
    assert decimal_amount_cents("25.50", "data.amount") == 2550
    assert decimal_amount_cents("24.50", "data.amount") == 2450


@given(st.integers(0, 99_999_999), st.integers(0, 99))
def test_any_decimal_amount_is_units_times_a_hundred_plus_cents(units, cents):
    assert decimal_amount_cents(f"{units}.{cents:02d}", "amount") == units * 100 + cents
    if cents % 10 == 0:
        assert decimal_amount_cents(f"{units}.{cents // 10}", "amount") == units * 100 + cents


@pytest.mark.parametrize(
    "text",
    [
        "$ 20",
        "$20",
        "20,00",
        "1,000.00",
        "3.505",
        "-3.00",
        "+3",
        "1e3",
        ".5",
        "5.",
        "\u0663",
        "\uff13",
        "1000000000",
        "",
        "nan",
    ],
)
def test_decimal_amounts_that_are_refused(text):
    assert refusal(decimal_amount_cents, text, "data.amount") == "data.amount is not a decimal amount"


@pytest.mark.parametrize("value", [25, 25.5, None, b"25.00"])
def test_a_decimal_amount_must_be_text(value):
    assert refusal(decimal_amount_cents, value, "data.amount") == "data.amount is not a decimal amount"


# --- instants -----------------------------------------------------------------


def test_unix_timestamps_from_one_second_after_the_epoch():
    assert instant_from_unix(1, "event.created") == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert instant_from_unix(1_772_000_000, "event.created") == datetime.fromtimestamp(1_772_000_000, UTC)
    assert instant_from_unix(1, "event.created").tzinfo is UTC


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "1772000000", None, 10**20])
def test_unix_timestamps_that_are_refused(value):
    assert refusal(instant_from_unix, value, "event.created") == "event.created is not a Unix timestamp"


def test_iso_timestamps_are_read_with_their_zone_and_kept_in_utc():
    assert instant_from_iso("2026-03-01T20:15:30Z", "t") == datetime(2026, 3, 1, 20, 15, 30, tzinfo=UTC)
    assert instant_from_iso("2026-03-01T15:15:30-05:00", "t") == datetime(2026, 3, 1, 20, 15, 30, tzinfo=UTC)
    assert instant_from_iso("2026-03-01T15:15:30-05:00", "t").utcoffset() == timedelta(0)


def test_iso_timestamps_that_are_refused():
    assert refusal(instant_from_iso, "2026-03-01T20:15:30", "order.processed_at") == (
        "order.processed_at has no time zone"
    )
    assert (
        refusal(instant_from_iso, "yesterday", "order.processed_at")
        == "order.processed_at is not a timestamp"
    )
    assert (
        refusal(instant_from_iso, 1_772_000_000, "order.processed_at")
        == "order.processed_at is not a timestamp"
    )
    assert refusal(instant_from_iso, None, "order.processed_at") == "order.processed_at is not a timestamp"


# --- facts --------------------------------------------------------------------


def test_every_amount_of_a_fact_is_checked_when_it_is_made():
    with pytest.raises(MalformedWebhook) as caught:
        sale(gross_cents=-1)
    assert str(caught.value) == "the amount gross_cents is not a whole number of cents"
    with pytest.raises(MalformedWebhook):
        Refund(
            currency="USD", payment_key="p", refund_key="r", amount_cents=AMOUNT_CENTS_MAX + 1, refunded_at=T0
        )
    with pytest.raises(MalformedWebhook):
        tip(tip_cents=1.5)


def test_keys_are_one_to_150_characters():
    assert sale(payment_key="k" * KEY_LENGTH_MAX).payment_key == "k" * KEY_LENGTH_MAX
    assert sale(payment_key="k").payment_key == "k"
    assert sale(charge_key=None).charge_key is None
    for bad in ("", "k" * (KEY_LENGTH_MAX + 1), 12):
        with pytest.raises(MalformedWebhook) as caught:
            sale(payment_key=bad)
        assert str(caught.value) == "the payment_key is not an id of 1 to 150 characters"
    with pytest.raises(MalformedWebhook) as caught:
        sale(charge_key="")
    assert str(caught.value) == "the charge_key is not an id of 1 to 150 characters"


def test_a_fact_that_is_not_a_key_or_an_amount_is_not_checked():
    assert sale(item="").item == ""
    assert Ignored(currency="", reason="").reason == ""


ALL_FACTS = [
    sale(
        skus=(("CAP-1", 2), ("MUG", 1)),
        fan_name="Toad",
        payer_name="T. Oad",
        delayed_payment=True,
        charge_key="ch_1",
    ),
    tip(fan_name="Peach", message="for the DJ", dj="dj#1", private=True),
    Refund(
        currency="EUR",
        payment_key="shopify:1",
        refund_key="shopify:9",
        amount_cents=350,
        refunded_at=T0,
        cumulative=True,
    ),
    DisputeOpened(
        currency="USD", payment_key="stripe:pi_1", dispute_key="dp_1", amount_cents=2550, opened_at=T0
    ),
    DisputeWon(currency="USD", payment_key="stripe:pi_1", dispute_key="dp_1", reinstated_at=T0),
    CheckoutPending(currency="USD", payment_key="stripe:pi_2", completed_at=T0),
    Ignored(currency="USD", reason="Ko-fi Subscription is not used"),
    TransferReversed(currency="USD", transfer_key="tr_1", reversed_total_cents=1200, reversed_at=T0),
    AccountUpdated(currency="", account_key="acct_1", can_receive_transfers=True, payouts_enabled=False),
]


def test_every_kind_of_fact_has_its_own_name_in_the_inbox():
    assert [fact.to_record()["kind"] for fact in ALL_FACTS] == [
        "sale",
        "tip",
        "refund",
        "dispute_opened",
        "dispute_won",
        "checkout_pending",
        "ignored",
        "transfer_reversed",
        "account_updated",
    ]
    assert {type(fact).kind: type(fact) for fact in ALL_FACTS} == FACT_TYPES


def test_a_record_holds_instants_as_iso_text():
    record = ALL_FACTS[0].to_record()
    assert record["sold_at"] == "2026-03-01T20:15:30.123456+00:00"
    assert record["skus"] == (("CAP-1", 2), ("MUG", 1))
    assert record["gross_cents"] == 2550


@pytest.mark.parametrize("fact", ALL_FACTS, ids=lambda fact: fact.kind)
def test_every_fact_survives_the_inbox_as_json(fact):
    """A retried event is read back from JSON: nothing may change, SKUs included (costs are deducted by SKU)."""
    stored = json.loads(json.dumps(fact.to_record()))
    read_back = fact_from_record(stored)
    assert read_back == fact
    assert type(read_back) is type(fact)


def test_a_retried_shopify_sale_keeps_its_skus():
    stored = json.loads(json.dumps(sale(skus=(("CAP-1", 2),)).to_record()))
    assert fact_from_record(stored).skus == (("CAP-1", 2),)
    assert isinstance(fact_from_record(stored).skus[0], tuple)


def test_an_instant_read_back_keeps_its_zone():
    east = datetime(2026, 3, 1, 22, 0, tzinfo=timezone(timedelta(hours=2)))
    read_back = fact_from_record(json.loads(json.dumps(sale(sold_at=east).to_record())))
    assert read_back.sold_at == east and read_back.sold_at.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ({"currency": "USD"}, "KeyError: 'kind'"),
        ({"kind": "gift", "currency": "USD"}, "KeyError: 'gift'"),
        ({**sale().to_record(), "sold_at": "soon"}, "ValueError: Invalid isoformat string: 'soon'"),
        ({**sale().to_record(), "colour": "red"}, "TypeError"),
        ({**sale().to_record(), "skus": [["CAP"]]}, "ValueError"),
    ],
)
def test_a_record_that_cannot_be_read_back_is_malformed(record, error):
    message = refusal(fact_from_record, record)
    assert message.startswith(f"the stored event cannot be read ({error}")
    assert message.endswith(")")


def test_reading_a_record_does_not_change_it():
    record = sale().to_record()
    kept = dict(record)
    fact_from_record(record)
    assert record == kept


def test_nothing_paid_is_a_sale_or_tip_of_zero():
    assert nothing_paid(sale(gross_cents=0))
    assert nothing_paid(tip(tip_cents=0))
    assert not nothing_paid(sale(gross_cents=1))
    assert not nothing_paid(tip(tip_cents=1))
    assert not nothing_paid(
        Refund(currency="USD", payment_key="p", refund_key="r", amount_cents=0, refunded_at=T0)
    )


def test_public_surfaces_show_only_a_chosen_name_and_never_a_private_message():
    assert sale(fan_name="Toad").public_name == "Toad"
    assert sale(fan_name="Toad", private=True).public_name is None
    assert tip(message="hi").public_message == "hi"
    assert tip(message="hi", private=True).public_message is None
    assert tip(fan_name="Peach", private=True).public_name is None


def test_a_verified_event_needs_a_known_provider_and_a_usable_id():
    fact = sale()
    assert (
        VerifiedEvent("kofi", "e" * EVENT_ID_LENGTH_MAX, "Shop Order", fact).event_id
        == "e" * EVENT_ID_LENGTH_MAX
    )
    for event_id in ("", "e" * (EVENT_ID_LENGTH_MAX + 1)):
        with pytest.raises(MalformedWebhook) as caught:
            VerifiedEvent("kofi", event_id, "Shop Order", fact)
        assert str(caught.value) == "the event has no usable id"
    with pytest.raises(AssertionError):
        VerifiedEvent("paypal", "e1", "sale", fact)

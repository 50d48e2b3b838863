"""A racer's payout destination: each method takes what it needs, validated, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain.errors import InvalidInput
from cozykart.domain.payout_destination import (
    PayoutDestination,
    destination_from_form,
    grouped_iban,
    stripe_destination,
)

# Example IBANs printed in ISO 13616 and by the banks' registry (valid check digits).
VALID_IBANS = ("GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "NO93 8601 1117 947")


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_a_bank_destination_keeps_the_iban_compact_and_shows_it_grouped(iban):
    destination = destination_from_form(
        "bank", account_holder="  Ana   Lopez ", iban=iban.lower(), email="x@y.z"
    )
    assert destination.iban == iban.replace(" ", "")
    assert destination.account_holder == "Ana Lopez"
    assert destination.email is None, "only what the method needs is kept"
    assert destination.words == f"bank transfer to Ana Lopez, IBAN {iban}"


@pytest.mark.parametrize(
    "iban",
    ["GB82 WEST 1234 5698 7654 33", "DE88 3704 0044 0532 0130 00", "GB82", "1282WEST12345698765432", ""],
)
def test_a_mistyped_iban_is_refused(iban):
    with pytest.raises(InvalidInput, match="IBAN"):
        destination_from_form("bank", account_holder="Ana", iban=iban)


@pytest.mark.parametrize("method", ["paypal", "PayPal", "gift card", "gift-card"])
def test_email_methods_need_an_email(method):
    destination = destination_from_form(method, email=" ana@example.com ", iban="GB82WEST12345698765432")
    assert destination.email == "ana@example.com" and destination.iban is None
    assert destination.words.endswith("to ana@example.com")
    for bad in ("", "ana", "ana@", "@example.com", "ana@example", "ana lopez@example.com", "a@b@example.com"):
        with pytest.raises(InvalidInput, match="email"):
            destination_from_form(method, email=bad)


def test_store_credit_needs_nothing_and_stripe_is_connected_not_typed():
    assert destination_from_form("store credit", email="ana@example.com") == PayoutDestination("store_credit")
    with pytest.raises(InvalidInput, match="connect your Stripe account"):
        destination_from_form("stripe")
    with pytest.raises(InvalidInput, match="Choose how to be paid"):
        destination_from_form("gold bars")
    assert stripe_destination("acct_123").words == "Stripe (connected account acct_123)"
    with pytest.raises(InvalidInput):
        stripe_destination("ana@example.com")


@given(
    st.sampled_from(VALID_IBANS),
    st.text(min_size=1, max_size=70).filter(lambda s: " ".join(s.split()) and s.isprintable()),
)
def test_a_destination_survives_its_record(iban, holder):
    destination = destination_from_form("bank", account_holder=holder, iban=iban)
    assert PayoutDestination.from_record(destination.to_record()) == destination
    assert PayoutDestination.from_record(None) is None


def test_grouping_is_by_four():
    assert grouped_iban("GB82WEST12345698765432") == "GB82 WEST 1234 5698 7654 32"

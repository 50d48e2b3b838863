"""Stripe Connect through the SDK against a local fake Stripe that records every call.

The calls and the objects are those of Stripe's API reference (accounts/create,
account_links/create, accounts/retrieve, transfers/create); the fake answers a
repeated Idempotency-Key with its first answer, as Stripe does, so a payout's
transfer retried (a second click, a crash before our commit) is sent once.
"""

from __future__ import annotations

import pytest

from cozykart.domain.payments import StripeConnectFailed, StripeTransferRefused
from cozykart.integrations import stripe_connect
from tests.fake_stripe import API_KEY, finish_onboarding, running_fake_stripe

RETURN_URL = "http://127.0.0.1:3000/me?stripe=return"
REFRESH_URL = "http://127.0.0.1:3000/me?stripe=refresh"


@pytest.fixture
def fake():
    with running_fake_stripe() as running:
        yield running


def _account(fake, racer_id: int = 7) -> str:
    return stripe_connect.create_express_account(
        api_key=API_KEY,
        api_base=fake.base_url,
        racer_id=racer_id,
        idempotency_key=f"racer:{racer_id}:account",
    )


def _transfer(fake, account_id: str, payout_id: int = 42, amount_cents: int = 2500):
    return stripe_connect.create_transfer(
        api_key=API_KEY,
        api_base=fake.base_url,
        account_id=account_id,
        amount_cents=amount_cents,
        currency="USD",
        payout_id=payout_id,
        idempotency_key=f"payout:{payout_id}:transfer",
    )


def test_an_express_account_is_made_once_per_racer_and_can_receive_nothing_before_onboarding(fake):
    first, again = _account(fake), _account(fake)
    assert first == again and first.startswith("acct_")
    assert len(fake.accounts) == 1
    (_method, path, key, form) = fake.calls[0]
    assert (path, key) == ("/v1/accounts", "racer:7:account")
    assert (form["type"], form["capabilities[transfers][requested]"]) == ("express", "true")
    assert form["metadata[racer_id]"] == "7"
    read = stripe_connect.read_account(api_key=API_KEY, api_base=fake.base_url, account_id=first)
    assert (read.can_receive_transfers, read.payouts_enabled) == (False, False)


def test_the_onboarding_link_comes_back_to_the_site(fake):
    account_id = _account(fake)
    url = stripe_connect.create_onboarding_link(
        api_key=API_KEY,
        api_base=fake.base_url,
        account_id=account_id,
        refresh_url=REFRESH_URL,
        return_url=RETURN_URL,
    )
    assert url.startswith(f"{fake.base_url}/setup/e/{account_id}/")
    (_method, path, _key, form) = fake.calls[-1]
    assert path == "/v1/account_links"
    assert form == {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": REFRESH_URL,
        "return_url": RETURN_URL,
    }


def test_a_payout_transfer_retried_with_its_key_is_sent_once(fake):
    account_id = _account(fake)
    finish_onboarding(fake, account_id)
    assert stripe_connect.read_account(
        api_key=API_KEY, api_base=fake.base_url, account_id=account_id
    ).can_receive_transfers

    first = _transfer(fake, account_id)
    retried = _transfer(fake, account_id)  # a second click, or the retry after a crash before our commit

    assert first == retried and first.transfer_id.startswith("tr_")
    assert (first.amount_cents, first.currency, first.reversed) == (2500, "USD", False)
    assert len(fake.transfers) == 1, "Stripe sent the money once"
    posted = [call for call in fake.calls if call[1] == "/v1/transfers"]
    assert [call[2] for call in posted] == ["payout:42:transfer", "payout:42:transfer"]
    form = posted[0][3]
    assert (form["amount"], form["currency"], form["destination"]) == ("2500", "usd", account_id)
    assert (form["transfer_group"], form["metadata[payout_id]"]) == ("payout_42", "42")


def test_a_transfer_to_an_account_not_onboarded_is_refused_and_sends_nothing(fake):
    account_id = _account(fake)
    with pytest.raises(StripeTransferRefused, match="could not send the transfer; nothing was sent"):
        _transfer(fake, account_id)
    assert fake.transfers == []


def test_one_failure_is_retried_by_the_sdk_with_the_same_key_and_sends_once(fake):
    account_id = _account(fake)
    finish_onboarding(fake, account_id)
    fake.fail_next = 1
    transfer = _transfer(fake, account_id, payout_id=43)
    posted = [call for call in fake.calls if call[1] == "/v1/transfers"]
    assert [call[2] for call in posted] == ["payout:43:transfer", "payout:43:transfer"]
    assert [made["id"] for made in fake.transfers] == [transfer.transfer_id]


def test_stripe_down_is_a_clear_refusal_and_sends_nothing(fake):
    account_id = _account(fake)
    finish_onboarding(fake, account_id)
    fake.fail_next = 2  # the call and the SDK's one retry
    with pytest.raises(StripeConnectFailed, match=r"could not confirm the transfer\. Try again") as refused:
        _transfer(fake, account_id, payout_id=44)
    assert not isinstance(refused.value, StripeTransferRefused), (
        "a 5xx may have made it: retried, not released"
    )
    assert fake.transfers == []


def test_an_account_updated_event_reads_as_stripe_sends_it():
    # data.object of an `account.updated` event, trimmed to the fields read (Stripe's Account object).
    event_object = {
        "id": "acct_1Nv0FGQ9RKHgCVdK",
        "object": "account",
        "capabilities": {"transfers": "active", "card_payments": "inactive"},
        "payouts_enabled": True,
    }
    account = stripe_connect.account_of(event_object)
    assert (account.account_id, account.can_receive_transfers, account.payouts_enabled) == (
        "acct_1Nv0FGQ9RKHgCVdK",
        True,
        True,
    )
    assert not stripe_connect.account_of(
        {"id": "acct_x", "capabilities": {"transfers": "pending"}}
    ).can_receive_transfers

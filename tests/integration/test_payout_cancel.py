"""A racer withdraws a pending payout request: the money is back in their wallet, once."""

from __future__ import annotations

import pytest

from cozykart.domain.errors import NotFound
from cozykart.domain.ledger import PayoutNotPending
from cozykart.services import ledger, payouts, wallet
from cozykart.services.reads.reconcile import reconcile
from tests.integration.ledger_support import make_admin, make_racers, settings_for

pytestmark = pytest.mark.usefixtures("reconciled")  # the ledger reconciles after each test


def _racer_with_a_request(database, funded_cents: int = 5000, requested_cents: int = 3000):
    settings = settings_for(database)
    admin = make_admin(database)
    racer, other = make_racers(database, 2)
    ledger.adjust_wallet(
        admin, racer, funded_cents, reason="prize money", key="fund", uow=database.uow(settings)
    )
    payout_id = payouts.request_payout(racer, requested_cents, key="ask", uow=database.uow(settings))
    return settings, admin, racer, other, payout_id


def test_cancelling_puts_the_money_back_at_once_and_says_so_in_the_wallet(database):
    settings, _admin, racer, _other, payout_id = _racer_with_a_request(database)
    before = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (before.available_cents, before.in_payout_cents) == (2000, 3000)

    outcome = payouts.cancel_payout(racer, payout_id, uow=database.uow(settings))

    assert (outcome.status, outcome.replayed) == ("cancelled", False)
    after = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (after.available_cents, after.in_payout_cents, after.paid_out_cents) == (5000, 0, 0)
    newest = wallet.wallet_history(racer, uow=database.uow(settings))[0]
    assert newest.amount_cents == 3000
    assert newest.description == f"Payout #{payout_id} cancelled: $30.00 back in your wallet"
    assert reconcile(uow=database.uow()).clean


def test_cancelling_twice_releases_once(database):
    settings, _admin, racer, _other, payout_id = _racer_with_a_request(database)
    payouts.cancel_payout(racer, payout_id, uow=database.uow(settings))
    again = payouts.cancel_payout(racer, payout_id, uow=database.uow(settings))
    assert (again.status, again.replayed) == ("cancelled", True)
    assert wallet.wallet_summary(racer, uow=database.uow(settings)).available_cents == 5000
    assert reconcile(uow=database.uow()).clean


def test_no_one_cancels_someone_elses_payout_and_the_refusal_does_not_say_it_exists(database):
    settings, admin, racer, other, payout_id = _racer_with_a_request(database)
    for stranger in (other, admin):
        with pytest.raises(NotFound, match="That payout does not exist"):
            payouts.cancel_payout(stranger, payout_id, uow=database.uow(settings))
    with pytest.raises(NotFound, match="That payout does not exist"):
        payouts.cancel_payout(racer, payout_id + 1000, uow=database.uow(settings))
    assert wallet.wallet_summary(racer, uow=database.uow(settings)).in_payout_cents == 3000


def test_a_decided_payout_cannot_be_cancelled_and_a_cancelled_one_cannot_be_decided(database):
    settings, admin, racer, _other, payout_id = _racer_with_a_request(database, requested_cents=2000)
    payouts.pay_payout(admin, payout_id, method="paypal", reference="PP-1", uow=database.uow(settings))
    with pytest.raises(PayoutNotPending, match="was already paid"):
        payouts.cancel_payout(racer, payout_id, uow=database.uow(settings))

    second = payouts.request_payout(racer, 2000, key="ask-again", uow=database.uow(settings))
    payouts.cancel_payout(racer, second, uow=database.uow(settings))
    with pytest.raises(PayoutNotPending, match="was already cancelled"):
        payouts.pay_payout(admin, second, method="paypal", reference="PP-2", uow=database.uow(settings))
    with pytest.raises(PayoutNotPending, match="was already cancelled"):
        payouts.reject_payout(admin, second, reason="too late", uow=database.uow(settings))
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.paid_out_cents, summary.available_cents, summary.in_payout_cents) == (2000, 3000, 0)
    assert reconcile(uow=database.uow()).clean

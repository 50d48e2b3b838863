"""Stripe Connect in the league: a racer connects an Express account and is paid by one transfer.

Against the local fake Stripe (tests/fake_stripe.py), which records every call
with its Idempotency-Key and answers a repeated key with its first answer, as
Stripe does (docs.stripe.com/api/idempotent_requests). On SQLite and PostgreSQL;
reconcile is clean after each test.

Stripe's events are the shapes of its API reference: `transfer.reversed` ("Occurs
whenever a transfer is reversed, including partial reversals"; data.object is a
Transfer, whose `amount_reversed` is the running total) and `account.updated`
(data.object is an Account: `capabilities.transfers`, `payouts_enabled`), as
listed in stripe/stripe-dotnet src/Stripe.net/Constants/EventTypes.cs, generated
from Stripe's OpenAPI spec. Transfers have no failed event there (only created,
reversed, updated): a transfer Stripe cannot make is refused when it is created,
which leaves the payout pending (tested above the webhooks).

The crash between Stripe's answer and our commit is a real database fault, not
a patch: a trigger that refuses the payout's move to paid (SQLite: BEFORE
UPDATE raising ABORT; PostgreSQL: a constraint trigger deferred to COMMIT, so
the COMMIT itself fails). The test drops it, as a restarted server would no
longer fail, and the retry must record one payout from one transfer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cozykart.db.types import utc_now
from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.domain.ledger import PayoutNotPending
from cozykart.domain.payments import StripeConnectFailed, StripeTransferRefused
from cozykart.domain.payout_destination import StripeConnection
from cozykart.services import ledger, money_admin, notices, payouts, stripe_accounts, wallet
from tests.fake_stripe import API_KEY, FakeStripe, finish_onboarding, running_fake_stripe
from tests.integration.ledger_support import make_admin, make_racers, settings_for
from tests.integration.webhook_support import STRIPE_SECRET, api_client, stripe_event, stripe_post

pytestmark = pytest.mark.usefixtures("reconciled")  # the ledger reconciles after each test

SITE = "http://127.0.0.1:3000"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running_fake_stripe() as running:
        yield running


def _settings(database, fake):
    return settings_for(
        database, stripe_api_key=API_KEY, stripe_api_base=fake.base_url, stripe_webhook_secret=STRIPE_SECRET
    )


def _connected(database, fake, *, ready: bool = True):
    """An admin, and a racer with $50.00 whose Stripe account is connected (and onboarded if `ready`)."""
    settings = _settings(database, fake)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    ledger.adjust_wallet(admin, racer, 5000, reason="prize money", key="fund", uow=database.uow(settings))
    stripe_accounts.start_onboarding(racer, site_url=SITE + "/me", uow=database.uow(settings))
    account_id = next(iter(fake.accounts))
    if ready:
        finish_onboarding(fake, account_id)
        stripe_accounts.refresh_my_stripe_connection(racer, uow=database.uow(settings))
        stripe_accounts.use_stripe_destination(racer, uow=database.uow(settings))
    return settings, admin, racer, account_id


def _stripe_request(database, fake, amount_cents: int = 3000):
    settings, admin, racer, account_id = _connected(database, fake)
    payout_id = payouts.request_payout(racer, amount_cents, key="ask", uow=database.uow(settings))
    return settings, admin, racer, account_id, payout_id


def _transfer_calls(fake) -> list[str]:
    return [key for (method, path, key, _form) in fake.calls if (method, path) == ("POST", "/v1/transfers")]


def test_connecting_makes_one_account_per_racer_and_a_new_link_back_to_the_profile_each_time(database, fake):
    settings, _admin, racer, account_id = _connected(database, fake, ready=False)
    again = stripe_accounts.start_onboarding(racer, site_url=SITE + "/me?x=1", uow=database.uow(settings))

    assert len(fake.accounts) == 1 and again.startswith(f"{fake.base_url}/setup/e/{account_id}/")
    account_calls = [call for call in fake.calls if call[1] == "/v1/accounts"]
    assert [call[2] for call in account_calls] == [f"cozykart-racer-{racer}-account"], "stored: asked once"
    links = [call[3] for call in fake.calls if call[1] == "/v1/account_links"]
    assert len(links) == 2
    assert {(link["return_url"], link["refresh_url"]) for link in links} == {
        (f"{SITE}/me?stripe=return", f"{SITE}/me?stripe=refresh")
    }
    connection = stripe_accounts.my_stripe_connection(racer, uow=database.uow(settings))
    assert connection is not None and (connection.account_id, connection.can_receive_transfers) == (
        account_id,
        False,
    )
    assert connection.words == "Stripe: not ready yet: finish Stripe's set-up to receive payouts."


def test_stripe_is_a_destination_only_once_the_connected_account_can_receive(database, fake):
    settings, _admin, racer, account_id = _connected(database, fake, ready=False)
    (stranger,) = make_racers(database, 1, prefix="stranger")
    with pytest.raises(InvalidInput, match="Connect your Stripe account first"):
        stripe_accounts.use_stripe_destination(stranger, uow=database.uow(settings))
    with pytest.raises(InvalidInput, match="Finish Stripe's set-up first"):
        stripe_accounts.use_stripe_destination(racer, uow=database.uow(settings))

    finish_onboarding(fake, account_id)
    back = stripe_accounts.refresh_my_stripe_connection(racer, uow=database.uow(settings))
    assert back is not None and back.words == "Stripe: ready to receive payouts."
    chosen = stripe_accounts.use_stripe_destination(racer, uow=database.uow(settings))
    assert (chosen.method, chosen.stripe_account_id) == ("stripe", account_id)


def test_connecting_without_stripe_set_up_is_refused_and_calls_nothing(database, fake):
    (racer,) = make_racers(database, 1)
    with pytest.raises(StripeConnectFailed, match="Stripe payouts are not set up here"):
        stripe_accounts.start_onboarding(racer, site_url=SITE, uow=database.uow(settings_for(database)))
    assert fake.calls == []


def test_one_click_pays_by_one_transfer_and_records_its_id_as_the_reference(database, fake):
    settings, admin, racer, account_id, payout_id = _stripe_request(database, fake)

    outcome = payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))
    again = payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))  # a second click

    assert (outcome.status, outcome.replayed, again.replayed) == ("paid", False, True)
    (transfer,) = fake.transfers
    assert (transfer["amount"], transfer["currency"], transfer["destination"]) == (3000, "usd", account_id)
    assert _transfer_calls(fake) == [f"cozykart-payout-{payout_id}"], "the second click never reached Stripe"
    with database.uow() as uow:
        row = uow.payouts.by_id(payout_id)
    assert (row.status, row.method, row.reference) == ("paid", "stripe", transfer["id"])
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.available_cents, summary.in_payout_cents, summary.paid_out_cents) == (2000, 0, 3000)


def _inject_commit_fault(database) -> None:
    with database.engine.begin() as connection:
        if database.backend == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER crash_before_commit BEFORE UPDATE OF status ON payout "
                    "WHEN NEW.status = 'paid' BEGIN SELECT RAISE(ABORT, 'injected crash'); END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION crash_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected crash at commit'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER crash_at_commit AFTER UPDATE ON payout "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'paid') "
                "EXECUTE FUNCTION crash_at_commit()"
            )
        )


def _clear_commit_fault(database) -> None:
    with database.engine.begin() as connection:
        if database.backend == "sqlite":
            connection.execute(text("DROP TRIGGER crash_before_commit"))
        else:
            connection.execute(text("DROP TRIGGER crash_at_commit ON payout"))


def test_a_crash_between_the_transfer_and_the_commit_never_transfers_twice(database, fake):
    settings, admin, racer, _account_id, payout_id = _stripe_request(database, fake)
    _inject_commit_fault(database)

    with pytest.raises(DBAPIError, match="injected crash"):
        payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))

    assert len(fake.transfers) == 1, "Stripe made the transfer; our commit failed"
    with database.uow() as uow:
        assert uow.payouts.by_id(payout_id).status == "pending"
    # Meanwhile the money is on its way: the racer cannot take it back, nor an admin pay it by hand.
    with pytest.raises(PayoutNotPending, match="being sent by Stripe"):
        payouts.cancel_payout(racer, payout_id, uow=database.uow(settings))
    with pytest.raises(PayoutNotPending, match="being sent by Stripe"):
        payouts.pay_payout(admin, payout_id, method="paypal", reference="PP-1", uow=database.uow(settings))

    _clear_commit_fault(database)
    outcome = payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))

    assert (outcome.status, outcome.replayed) == ("paid", False)
    assert _transfer_calls(fake) == [f"cozykart-payout-{payout_id}"] * 2, "the same key, twice"
    (transfer,) = fake.transfers
    with database.uow() as uow:
        assert (uow.payouts.by_id(payout_id).reference, uow.payouts.by_id(payout_id).status) == (
            transfer["id"],
            "paid",
        )
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.in_payout_cents, summary.paid_out_cents) == (0, 3000), "recorded once"


def test_stripe_down_leaves_the_payout_pending_and_the_retry_sends_it_once(database, fake):
    settings, admin, racer, _account_id, payout_id = _stripe_request(database, fake)
    fake.fail_next = 2  # the call and the SDK's own retry both get a 500

    with pytest.raises(StripeConnectFailed, match="could not confirm the transfer") as failed:
        payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))

    assert not isinstance(failed.value, StripeTransferRefused)
    with database.uow() as uow:
        assert uow.payouts.by_id(payout_id).status == "pending"
    with pytest.raises(
        PayoutNotPending, match="being sent by Stripe"
    ):  # it may have gone: only Stripe ends it
        payouts.reject_payout(admin, payout_id, reason="changed my mind", uow=database.uow(settings))
    assert payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings)).status == "paid"
    assert len(fake.transfers) == 1
    assert wallet.wallet_summary(racer, uow=database.uow(settings)).paid_out_cents == 3000


def test_a_transfer_stripe_refuses_leaves_the_payout_pending_and_free_to_decide(database, fake):
    settings, admin, racer, account_id, payout_id = _stripe_request(database, fake)
    fake.accounts[account_id]["capabilities"]["transfers"] = "inactive"  # Stripe changed its mind

    with pytest.raises(StripeTransferRefused, match="nothing was sent"):
        payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))

    assert fake.transfers == []
    outcome = payouts.cancel_payout(racer, payout_id, uow=database.uow(settings))
    assert outcome.status == "cancelled"
    assert wallet.wallet_summary(racer, uow=database.uow(settings)).available_cents == 5000


def test_an_account_not_ready_is_refused_before_stripe_and_only_admins_pay(database, fake):
    settings, admin, racer, _account_id, payout_id = _stripe_request(database, fake)
    with pytest.raises(PermissionDenied):
        payouts.pay_payout_by_stripe(racer, payout_id, uow=database.uow(settings))
    with database.uow() as uow:
        uow.payouts.set_stripe_connection(StripeConnection(_account_id, False, False), utc_now())
        uow.commit()
    calls_before = len(fake.calls)

    with pytest.raises(StripeTransferRefused, match="cannot receive transfers yet"):
        payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))

    assert len(fake.calls) == calls_before, "nothing reached Stripe"
    with database.uow() as uow:
        assert (uow.payouts.by_id(payout_id).status, uow.payouts.by_id(payout_id).method) == ("pending", None)


def test_a_payout_asked_for_another_way_is_not_paid_by_stripe(database, fake):
    settings = _settings(database, fake)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    ledger.adjust_wallet(admin, racer, 5000, reason="prize money", key="fund", uow=database.uow(settings))
    payout_id = payouts.request_payout(racer, 3000, key="ask", uow=database.uow(settings))
    with pytest.raises(InvalidInput, match="was not asked for by Stripe"):
        payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))
    assert fake.calls == []


# --- Stripe's events: a transfer reversed, an account updated -------------------

NOW = datetime.now(UTC).replace(microsecond=0)


def _reversed_event(event_id: str, transfer: dict, reversed_total_cents: int) -> dict:
    """`transfer.reversed` as Stripe sends it: the Transfer object with its reversals so far."""
    reversal = {
        "id": f"trr_{event_id}",
        "object": "transfer_reversal",
        "amount": reversed_total_cents,
        "currency": transfer["currency"],
        "transfer": transfer["id"],
        "metadata": {},
    }
    obj = {
        **transfer,
        "amount_reversed": reversed_total_cents,
        "reversed": reversed_total_cents == transfer["amount"],
        "reversals": {"object": "list", "data": [reversal], "has_more": False, "total_count": 1},
    }
    return stripe_event(event_id, "transfer.reversed", obj, NOW)


def _paid_by_stripe(database, fake):
    settings, admin, racer, account_id, payout_id = _stripe_request(database, fake)
    payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))
    (transfer,) = fake.transfers
    return settings, admin, racer, account_id, payout_id, transfer


def test_a_reversed_transfer_puts_the_money_back_in_the_racers_wallet_once(database, fake):
    settings, _admin, racer, _account_id, payout_id, transfer = _paid_by_stripe(database, fake)
    client = api_client(settings)

    first = stripe_post(client, _reversed_event("evt_rev_1", transfer, 3000))
    again = stripe_post(client, _reversed_event("evt_rev_1", transfer, 3000))  # Stripe redelivers
    later = stripe_post(client, _reversed_event("evt_rev_2", transfer, 3000))  # same total, another event

    assert (first.json()["status"], again.json()["duplicate"], later.json()["status"]) == (
        "applied",
        True,
        "applied",
    )
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.available_cents, summary.in_payout_cents, summary.paid_out_cents) == (5000, 0, 0)
    newest = wallet.wallet_history(racer, uow=database.uow(settings))
    returned = [line for line in newest if "came back" in line.description]
    assert [(line.amount_cents, line.description) for line in returned] == [
        (3000, f"Payout #{payout_id} came back: Stripe reversed $30.00 of its transfer, back in your wallet")
    ]
    told = [
        line
        for line in notices.open_notices(racer, uow=database.uow(settings))
        if line.kind == "payout_returned"
    ]
    assert [line.body for line in told] == [
        f"Stripe reversed $30.00 of your payout #{payout_id}: the $30.00 is back in your wallet."
    ]  # told once, privately, though Stripe sent the reversal three times


def test_a_partial_reversal_returns_only_what_is_new_each_time(database, fake):
    settings, _admin, racer, _account_id, _payout_id, transfer = _paid_by_stripe(database, fake)
    client = api_client(settings)
    stripe_post(client, _reversed_event("evt_part_1", transfer, 1000))
    assert wallet.wallet_summary(racer, uow=database.uow(settings)).available_cents == 3000
    stripe_post(client, _reversed_event("evt_part_2", transfer, 3000))
    stripe_post(client, _reversed_event("evt_part_old", transfer, 1000))  # an older total, late: nothing
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.available_cents, summary.paid_out_cents) == (5000, 0)


def test_a_reversal_of_a_transfer_no_payout_recorded_waits_and_moves_nothing(database, fake):
    settings, _admin, racer, account_id, _payout_id = _stripe_request(database, fake)
    stranger = {
        "id": "tr_not_ours",
        "object": "transfer",
        "amount": 900,
        "currency": "usd",
        "destination": account_id,
        "metadata": {},
    }
    answer = stripe_post(api_client(settings), _reversed_event("evt_rev_unknown", stranger, 900))
    assert answer.json()["status"] == "waiting"
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert (summary.available_cents, summary.in_payout_cents) == (2000, 3000)


def test_account_updated_says_whether_the_account_can_receive_and_the_pay_click_heeds_it(database, fake):
    settings, admin, _racer, account_id, payout_id = _stripe_request(database, fake)
    client = api_client(settings)
    account = fake.accounts[account_id]
    restricted = {**account, "capabilities": {"transfers": "inactive"}, "payouts_enabled": False}

    assert (
        stripe_post(client, stripe_event("evt_acct_1", "account.updated", restricted, NOW)).json()["status"]
        == "applied"
    )

    (line,) = money_admin.payout_queue(admin, uow=database.uow(settings)).pending
    assert line.stripe is not None and line.stripe.words == (
        "Stripe: not ready yet: finish Stripe's set-up to receive payouts."
    )
    with pytest.raises(StripeTransferRefused, match="cannot receive transfers yet"):
        payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings))
    assert fake.transfers == []

    stripe_post(client, stripe_event("evt_acct_2", "account.updated", account, NOW))
    (line,) = money_admin.payout_queue(admin, uow=database.uow(settings)).pending
    assert line.stripe is not None and line.stripe.words == "Stripe: ready to receive payouts."
    assert payouts.pay_payout_by_stripe(admin, payout_id, uow=database.uow(settings)).status == "paid"


def test_the_yearly_statement_counts_a_returned_payout_as_not_paid_out_and_not_earned(database, fake):
    from cozykart.services.reads import statement

    settings, _admin, racer, _account_id, _payout_id, transfer = _paid_by_stripe(database, fake)
    stripe_post(api_client(settings), _reversed_event("evt_stmt_1", transfer, 1000))
    year = wallet.wallet_history(racer, uow=database.uow(settings))[0].recorded_at.year
    total = statement.racer_statement(racer, year, uow=database.uow(settings)).total
    assert (total.paid_out, total.payouts_returned, total.paid_out_total) == ({"stripe": 3000}, 1000, 2000)
    summary = wallet.wallet_summary(racer, uow=database.uow(settings))
    assert summary.paid_out_cents == total.paid_out_total
    assert total.net_earned == summary.lifetime_earned_cents - summary.refunds_taken_back_cents

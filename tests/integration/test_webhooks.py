"""Money in by webhook: verified, stored before the 200, applied exactly once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from cozykart.db.tables import Racer
from cozykart.domain.errors import PermissionDenied
from cozykart.domain.ledger import house_code, pool_code, wallet_code
from cozykart.integrations import shopify, stripe_payments
from cozykart.services import league, webhooks
from cozykart.services.reads import reconcile as reconcile_service
from tests.integration.webhook_support import (
    KOFI_TOKEN,
    api_client,
    balance,
    checkout,
    kofi_post,
    live_race,
    shopify_post,
    stripe_post,
    unix,
    webhook_settings,
)


@pytest.fixture
def setup(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    with api_client(settings) as client:
        yield database, settings, race, client


def _inbox(database):
    return webhooks.list_inbox(uow=database.uow(), limit=200)


def _assert_reconciles(database):
    report = reconcile_service.reconcile(uow=database.uow())
    assert report.clean, report


def test_sale_during_the_live_race_feeds_its_pool(setup):
    database, _, race, client = setup
    response = stripe_post(client, checkout("evt_1", "pi_1", 2500, race.started_at + timedelta(minutes=2)))

    assert response.status_code == 200
    assert response.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 500  # 20% of $25.00
    assert balance(database, house_code()) == 2000
    _assert_reconciles(database)


def test_the_sale_time_decides_not_the_arrival_time(setup):
    database, _, race, client = setup
    before_the_race = race.started_at - timedelta(seconds=1)

    response = stripe_post(client, checkout("evt_early", "pi_early", 2500, before_the_race))

    assert response.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 0
    assert balance(database, house_code()) == 2500


def test_the_same_event_delivered_five_times_credits_once(setup):
    database, _, race, client = setup
    event = checkout("evt_five", "pi_five", 3000, race.started_at + timedelta(minutes=1))

    responses = [stripe_post(client, event) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert [r.json()["duplicate"] for r in responses] == [False, True, True, True, True]
    assert {r.json()["inbox_id"] for r in responses} == {responses[0].json()["inbox_id"]}
    assert balance(database, pool_code(race.race_id)) == 600
    assert len(_inbox(database)) == 1


def test_concurrent_deliveries_of_one_event_credit_once(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    event = checkout("evt_race", "pi_race", 3000, race.started_at + timedelta(minutes=1))
    delivery_count = 8
    barrier = threading.Barrier(delivery_count)

    def deliver(_: int):
        with api_client(settings) as client:  # one connection per "provider retry"
            barrier.wait(timeout=10)
            return stripe_post(client, event)

    with ThreadPoolExecutor(max_workers=delivery_count) as pool:
        responses = list(pool.map(deliver, range(delivery_count)))

    assert [r.status_code for r in responses] == [200] * delivery_count
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * (delivery_count - 1)
    assert balance(database, pool_code(race.race_id)) == 600
    assert len(_inbox(database)) == 1
    _assert_reconciles(database)


def test_a_sale_delivered_hours_late_is_credited_to_the_race_live_at_its_sale_time(database):
    settings = webhook_settings(database)
    race = live_race(
        database, settings, started_at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    )
    league.end_race(
        race.race_id,
        actor_id=race.admin_id,
        uow=database.uow(settings),
        now=race.started_at + timedelta(minutes=20),
    )
    live_now = live_race(database, settings)  # another race is live when the webhook finally arrives
    with api_client(settings) as client:
        response = stripe_post(
            client, checkout("evt_late", "pi_late_sale", 5000, race.started_at + timedelta(minutes=7))
        )

    assert response.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 1000
    assert balance(database, pool_code(live_now.race_id)) == 0
    assert balance(database, house_code()) == 4000


def test_two_events_about_one_payment_count_it_once(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(client, checkout("evt_a", "pi_same", 3000, at))
    stripe_post(client, checkout("evt_b", "pi_same", 3000, at))

    assert balance(database, pool_code(race.race_id)) == 600
    assert [row.status for row in _inbox(database)] == ["applied", "applied"]
    _assert_reconciles(database)


@pytest.mark.parametrize(
    ("case", "expected_status", "reason"),
    [
        ("missing signature", 400, "missing Stripe-Signature header"),
        ("wrong secret", 400, "signature does not match"),
        ("stale timestamp", 400, "timestamp outside the tolerance"),
        ("not json", 400, "body is not JSON"),
        ("too large", 413, "larger than"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(setup, case, expected_status, reason):
    database, _, race, client = setup
    event = checkout("evt_bad", "pi_bad", 2500, race.started_at + timedelta(minutes=1))
    if case == "missing signature":
        response = stripe_post(client, event, signature="")
    elif case == "wrong secret":
        response = stripe_post(client, event, secret="whsec_forged")
    elif case == "stale timestamp":
        response = stripe_post(client, event, timestamp=unix(race.started_at) - 3600)
    elif case == "not json":
        body = "{not json"
        response = client.post(
            "/api/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": stripe_payments.sign(body, "whsec_test_cozykart")},
        )
    else:
        body = json.dumps({**event, "padding": "x" * (1024 * 1024)})
        response = client.post(
            "/api/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": stripe_payments.sign(body, "whsec_test_cozykart")},
        )

    assert response.status_code == expected_status
    assert reason in response.json()["error"]
    assert _inbox(database) == ()
    assert balance(database, house_code()) == 0


def test_a_provider_without_its_secret_answers_503_and_records_nothing(database):
    settings = webhook_settings(database, shopify_webhook_secret=None)
    with api_client(settings) as client:
        response = shopify_post(client, "orders/paid", {"id": 1}, webhook_id="w1")
    assert response.status_code == 503
    assert _inbox(database) == ()


def test_unknown_event_types_are_recorded_and_ignored(setup):
    database, _, _, client = setup
    event = {
        "id": "evt_other",
        "type": "customer.created",
        "created": 1,
        "data": {"object": {"id": "cus_1", "currency": "usd"}},
    }

    response = stripe_post(client, event)

    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert _inbox(database)[0].last_error == "customer.created is not used"
    assert balance(database, house_code()) == 0


def test_another_currency_is_stored_and_flagged_never_applied(setup):
    database, _, race, client = setup
    response = stripe_post(
        client, checkout("evt_eur", "pi_eur", 2500, race.started_at + timedelta(minutes=1), currency="eur")
    )

    assert response.status_code == 200 and response.json()["status"] == "flagged"
    assert "EUR is not this deployment's USD" in _inbox(database)[0].last_error
    assert balance(database, pool_code(race.race_id)) == 0


def test_a_refund_before_its_sale_waits_and_applies_when_the_sale_arrives(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    refund = stripe_payments.charge_refunded_event(
        event_id="evt_refund",
        charge_id="ch_1",
        payment_intent="pi_late",
        amount_cents=2500,
        amount_refunded_cents=2500,
        currency="usd",
        created=unix(at) + 60,
    )

    waiting = stripe_post(client, refund)
    assert waiting.json()["status"] == "waiting"

    sale = stripe_post(client, checkout("evt_sale", "pi_late", 2500, at))

    assert sale.json()["status"] == "applied"
    assert {row.event_id: row.status for row in _inbox(database)} == {
        "evt_sale": "applied",
        "evt_refund": "applied",
    }
    assert balance(database, pool_code(race.race_id)) == 0
    assert balance(database, house_code()) == 0
    _assert_reconciles(database)


def test_partial_refunds_apply_only_the_newly_refunded_amount(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(client, checkout("evt_s", "pi_p", 5000, at))

    def refunded(event_id: str, total_cents: int):
        return stripe_post(
            client,
            stripe_payments.charge_refunded_event(
                event_id=event_id,
                charge_id="ch_p",
                payment_intent="pi_p",
                amount_cents=5000,
                amount_refunded_cents=total_cents,
                currency="usd",
                created=unix(at) + 120,
            ),
        )

    refunded("evt_r1", 1000)
    refunded("evt_r2", 2500)  # a second refund of 15.00: running total 25.00
    refunded("evt_r1_late", 1000)  # an old running total, delivered late: nothing more

    kept_cents = 5000 - 2500
    assert balance(database, pool_code(race.race_id)) + balance(database, house_code()) == kept_cents
    assert balance(database, pool_code(race.race_id)) == 500  # 1000 pool less half, in proportion
    _assert_reconciles(database)


def test_a_dispute_takes_the_commission_back_and_a_won_dispute_reinstates_it(setup):
    database, _, race, client = setup
    at = race.started_at + timedelta(minutes=1)
    stripe_post(client, checkout("evt_sd", "pi_d", 4000, at))

    def dispute(event_id: str, event_type: str):
        return stripe_post(
            client,
            stripe_payments.dispute_event(
                event_id=event_id,
                event_type=event_type,
                dispute_id="dp_1",
                charge_id="ch_d",
                payment_intent="pi_d",
                amount_cents=4000,
                currency="usd",
                created=unix(at) + 300,
            ),
        )

    assert dispute("evt_d1", "charge.dispute.created").json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 0
    assert dispute("evt_d2", "charge.dispute.funds_reinstated").json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 800
    _assert_reconciles(database)


def _make_dj(database, racer_id: int) -> None:
    with database.uow() as uow:
        racer = uow.session.get(Racer, racer_id)
        racer.is_dj = True
        uow.session.add(racer)
        uow.commit()


def test_a_stripe_tip_credits_the_named_dj_less_the_fee(setup):
    database, _, race, client = setup
    dj_id = race.racer_ids[0]
    _make_dj(database, dj_id)
    metadata = {"kind": "tip", "dj": "700000000000000000", "song": "Coconut Mall", "message": "gg!"}

    response = stripe_post(client, checkout("evt_tip", "pi_tip", 500, race.started_at, metadata=metadata))

    assert response.json()["status"] == "applied"
    assert balance(database, wallet_code(dj_id)) == 475  # $5.00 less 5%
    assert balance(database, house_code()) == 25


def test_a_tip_with_no_dj_fails_visibly_then_applies_once_a_dj_exists(setup):
    database, settings, race, client = setup
    response = stripe_post(
        client,
        checkout(
            "evt_tip2", "pi_tip2", 300, race.started_at, metadata={"kind": "tip", "song": "Rainbow Road"}
        ),
    )

    assert response.status_code == 200 and response.json()["status"] == "failed"
    row = _inbox(database)[0]
    assert "No racer has the DJ role" in row.last_error and row.next_attempt_at is not None

    _make_dj(database, race.racer_ids[1])
    applied = webhooks.retry_due(uow=database.uow(settings), now=row.next_attempt_at)

    assert applied == 1
    assert _inbox(database)[0].status == "applied"
    assert balance(database, wallet_code(race.racer_ids[1])) == 285


def test_only_an_admin_can_replay_an_event(setup):
    database, settings, race, client = setup
    stripe_post(client, checkout("evt_tip3", "pi_tip3", 300, race.started_at, metadata={"kind": "tip"}))
    inbox_id = _inbox(database)[0].inbox_id
    _make_dj(database, race.racer_ids[2])

    with pytest.raises(PermissionDenied):
        webhooks.replay(inbox_id, actor_id=race.racer_ids[0], uow=database.uow(settings))
    assert _inbox(database)[0].status == "failed"

    row = webhooks.replay(inbox_id, actor_id=race.admin_id, uow=database.uow(settings))
    assert row.status == "applied"
    from cozykart.services.reads.audit import audit_trail

    (line,) = [
        e
        for e in audit_trail(actor_id=race.admin_id, uow=database.uow(settings))
        if e.kind == "webhook_replay"
    ]
    assert line.subject == f"Webhook event #{inbox_id} (stripe checkout.session.completed)"
    assert line.change == "failed → applied"


def test_kofi_shop_order_is_a_sale_and_donation_a_tip_to_the_dj_on_duty(setup):
    database, _, race, client = setup
    _make_dj(database, race.racer_ids[3])
    at = race.started_at + timedelta(minutes=3)

    sale = kofi_post(
        client,
        message_id="m-1",
        transaction_id="tx-1",
        event_type="Shop Order",
        amount="20.00",
        timestamp=at,
        shop_items=[{"direct_link_code": "hoodie", "variation_name": "L", "quantity": 1}],
    )
    tip = kofi_post(
        client,
        message_id="m-2",
        transaction_id="tx-2",
        event_type="Donation",
        amount="3.00",
        timestamp=at,
        message="Play Mushroom Gorge!",
    )

    assert sale.json()["status"] == tip.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 400
    assert balance(database, wallet_code(race.racer_ids[3])) == 285


def test_kofi_with_a_wrong_token_or_no_data_is_refused(setup):
    database, _, _, client = setup
    forged = kofi_post(
        client,
        verification_token="guess",
        message_id="m-x",
        transaction_id="tx-x",
        event_type="Donation",
        amount="3.00",
    )
    empty = client.post(
        "/api/webhooks/kofi",
        content=b"nothing=here",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert (forged.status_code, forged.json()["error"]) == (400, "verification token does not match")
    assert (empty.status_code, empty.json()["error"]) == (400, "form field data is missing")
    assert _inbox(database) == ()
    assert KOFI_TOKEN not in forged.text


def test_shopify_order_earns_commission_net_of_configured_costs_and_refunds_come_back(setup):
    database, _, race, client = setup
    webhooks.set_product_cost("TEE-RAINBOW", 1000, uow=database.uow())
    at = race.started_at + timedelta(minutes=4)
    order = shopify.order_paid_payload(
        order_id=5001,
        total="25.00",
        currency="USD",
        processed_at=at,
        line_items=[{"sku": "TEE-RAINBOW", "quantity": 1, "title": "Rainbow tee"}],
    )

    paid = shopify_post(client, "orders/paid", order, webhook_id="wh-1")
    assert paid.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 300  # 20% of (25.00 - 10.00)

    refund = shopify.refund_payload(
        refund_id=77, order_id=5001, amount="25.00", currency="USD", created_at=at + timedelta(hours=1)
    )
    refunded = shopify_post(client, "refunds/create", refund, webhook_id="wh-2")
    assert refunded.json()["status"] == "applied"
    assert balance(database, pool_code(race.race_id)) == 0
    _assert_reconciles(database)


def test_shopify_with_a_wrong_hmac_is_refused(setup):
    database, _, _, client = setup
    response = shopify_post(client, "orders/paid", {"id": 1}, webhook_id="wh-x", secret="forged")
    assert (response.status_code, response.json()["error"]) == (400, "signature does not match")
    assert _inbox(database) == ()


def _install_crash_on_ledger_write(database) -> None:
    """A real database fault: every ledger transaction insert fails until removed."""
    with database.engine.begin() as connection:
        if database.backend == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER simulated_crash BEFORE INSERT ON ledger_transaction "
                "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION simulated_crash() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'simulated crash'; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER simulated_crash BEFORE INSERT ON ledger_transaction "
                "FOR EACH ROW EXECUTE FUNCTION simulated_crash()"
            )


def _remove_crash(database) -> None:
    with database.engine.begin() as connection:
        if database.backend == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER simulated_crash")
        else:
            connection.exec_driver_sql("DROP TRIGGER simulated_crash ON ledger_transaction")
            connection.exec_driver_sql("DROP FUNCTION simulated_crash()")


def test_an_event_whose_apply_crashed_is_kept_and_applied_exactly_once_on_retry(setup):
    database, settings, race, client = setup
    event = checkout("evt_crash", "pi_crash", 3000, race.started_at + timedelta(minutes=1))
    _install_crash_on_ledger_write(database)

    stored = stripe_post(client, event)

    assert stored.status_code == 200 and stored.json()["status"] == "failed"
    row = _inbox(database)[0]
    assert "simulated crash" in row.last_error
    assert balance(database, pool_code(race.race_id)) == 0  # nothing half-applied

    _remove_crash(database)
    assert webhooks.retry_due(uow=database.uow(settings), now=row.next_attempt_at) == 1
    assert webhooks.retry_due(uow=database.uow(settings), now=row.next_attempt_at) == 0
    redelivered = stripe_post(client, event)

    assert redelivered.json() == {**redelivered.json(), "status": "applied", "duplicate": True}
    assert balance(database, pool_code(race.race_id)) == 600
    assert _inbox(database)[0].attempts == 2
    _assert_reconciles(database)

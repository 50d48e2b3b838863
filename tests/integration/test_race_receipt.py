"""A race's public receipt (issue 17, item 5): every figure from the ledger, and fans' privacy.

Money arrives through the real webhook routes (signed Stripe events, served
in-process); the race runs through the league's services; the receipt is read
back and checked against what a fan could add up by hand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cozykart.db.tables import Racer
from cozykart.domain.league import RaceNotFound
from cozykart.integrations import stripe_payments
from cozykart.services import league, outbox
from cozykart.services.reads.race_receipt import last_final_race_id, race_receipt
from tests.integration.webhook_support import api_client, checkout, live_race, stripe_post, webhook_settings

CARDHOLDER = "Fan Fiona"  # the name `checkout` gives every Stripe session: the payer's, never public


@pytest.fixture
def night(database):
    settings = webhook_settings(database)
    race = live_race(database, settings)
    with database.uow() as uow:  # the DJ on duty receives tips
        dj = uow.session.get(Racer, race.racer_ids[0])
        dj.is_dj = True
        uow.session.add(dj)
        uow.commit()
    with api_client(settings) as client:
        yield database, settings, race, client


def _applied(client, event) -> None:
    response = stripe_post(client, event)
    assert response.status_code == 200 and response.json()["status"] == "applied", response.text


def _refund(event_id: str, intent: str, gross_cents: int, refunded_cents: int) -> dict:
    return stripe_payments.charge_refunded_event(
        event_id=event_id,
        charge_id=f"ch_{intent}",
        payment_intent=intent,
        amount_cents=gross_cents,
        amount_refunded_cents=refunded_cents,
        currency="usd",
    )


def _receipt(database, settings, race_id):
    return race_receipt(race_id, uow=database.uow(settings), now=datetime.now(UTC))


def _run_the_night(database, settings, race, client) -> None:
    """Two sales and a tip while live, a partial refund while live, final, a full refund after."""
    at = race.started_at + timedelta(minutes=1)
    _applied(client, checkout("evt_s1", "pi_s1", 2500, at, metadata={"fan_name": "Named Fan"}))
    _applied(client, checkout("evt_s2", "pi_s2", 1001, at + timedelta(seconds=5)))
    tip = {"kind": "tip", "song": "Coconut Mall", "fan_name": "Toad Fan", "message": "gg!"}
    _applied(client, checkout("evt_t1", "pi_t1", 500, at + timedelta(seconds=9), metadata=tip))
    _applied(client, _refund("evt_r1", "pi_s1", 2500, 500))  # $5 of the $25: 100 of its 500 back
    ended_at = race.started_at + timedelta(minutes=8)
    league.end_race(race.race_id, actor_id=race.admin_id, uow=database.uow(settings), now=ended_at)
    table = {racer_id: n + 1 for n, racer_id in enumerate(race.racer_ids)}
    league.set_results(race.race_id, table, actor_id=race.admin_id, uow=database.uow(settings), now=ended_at)
    _applied(client, _refund("evt_r2", "pi_s2", 1001, 1001))  # all of it, from the racers' wallets


def test_the_receipt_adds_up_from_the_ledger(night):
    database, settings, race, client = night
    _run_the_night(database, settings, race, client)

    receipt = _receipt(database, settings, race.race_id)

    assert receipt.status == "final"
    # 20% of $25.00 and of $10.01 (floored): 500 + 200 in; 100 and 200 taken back.
    assert (receipt.pot_in_cents, receipt.taken_back_cents, receipt.reinstated_cents) == (700, 300, 0)
    assert receipt.pot_cents == 400 and receipt.undistributed_cents == 0
    assert [r.share_cents for r in receipt.results] == [100, 100, 100, 100]
    assert sum(r.share_cents for r in receipt.results) == receipt.pot_cents == receipt.shares_cents
    # 600 split four ways when final, then the later refund took 50 from each.
    assert {(r.distributed_cents, r.fixed_cents, r.taken_back_cents) for r in receipt.results} == {
        (150, 0, 50)
    }
    assert [(r.position, r.points) for r in receipt.results] == [(1, 15), (2, 12), (3, 10), (4, 8)]
    assert receipt.split_words.startswith("Even")
    assert [(s.gross_cents, s.into_pot_cents, s.taken_back_cents) for s in receipt.sales] == [
        (2500, 500, 100),
        (1001, 200, 200),
    ]
    assert [(r.what, r.returned_cents, r.pot_cents) for r in receipt.reversals] == [
        ("Refund", 500, -100),
        ("Refund", 1001, -200),
    ]
    assert [(t.what, t.gross_cents, t.into_pot_cents) for t in receipt.tips] == [("Coconut Mall", 500, 0)]


def test_fans_are_shown_as_on_the_watch_feed(night):
    database, settings, race, client = night
    _run_the_night(database, settings, race, client)

    receipt = _receipt(database, settings, race.race_id)

    # The named fan's sale was refunded: never shown beside their name. The tipper chose a name.
    assert [(s.fan_name, s.reversal) for s in receipt.sales] == [("A fan", "refunded"), ("A fan", "refunded")]
    assert [t.fan_name for t in receipt.tips] == ["Toad Fan"]
    public = json.dumps(repr(receipt))
    assert "Named Fan" not in public and CARDHOLDER not in public and "gg!" not in public


def test_a_fix_is_on_the_receipt_and_the_shares_still_add_up(night):
    database, settings, race, client = night
    _run_the_night(database, settings, race, client)
    first, second = race.racer_ids[:2]
    league.fix_results(
        race.race_id,
        {first: 2, second: 1},
        reason="photo finish reviewed",
        actor_id=race.admin_id,
        uow=database.uow(settings),
    )

    receipt = _receipt(database, settings, race.race_id)

    assert {(f.old, f.new, f.reason) for f in receipt.fixes} == {
        ("#1", "#2", "photo finish reviewed"),
        ("#2", "#1", "photo finish reviewed"),
    }
    assert receipt.results[0].racer_id == second
    assert receipt.shares_cents == receipt.pot_cents == 400
    assert last_final_race_id(uow=database.uow(settings)) == race.race_id


def test_the_results_announcement_links_the_receipt_when_the_site_address_is_set(database):
    settings = webhook_settings(database, site_url="https://kart.example")
    race = live_race(database, settings)
    league.end_race(race.race_id, actor_id=race.admin_id, uow=database.uow(settings))
    table = {racer_id: n + 1 for n, racer_id in enumerate(race.racer_ids)}
    league.set_results(race.race_id, table, actor_id=race.admin_id, uow=database.uow(settings))

    (results,) = [row for row in outbox.list_outbox(uow=database.uow()) if row.kind == "race_results"]
    url = f"https://kart.example/races/{race.race_id}"
    assert [embed.get("url") for embed in results.message["embeds"]] == [url, url]
    assert f"]({url})" in json.dumps(results.message)


def test_a_live_race_shows_its_pot_so_far(night):
    database, settings, race, client = night
    _applied(client, checkout("evt_live", "pi_live", 3000, race.started_at + timedelta(minutes=1)))

    receipt = _receipt(database, settings, race.race_id)

    assert receipt.status == "live"
    assert receipt.pot_cents == receipt.undistributed_cents == 600
    assert receipt.shares_cents == 0
    assert [(r.position, r.points) for r in receipt.results] == [(None, None)] * 4
    assert last_final_race_id(uow=database.uow(settings)) is None


def _dispute(event_id: str, event_type: str, intent: str) -> dict:
    return stripe_payments.dispute_event(
        event_id=event_id,
        event_type=event_type,
        dispute_id=f"dp_{intent}",
        charge_id=f"ch_{intent}",
        payment_intent=intent,
        amount_cents=2000,
        currency="usd",
    )


def test_a_chargeback_takes_back_and_a_won_one_reinstates_on_the_receipt(night):
    database, settings, race, client = night
    at = race.started_at + timedelta(minutes=1)
    _applied(client, checkout("evt_d", "pi_d", 2000, at, metadata={"fan_name": "Disputing Fan"}))
    _applied(client, _dispute("evt_dc", "charge.dispute.created", "pi_d"))

    opened = _receipt(database, settings, race.race_id)
    assert (opened.pot_in_cents, opened.taken_back_cents, opened.pot_cents) == (400, 400, 0)
    assert [(s.fan_name, s.reversal) for s in opened.sales] == [("A fan", "disputed")]
    assert [(r.what, r.returned_cents, r.pot_cents) for r in opened.reversals] == [
        ("Chargeback opened", 2000, -400)
    ]

    _applied(client, _dispute("evt_dw", "charge.dispute.funds_reinstated", "pi_d"))
    won = _receipt(database, settings, race.race_id)
    assert (won.pot_in_cents, won.taken_back_cents, won.reinstated_cents, won.pot_cents) == (
        400,
        400,
        400,
        400,
    )
    assert won.undistributed_cents == won.pot_cents and won.shares_cents == 0
    assert [s.fan_name for s in won.sales] == ["Disputing Fan"]  # no longer disputed: the chosen name again
    assert [r.what for r in won.reversals] == ["Chargeback opened", "Chargeback won: reinstated"]


def test_a_race_that_does_not_exist_is_not_found(night):
    database, settings, _race, _client = night
    with pytest.raises(RaceNotFound):
        _receipt(database, settings, 987654)

"""The Live Pot read model and `GET /api/pot`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cozykart.services.pot import live_pot
from tests.integration.webhook_support import api_client, checkout, live_race, stripe_post, webhook_settings


def test_api_pot_shows_the_live_race_and_its_pool(database):
    settings = webhook_settings(database)
    race = live_race(database, settings, racer_count=3)
    with api_client(settings) as client:
        stripe_post(client, checkout("evt_p1", "pi_p1", 2500, race.started_at + timedelta(minutes=1)))
        stripe_post(client, checkout("evt_p2", "pi_p2", 1000, race.started_at + timedelta(minutes=2)))
        response = client.get("/api/pot")

    body = response.json()
    assert response.status_code == 200
    assert body["pot_cents"] == 700  # 20% of $25.00 + 20% of $10.00
    assert body["currency"] == "USD"
    assert body["race"]["id"] == race.race_id and body["race"]["status"] == "live"
    assert [racer["id"] for racer in body["race"]["racers"]] == race.racer_ids
    assert set(body) == {"race", "pot_cents", "currency"}


def test_with_no_live_race_the_pot_is_empty_and_the_feed_still_shows_sales(database):
    settings = webhook_settings(database)
    sold_at = datetime.now(UTC).replace(microsecond=0)
    with api_client(settings) as client:
        stripe_post(client, checkout("evt_h", "pi_h", 1500, sold_at))
        body = client.get("/api/pot").json()

    assert body == {"race": None, "pot_cents": 0, "currency": "USD"}
    pot = live_pot(uow=database.uow(), settings=settings)
    assert [(line.kind, line.amount_cents, line.fan_name) for line in pot.feed] == [("sale", 1500, "Fan Fiona")]
    assert pot.feed[0].occurred_at == sold_at

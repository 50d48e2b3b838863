"""What the channel is told: each announcement is queued by the change it announces."""

from __future__ import annotations

from datetime import UTC, datetime

from cozykart.services import ledger, outbox, seasons
from tests.integration.league_support import make_league


def _by_kind(database, kind: str) -> list:
    return [row for row in outbox.list_outbox(uow=database.uow()) if row.kind == kind]


def test_a_final_race_without_sales_announces_podium_points_and_an_empty_pot(database):
    lg = make_league(database, racer_count=3)
    lg.final_race(lg.racer_ids)
    (results,) = _by_kind(database, "race_results")
    league_embed, money_embed = results.message["embeds"]
    assert league_embed["title"] == "🏆 Results: Mario Circuit"
    podium = league_embed["fields"][0]["value"]
    assert podium.index("🥇 **Racer0**") < podium.index("🥈 **Racer1**") < podium.index("🥉 **Racer2**")
    assert "#1 Racer0 — 15 pts" in league_embed["fields"][1]["value"]
    assert money_embed["title"] == "💰 Live Pot: nothing this time" and money_embed["color"] == 0xFFD700


def test_closing_a_season_crowns_its_champion_on_discord(database):
    lg = make_league(database, racer_count=2)
    race = lg.final_race(lg.racer_ids)
    seasons.close_season(race.season_id, **lg.kw(lg.admin_id))
    (champion,) = _by_kind(database, "season_champion")
    assert champion.message["content"] == "👑 Congratulations <@d-racer0>!"
    assert champion.message["allowed_mentions"] == {"parse": [], "users": ["d-racer0"]}
    embed = champion.message["embeds"][0]
    assert embed["title"].startswith("👑 Racer0 is the champion of ")
    assert {field["name"]: field["value"] for field in embed["fields"]}["Points"] == "15"


def test_a_tip_tells_the_dj_at_once(database):
    lg = make_league(database, racer_count=1)
    dj_id = lg.racer_ids[0]
    ledger.record_tip(
        key="tip-1",
        dj_racer_id=dj_id,
        tip_cents=500,
        tipped_at=datetime.now(UTC),
        song="Coconut Mall",
        fan_name="Fan Fiona",
        message="gg!",
        uow=database.uow(lg.settings),
    )
    (tip,) = _by_kind(database, "dj_tip")
    assert tip.message["content"] == "<@d-racer0> you got a tip!"
    embed = tip.message["embeds"][0]
    assert embed["title"] == "🎵 Fan Fiona tipped $5.00" and embed["color"] == 0xFFD700
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields == {"Song": "Coconut Mall", "To the DJ": "$4.75", "Message": "gg!"}


def test_the_same_fact_is_never_queued_twice(database):
    with database.uow() as uow:
        first = outbox.record(uow, dedupe_key="race:1:results", kind="race_results", message={"content": "a"})
        again = outbox.record(uow, dedupe_key="race:1:results", kind="race_results", message={"content": "b"})
        uow.commit()
    assert first is not None and again is None
    assert [row.summary for row in outbox.list_outbox(uow=database.uow())] == ["a"]
    assert outbox.outbox_counts(uow=database.uow()) == {"pending": 1, "sent": 0, "failed": 0}

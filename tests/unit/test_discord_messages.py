"""Discord message bodies: money through the one formatter, Discord's limits respected."""

from __future__ import annotations

from cozykart.domain import discord_messages as say


def test_a_cash_out_reads_like_the_seed_and_pings_only_the_racer():
    body = say.cash_out(racer=say.Person("Ana", "42"), amount_cents=5000, currency="USD")
    assert body["content"] == "💸 <@42> just cashed out $50.00!"
    assert body["allowed_mentions"] == {"parse": [], "users": ["42"]}
    assert body["embeds"][0]["color"] == say.GOLD


def test_money_follows_the_deployment_currency():
    body = say.cash_out(racer=say.Person("Ana", "42"), amount_cents=123456, currency="EUR")
    assert body["content"] == "💸 <@42> just cashed out €1,234.56!"


def test_long_text_is_cut_to_discords_limits():
    long_name = "N" * 5000
    body = say.race_started(
        race_name=long_name,
        season_name=None,
        host=say.Person(long_name, "1"),
        roster=[say.Person(long_name, str(n)) for n in range(8)],
        watch_url=None,
    )
    embed = body["embeds"][0]
    assert len(embed["title"]) == say.TITLE_LENGTH_MAX and embed["title"].endswith("…")
    assert all(len(field["value"]) <= say.FIELD_VALUE_LENGTH_MAX for field in embed["fields"])


def test_results_put_finishers_in_order_and_dnf_last_with_each_share():
    finishes = [
        say.Finish(say.Person("Cy", "3"), None, 0, 333),
        say.Finish(say.Person("Bo", "2"), 2, 12, 333),
        say.Finish(say.Person("Ana", "1"), 1, 15, 334),
    ]
    body = say.race_results(
        race_name="Rainbow Road", season_name="Spring", finishes=finishes, pot_cents=1000, currency="USD"
    )
    league_embed, money_embed = body["embeds"]
    assert league_embed["color"] == say.DISCORD_BLUE
    assert league_embed["fields"][1]["value"].splitlines() == [
        "#1 Ana — 15 pts",
        "#2 Bo — 12 pts",
        "DNF Cy — 0 pts",
    ]
    assert money_embed["title"] == "💰 Live Pot: $10.00"
    assert money_embed["fields"][0]["value"].splitlines()[0] == "Ana: **$3.34**"


def test_the_wallet_shows_what_is_left_to_the_threshold():
    body = say.wallet(
        name="Ana",
        avatar_url=None,
        available_cents=1250,
        held_cents=0,
        in_payout_cents=0,
        debt_cents=0,
        lifetime_earned_cents=1250,
        payout_min_cents=2000,
        currency="USD",
    )
    assert body["embeds"][0]["footer"]["text"] == "Payouts from $20.00: $7.50 to go."

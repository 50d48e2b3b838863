"""Every Discord message body, whole: what people read on Discord, and who is pinged."""

from __future__ import annotations

import json

import pytest

from cozykart.domain import discord_messages as say

P = say.Person
BLUE = say.DISCORD_BLUE
GOLD = say.GOLD
NO_PINGS = {"parse": [], "users": []}
POT_LINE = "Merch bought while the race is live feeds the racers' Live Pot."


def field(name: str, value: str, inline: bool) -> dict:
    return {"name": name, "value": value, "inline": inline}


def test_colours_are_gold_for_money_and_discord_blue_for_the_league():
    assert (GOLD, BLUE) == (0xFFD700, 0x5865F2)


def test_race_started_with_everything():
    body = say.race_started(
        race_name="Cup_1",
        season_name="Spring*",
        host=P("Ana", "1"),
        roster=[P("Ana", "1"), P("Bo", "2")],
        watch_url="https://cozy.example/watch",
    )
    assert body == {
        "embeds": [
            {
                "title": "🏁 Cup\\_1 is live!",
                "color": BLUE,
                "description": POT_LINE,
                "url": "https://cozy.example/watch",
                "fields": [
                    field("Roster (2)", "• Ana\n• Bo", False),
                    field("Host", "Ana", True),
                    field("Season", "Spring\\*", True),
                    field("Watch", "[Watch the race live](https://cozy.example/watch)", True),
                ],
            }
        ],
        "allowed_mentions": NO_PINGS,
    }


def test_race_started_without_a_season_or_a_watch_page():
    body = say.race_started(
        race_name="Cup", season_name=None, host=P("Ana", "1"), roster=[P("Ana", "1")], watch_url=None
    )
    assert body == {
        "embeds": [
            {
                "title": "🏁 Cup is live!",
                "color": BLUE,
                "description": POT_LINE,
                "fields": [field("Roster (1)", "• Ana", False), field("Host", "Ana", True)],
            }
        ],
        "allowed_mentions": NO_PINGS,
    }


FINISHES = [
    say.Finish(P("Cy", "3"), None, 0, 0),
    say.Finish(P("Bo", "2"), 2, 12, 300),
    say.Finish(P("Ana", "1"), 1, 15, 700),
    say.Finish(P("Di", "4"), 4, 8, 0),
    say.Finish(P("Ed", "5"), 3, 10, 0),
]


def test_race_results_with_a_pot():
    body = say.race_results(
        race_name="RR", season_name="Spring", finishes=FINISHES, pot_cents=1000, currency="USD"
    )
    assert body == {
        "embeds": [
            {
                "title": "🏆 Results: RR",
                "color": BLUE,
                "footer": {"text": "Spring"},
                "fields": [
                    field("Podium", "🥇 **Ana**\n🥈 **Bo**\n🥉 **Ed**", False),
                    field(
                        "Points",
                        "#1 Ana — 15 pts\n#2 Bo — 12 pts\n#3 Ed — 10 pts\n#4 Di — 8 pts\nDNF Cy — 0 pts",
                        False,
                    ),
                ],
            },
            {
                "title": "💰 Live Pot: $10.00",
                "color": GOLD,
                "description": "Split among the racers of the race.",
                "fields": [field("Shares", "Ana: **$7.00**\nBo: **$3.00**", False)],
            },
        ],
        "allowed_mentions": NO_PINGS,
    }


def test_race_results_without_a_pot_and_without_a_winner():
    body = say.race_results(
        race_name="RR", season_name=None, finishes=FINISHES[:2], pot_cents=0, currency="USD"
    )
    assert body == {
        "embeds": [
            {
                "title": "🏆 Results: RR",
                "color": BLUE,
                "fields": [
                    field("Podium", "🥈 **Bo**", False),
                    field("Points", "#2 Bo — 12 pts\nDNF Cy — 0 pts", False),
                ],
            },
            {
                "title": "💰 Live Pot: nothing this time",
                "color": GOLD,
                "fields": [],
                "description": "No merch was sold during this race.",
            },
        ],
        "allowed_mentions": NO_PINGS,
    }


def test_race_results_link_the_race_receipt_from_both_embeds():
    url = "https://kart.example/races/42"
    for pot_cents in (1000, 0):
        league_embed, money_embed = say.race_results(
            race_name="RR",
            season_name=None,
            finishes=FINISHES,
            pot_cents=pot_cents,
            currency="USD",
            receipt_url=url,
        )["embeds"]
        assert league_embed["url"] == money_embed["url"] == url
        assert money_embed["fields"][-1] == field(
            "Receipt", f"[Every share and sale, to the cent]({url})", False
        )


def test_race_results_without_a_site_address_have_no_link():
    body = say.race_results(
        race_name="RR", season_name=None, finishes=FINISHES, pot_cents=1000, currency="USD"
    )
    assert all("url" not in embed for embed in body["embeds"])
    assert "Receipt" not in json.dumps(body)


def test_race_results_order_ties_by_name_and_a_one_cent_pot_counts():
    finishes = [say.Finish(P("Zed", "1"), None, 0, 0), say.Finish(P("Al", "2"), None, 0, 1)]
    league_embed, money_embed = say.race_results(
        race_name="R", season_name=None, finishes=finishes, pot_cents=1, currency="USD"
    )["embeds"]
    assert league_embed["fields"][1]["value"] == "DNF Al — 0 pts\nDNF Zed — 0 pts"
    assert league_embed["fields"][0]["value"] == "—"
    assert money_embed["title"] == "💰 Live Pot: $0.01"
    assert money_embed["fields"][0]["value"] == "Al: **$0.01**"


def test_a_tip_with_a_name_and_a_message_pings_only_the_dj():
    body = say.dj_tip(
        dj=P("DJ", "9"),
        fan_name="Toad_",
        tip_cents=500,
        dj_cents=450,
        song="Rainbow Road",
        note="gg",
        currency="USD",
    )
    assert body == {
        "content": "<@9> you got a tip!",
        "allowed_mentions": {"parse": [], "users": ["9"]},
        "embeds": [
            {
                "title": "🎵 Toad\\_ tipped $5.00",
                "color": GOLD,
                "fields": [
                    field("Song", "Rainbow Road", True),
                    field("To the DJ", "$4.50", True),
                    field("Message", "gg", False),
                ],
            }
        ],
    }


def test_a_tip_from_a_fan_without_a_name_song_or_message():
    body = say.dj_tip(
        dj=P("DJ", "9"), fan_name=None, tip_cents=500, dj_cents=450, song="", note=None, currency="EUR"
    )
    assert body["embeds"] == [
        {
            "title": "🎵 A fan tipped €5.00",
            "color": GOLD,
            "fields": [field("Song", "—", True), field("To the DJ", "€4.50", True)],
        }
    ]


def test_a_cash_out_whole():
    body = say.cash_out(racer=P("Ana_", "42"), amount_cents=5000, currency="USD")
    assert body == {
        "content": "💸 <@42> just cashed out $50.00!",
        "allowed_mentions": {"parse": [], "users": ["42"]},
        "embeds": [
            {
                "title": "💸 Cash-out",
                "color": GOLD,
                "fields": [],
                "description": "Ana\\_ turned race earnings into $50.00.",
            }
        ],
    }


def test_a_season_closed_without_a_champion():
    body = say.season_champion(
        season_name="S_1", champion=None, points=None, wins=None, sponsor_name=None, sponsor_url=None
    )
    assert body == {
        "embeds": [
            {
                "title": "🏁 S\\_1 is closed",
                "color": BLUE,
                "fields": [],
                "description": "No races were finished.",
            }
        ],
        "allowed_mentions": NO_PINGS,
    }


def test_a_champion_with_a_sponsor_link_that_cannot_break_out_of_its_markdown():
    body = say.season_champion(
        season_name="S1",
        champion=P("Ana", "1"),
        points=40,
        wins=2,
        sponsor_name="Mush",
        sponsor_url="https://x.example/a (b)",
    )
    assert body == {
        "content": "👑 Congratulations <@1>!",
        "allowed_mentions": {"parse": [], "users": ["1"]},
        "embeds": [
            {
                "title": "👑 Ana is the champion of S1!",
                "color": BLUE,
                "fields": [
                    field("Points", "40", True),
                    field("Wins", "2", True),
                    field("Presented by", "[Mush](https://x.example/a%20%28b%29)", True),
                ],
            }
        ],
    }


def test_a_champion_with_a_sponsor_without_a_link_and_no_counts():
    body = say.season_champion(
        season_name="S1",
        champion=P("Ana", "1"),
        points=None,
        wins=None,
        sponsor_name="Mush",
        sponsor_url=None,
    )
    assert body["embeds"][0]["fields"] == [
        field("Points", "0", True),
        field("Wins", "0", True),
        field("Presented by", "Mush", True),
    ]
    no_sponsor = say.season_champion(
        season_name="S1",
        champion=P("Ana", "1"),
        points=3,
        wins=1,
        sponsor_name=None,
        sponsor_url="https://x.example",
    )
    assert [f["name"] for f in no_sponsor["embeds"][0]["fields"]] == ["Points", "Wins"]


WALLET_LINE = "Your share of the merch sold during your races, and your tips."


def test_a_wallet_that_can_cash_out():
    body = say.wallet(
        name="Ana",
        avatar_url="https://a.example/1.png",
        available_cents=2500,
        held_cents=100,
        in_payout_cents=300,
        debt_cents=0,
        lifetime_earned_cents=2900,
        payout_min_cents=2000,
        currency="USD",
    )
    assert body == {
        "embeds": [
            {
                "title": "💰 Ana's racer wallet",
                "color": GOLD,
                "description": WALLET_LINE,
                "thumbnail": {"url": "https://a.example/1.png"},
                "footer": {"text": "You can cash out now with /cashout (from $20.00)."},
                "fields": [
                    field("Available", "**$25.00**", True),
                    field("Held (refund window)", "$1.00", True),
                    field("In payout", "$3.00", True),
                    field("Lifetime earnings", "$29.00", True),
                ],
            }
        ],
        "allowed_mentions": NO_PINGS,
    }


def test_a_wallet_in_debt():
    body = say.wallet(
        name="Ana",
        avatar_url=None,
        available_cents=0,
        held_cents=0,
        in_payout_cents=0,
        debt_cents=150,
        lifetime_earned_cents=0,
        payout_min_cents=2000,
        currency="USD",
    )
    embed = body["embeds"][0]
    assert "thumbnail" not in embed
    assert embed["fields"][-1] == field("Debt", "$1.50 (nets against future earnings)", True)
    assert embed["footer"] == {"text": "Payouts from $20.00: $20.00 to go."}


@pytest.mark.parametrize(
    ("available_cents", "footer"),
    [
        (2000, "You can cash out now with /cashout (from $20.00)."),
        (1999, "Payouts from $20.00: $0.01 to go."),
    ],
)
def test_a_wallet_at_the_threshold_can_cash_out(available_cents, footer):
    body = say.wallet(
        name="A",
        avatar_url=None,
        available_cents=available_cents,
        held_cents=0,
        in_payout_cents=0,
        debt_cents=0,
        lifetime_earned_cents=0,
        payout_min_cents=2000,
        currency="USD",
    )
    assert body["embeds"][0]["footer"]["text"] == footer


def test_standings_final_with_a_sponsor_and_at_most_ten_rows():
    lines = [say.StandingLine(rank, f"R_{rank}", 100 - rank, 1, 3) for rank in range(1, 13)]
    body = say.standings(season_name="S1", closed=True, lines=lines[:2], sponsor_name="Mush_")
    assert body == {
        "embeds": [
            {
                "title": "🏆 S1 standings (final)",
                "color": BLUE,
                "fields": [],
                "description": "#1 **R\\_1** — 99 pts, 1 wins, 3 races\n#2 **R\\_2** — 98 pts, 1 wins, 3 races",
                "footer": {"text": "Presented by Mush_"},
            }
        ],
        "allowed_mentions": NO_PINGS,
    }
    shown = say.standings(season_name="S1", closed=False, lines=lines, sponsor_name=None)["embeds"][0]
    assert shown["description"].count("\n") == say.STANDINGS_ROWS_SHOWN_MAX - 1
    assert shown["description"].splitlines()[-1].startswith("#10 ")


def test_standings_before_any_result():
    body = say.standings(season_name="S1", closed=False, lines=[], sponsor_name=None)
    assert body == {
        "embeds": [
            {"title": "🏆 S1 standings", "color": BLUE, "fields": [], "description": "No results yet."}
        ],
        "allowed_mentions": NO_PINGS,
    }


def test_clip_keeps_text_at_the_limit_and_cuts_one_more_with_an_ellipsis():
    assert say.clip("abcd", 4) == "abcd"
    assert say.clip("abcde", 4) == "abc…"
    assert say.mention("77") == "<@77>"


def test_every_limit_is_discords():
    assert (
        say.TITLE_LENGTH_MAX,
        say.DESCRIPTION_LENGTH_MAX,
        say.FIELD_NAME_LENGTH_MAX,
        say.FIELD_VALUE_LENGTH_MAX,
        say.FOOTER_LENGTH_MAX,
        say.CONTENT_LENGTH_MAX,
    ) == (256, 4096, 256, 1024, 2048, 2000)


def test_long_texts_are_clipped_at_each_limit():
    long = "n" * 5000
    body = say.message(
        content=long,
        embeds=[say._embed(long, color=GOLD, description=long, footer=long, fields=[say._field(long, long)])],
    )
    embed = body["embeds"][0]
    assert len(body["content"]) == 2000 and body["content"].endswith("…")
    assert len(embed["title"]) == 256 and len(embed["description"]) == 4096
    assert len(embed["footer"]["text"]) == 2048
    assert len(embed["fields"][0]["name"]) == 256 and len(embed["fields"][0]["value"]) == 1024
    assert say._field("n", "")["value"] == "—"
    assert say.message() == {"embeds": [], "allowed_mentions": NO_PINGS}

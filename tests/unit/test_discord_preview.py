"""An announcement previewed as Discord would show it: names for mentions, what people typed as typed."""

from __future__ import annotations

from cozykart.domain import discord_messages as say
from cozykart.domain.discord_preview import as_shown, mentioned_ids, preview


def test_a_tip_reads_with_the_djs_name_and_the_fans_text_exactly_as_typed():
    body = say.dj_tip(
        dj=say.Person(name="Rosa_Rx", discord_id="123456789012345678"),
        fan_name="**Fan** <@999>",
        tip_cents=500,
        dj_cents=475,
        song="[Free Nitro](https://evil.example)",
        note="1. great set :fire: @everyone",
        currency="USD",
    )

    shown = preview(body, {"123456789012345678": "Rosa_Rx"})

    assert mentioned_ids(body) == {"123456789012345678"}  # the fan's typed "<@999>" is text, not a mention
    assert shown.content == "@Rosa_Rx you got a tip!"
    (embed,) = shown.embeds
    assert embed.title == "🎵 **Fan** <@999> tipped $5.00"
    assert [(field.name, field.value) for field in embed.fields] == [
        ("Song", "[Free Nitro](https://evil.example)"),
        ("To the DJ", "$4.75"),
        ("Message", "1. great set :fire: @everyone"),
    ]


def test_results_lose_our_bold_and_links_show_their_label_and_unknown_mentions_say_so():
    assert as_shown("🥇 **Shy\\_Guy**", {}) == "🥇 Shy_Guy"
    assert as_shown("[Watch the race live](https://example.org/)", {}) == "Watch the race live"
    assert as_shown("<@42> cashed out", {}) == "@unknown user cashed out"
    assert as_shown("\\<@42\\>", {"42": "Sam"}) == "<@42>"


def test_a_footer_is_shown_as_it_is():
    body = say.message(embeds=[{"title": "x", "footer": {"text": "Cozy Cup · Autumn_2026"}}])
    assert preview(body, {}).embeds[0].footer == "Cozy Cup · Autumn_2026"

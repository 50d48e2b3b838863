"""User text reaches Discord escaped (issue 14, item 4): no masked link, heading or
spoiler a fan, racer or host typed becomes formatting in the league's announcements
or in a slash command's reply. Announcements go through the outbox to the stand-in
Discord webhook server (tests/fake_discord_webhook.py); commands are signed
interactions answered by the real route."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey

from cozykart.services import league, ledger
from tests.integration.discord_support import Discord, discord_user, drain, stand_in_discord, text_of
from tests.integration.league_support import make_league
from tests.integration.webhook_support import ADMIN_DISCORD_ID, api_client, webhook_settings

NITRO = "[Free Nitro](https://evil.example)"
NITRO_ESCAPED = r"\[Free Nitro\]\(https\://evil.example\)"


def _sent(fake) -> str:
    return json.dumps(fake.received, ensure_ascii=False)


def test_a_tip_announcement_carrying_a_masked_link_reaches_discord_escaped(database):
    lg = make_league(database, racer_count=1)
    ledger.record_tip(
        key="tip-nitro",
        dj_racer_id=lg.racer_ids[0],
        tip_cents=500,
        tipped_at=datetime.now(UTC),
        song=NITRO,
        fan_name="Shy_Guy",
        message="# Claim it\n> ||@everyone|| " + NITRO,
        uow=database.uow(lg.settings),
    )

    with stand_in_discord() as fake:
        assert drain(database, fake) == 1

    (body,) = fake.received
    embed = body["embeds"][0]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert embed["title"] == r"🎵 Shy\_Guy tipped $5.00"  # Discord shows: 🎵 Shy_Guy tipped $5.00
    assert fields["Song"] == NITRO_ESCAPED
    # The ledger folds the message onto one line; every markup character is escaped.
    assert fields["Message"] == r"\# Claim it \> \|\|\@everyone\|\| " + NITRO_ESCAPED
    assert NITRO not in _sent(fake)
    assert body["allowed_mentions"] == {"parse": [], "users": ["d-racer0"]}


def test_racer_and_race_names_in_the_race_announcements_are_escaped(database):
    lg = make_league(database, racer_count=1)
    nitro_id = league.get_or_create_racer("d-nitro", "nitro", NITRO, None, uow=database.uow()).racer_id
    lg.final_race([nitro_id, lg.racer_ids[0]], name="**Free** __Nitro__")

    with stand_in_discord() as fake:
        drain(database, fake)

    sent = _sent(fake)
    assert NITRO not in sent and "**Free**" not in sent
    assert NITRO_ESCAPED.replace("\\", "\\\\") in sent  # JSON doubles each backslash
    results = next(body for body in fake.received if body["embeds"][0]["title"].startswith("🏆 Results"))
    assert results["embeds"][0]["title"] == r"🏆 Results: \*\*Free\*\* \_\_Nitro\_\_"


@pytest.fixture
def discord(database):
    signing_key = SigningKey.generate()
    settings = webhook_settings(database, discord_public_key=signing_key.verify_key.encode().hex())
    with api_client(settings) as client:
        yield Discord(client, signing_key)


def test_a_slash_command_reply_escapes_the_lobby_name_and_the_host_name(discord):
    host = discord_user(ADMIN_DISCORD_ID, "Shy_Guy")
    reply = discord.command(host, "lobby", {"name": NITRO}, sub="create")

    shown = text_of(reply)
    assert NITRO not in shown
    assert f"Lobby **{NITRO_ESCAPED}**" in shown and r"hosted by Shy\_Guy" in shown


def test_a_refusal_that_echoes_what_was_typed_is_escaped(discord):
    racer = discord_user("700000000000000001", "Ana")
    typed = "[Nitro](https://e.vil)"  # short enough to be read as an amount, and refused
    reply = discord.command(racer, "cashout", {"amount": typed})

    assert typed not in text_of(reply)
    assert r"\[Nitro\]\(https\://e.vil\)" in text_of(reply)

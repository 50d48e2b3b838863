"""Done when: a whole race is run from Discord alone, money arrives by Stripe webhook,
and the stand-in Discord channel hears every announcement once, in order."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from nacl.signing import SigningKey
from sqlmodel import select

from cozykart import cli
from cozykart.db.tables import Racer
from cozykart.integrations import discord_interactions
from cozykart.services import league, outbox, payouts, wallet
from cozykart.services.reads import reconcile as reconcile_service
from tests.fake_discord_webhook import BOT_TOKEN, server_error
from tests.integration.discord_support import (
    Discord,
    discord_user,
    drain,
    is_ephemeral,
    notifier_for,
    stand_in_discord,
    text_of,
)
from tests.integration.webhook_support import (
    ADMIN_DISCORD_ID,
    api_client,
    checkout,
    stripe_post,
    webhook_settings,
)

ADMIN = discord_user(ADMIN_DISCORD_ID, "Admin")
ANA = discord_user("700000000000000001", "Ana")
BO = discord_user("700000000000000002", "Bo")
CY = discord_user("700000000000000003", "Cy")
SALE_WAIT_S_MAX = 2.0


@pytest.fixture
def discord_server():
    with stand_in_discord() as fake:
        yield fake


def _make_dj(database, discord_id: str) -> None:
    with database.uow() as uow:
        racer = uow.session.exec(select(Racer).where(Racer.discord_id == discord_id)).one()
        racer.is_dj = True
        uow.session.add(racer)
        uow.commit()


def _wait_until_past(instant: datetime) -> None:
    """The race must still be live at the sales' time, so /end waits for it (bounded)."""
    wait_s = (instant - datetime.now(UTC)).total_seconds() + 0.05
    assert wait_s <= SALE_WAIT_S_MAX
    if wait_s > 0:
        time.sleep(wait_s)


def test_a_whole_race_run_from_discord_alone(database, discord_server, monkeypatch):
    fake = discord_server
    monkeypatch.setenv("COZYKART_HOLD_DAYS", "0")  # the ledger's pool split reads the environment
    signing_key = SigningKey.generate()
    settings = webhook_settings(
        database, hold_days=0, discord_public_key=signing_key.verify_key.encode().hex()
    )

    with api_client(settings) as client:
        discord = Discord(client, signing_key)
        # The lobby: the admin hosts, three racers join (each becomes a racer on first use).
        assert "Rainbow Road" in text_of(
            discord.command(ADMIN, "lobby", {"name": "Rainbow Road"}, sub="create")
        )
        for racer in (ANA, BO, CY):
            assert "You joined **Rainbow Road**" in text_of(discord.command(racer, "join"))
        _make_dj(database, CY["id"])
        assert "is live" in text_of(discord.command(ADMIN, "start"))

        # Merch sold and a tip while the race is live, by signed Stripe webhooks.
        started_at = league.current_race(uow=database.uow()).started_at
        sale_at = started_at + timedelta(seconds=1)
        for n in (1, 2):
            response = stripe_post(client, checkout(f"evt_sale_{n}", f"pi_sale_{n}", 15000, sale_at))
            assert response.status_code == 200 and response.json()["status"] == "applied", response.text
        tip = checkout(
            "evt_tip",
            "pi_tip",
            500,
            sale_at,
            metadata={
                "kind": "tip",
                "dj": CY["id"],
                "song": "Coconut Mall",
                "message": "gg!",
                "fan_name": "Fan Fiona",
            },
        )  # the name typed into the tip form
        assert stripe_post(client, tip).json()["status"] == "applied"
        _wait_until_past(sale_at)

        # The race ends; the racers report; the last report makes it final.
        assert "report your place" in text_of(discord.command(ADMIN, "end"))
        discord.command(BO, "result", {"position": "2"})
        discord.command(CY, "result", {"position": "3"})
        final = discord.command(ANA, "result", {"position": "1"})
        assert "You finished **#1** and earned **15 pts**" in text_of(final)

        # Wallets: a $60.00 pot split three ways; Cy also got the tip less 5%.
        ana_wallet = discord.command(ANA, "wallet")
        assert is_ephemeral(ana_wallet) and "Available: **$20.00**" in text_of(ana_wallet)
        assert "Available: **$24.75**" in text_of(discord.command(CY, "wallet"))

        # Cash-out: Ana asks, an admin pays her on the web; the admin pays Bo from Discord.
        asked = discord.command(ANA, "cashout", {"amount": "20.00"})
        assert is_ephemeral(asked) and "requested" in text_of(asked)
        paid = discord.command(
            ADMIN, "payout", {"user": BO["id"], "amount": "20.00"}, resolved_users={BO["id"]: BO}
        )
        assert is_ephemeral(paid) and "Paid" in text_of(paid)
        admin_id = wallet.wallet_by_discord_id(ADMIN_DISCORD_ID, uow=database.uow()).racer_id
        (pending,) = payouts.pending_payouts(uow=database.uow())
        payouts.pay_payout(
            admin_id, pending.id, method="paypal", reference="PP-123", uow=database.uow(settings)
        )

        standings = text_of(discord.command(BO, "standings"))
        assert (
            standings.index("**Ana** — 15 pts")
            < standings.index("**Bo** — 12 pts")
            < standings.index("**Cy** — 10 pts")
        )

    # Discord has a hiccup, then the channel hears everything, once and in order.
    fake.answer_next(server_error())
    hiccup = outbox.deliver_due(notifier_for(fake), sender_id="worker-1", uow=database.uow())
    assert (hiccup.sent, hiccup.retried) == (0, 1)
    later = datetime.now(UTC) + timedelta(minutes=10)  # past the backoff, on the sender's clock
    assert drain(database, fake, clock=lambda: later) == 5
    titles = fake.titles()
    assert titles[0] == "🏁 Rainbow Road is live!"
    assert titles[1] == "🎵 Fan Fiona tipped $5.00"
    assert titles[2:4] == ["🏆 Results: Rainbow Road", "💰 Live Pot: $60.00"]
    contents = [content for content in fake.contents() if content and "cashed out" in content]
    assert contents == [
        f"💸 <@{BO['id']}> just cashed out $20.00!",
        f"💸 <@{ANA['id']}> just cashed out $20.00!",
    ]
    results = fake.received[2]["embeds"]
    assert "🥇 **Ana**" in results[0]["fields"][0]["value"]
    assert results[0]["color"] == 0x5865F2 and results[1]["color"] == 0xFFD700
    assert results[1]["fields"][0]["value"].count("**$20.00**") == 3
    assert len(fake.received) == 5 and fake.attempts == 6
    assert reconcile_service.reconcile(uow=database.uow()).clean


def test_register_commands_sends_every_slash_command(discord_server, monkeypatch, capsys):
    fake = discord_server
    monkeypatch.setenv("DISCORD_API_BASE", fake.api_base)
    monkeypatch.setenv("DISCORD_CLIENT_ID", "111")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", BOT_TOKEN)
    assert cli.main(["discord", "register-commands", "--guild", "42"]) == 0
    assert cli.main(["discord", "register-commands"]) == 0
    out = capsys.readouterr().out
    assert "registered 14 guild 42 command(s)" in out and "registered 14 global command(s)" in out
    paths = [path for path, _ in fake.registrations]
    assert paths == ["/applications/111/guilds/42/commands", "/applications/111/commands"]
    names = {command["name"] for command in fake.registrations[0][1]}
    assert names == {
        "lobby",
        "join",
        "leave",
        "start",
        "end",
        "result",
        "wallet",
        "cashout",
        "cashout-cancel",
        "standings",
        "payout",
        "admin-fix",
        "requests",
        "played",
    }

    monkeypatch.setenv("DISCORD_BOT_TOKEN", "wrong")
    assert cli.main(["discord", "register-commands"]) == 1
    assert "Discord answered 401" in capsys.readouterr().out
    monkeypatch.delenv("DISCORD_BOT_TOKEN")
    assert cli.main(["discord", "register-commands"]) == 2
    assert "DISCORD_BOT_TOKEN" in capsys.readouterr().err
    assert len(discord_interactions.COMMANDS) == 14

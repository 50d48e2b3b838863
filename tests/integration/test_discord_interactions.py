"""Slash commands over `POST /api/discord/interactions`: signed by a real Ed25519 key,
on the league's and the ledger's own services; refusals are ephemeral and change nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from nacl.signing import SigningKey
from sqlalchemy import text

from cozykart.api import discord as discord_api
from cozykart.domain.errors import NotFound
from cozykart.domain.league import NotARacerYet
from cozykart.services import league as league_service
from cozykart.services import ledger, outbox, wallet
from tests.integration.discord_support import Discord, discord_user, is_ephemeral, stand_in_discord, text_of
from tests.integration.webhook_support import ADMIN_DISCORD_ID, api_client, webhook_settings

ADMIN = discord_user(ADMIN_DISCORD_ID, "Admin")
ANA = discord_user("700000000000000001", "Ana")
BO = discord_user("700000000000000002", "Bo")
CY = discord_user("700000000000000003", "Cy")
EPHEMERAL = 64
FOLLOW_UP_POLLS_MAX = 100


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def app(database, signing_key, monkeypatch):
    monkeypatch.setenv("COZYKART_HOLD_DAYS", "0")  # the ledger's pool split reads the environment
    settings = webhook_settings(
        database, hold_days=0, discord_public_key=signing_key.verify_key.encode().hex()
    )
    with api_client(settings) as client:
        yield Discord(client, signing_key), settings


def _state(database) -> tuple:
    """What a refused command must leave as it was."""
    with database.engine.connect() as connection:

        def rows(sql: str) -> list:
            return [tuple(row) for row in connection.execute(text(sql)).all()]

        return (
            rows("select id, status, disputed, started_at, ended_at from race order by id"),
            rows(
                "select race_id, racer_id, reported_position, reported_dnf, position, dnf, points "
                "from race_entry order by race_id, racer_id"
            ),
            rows("select count(*) from ledger_transaction"),
            rows("select id, status, amount_cents from payout order by id"),
            rows("select count(*) from result_fix"),
            rows("select count(*) from discord_outbox"),
            rows("select count(*) from racer"),
        )


def _live_race(discord: Discord, *racers: dict) -> None:
    discord.command(ADMIN, "lobby", {"name": "Mushroom Gorge"}, sub="create")
    for racer in racers:
        discord.command(racer, "join")
    reply = discord.command(ADMIN, "start")
    assert "is live" in text_of(reply), reply


def _refused(discord: Discord, database, user: dict, name: str, options: dict | None = None, **kwargs) -> str:
    before = _state(database)
    reply = discord.command(user, name, options, **kwargs)
    assert is_ephemeral(reply), reply
    assert _state(database) == before
    return text_of(reply)


# --- the endpoint ---------------------------------------------------------------------


def test_ping_gets_pong(app):
    discord, _ = app
    response = discord.post({"id": "1", "type": 1})
    assert response.status_code == 200 and response.json() == {"type": 1}


def test_a_bad_or_missing_signature_is_refused_with_401(app, database):
    discord, _ = app
    before = _state(database)
    payload = {"id": "1", "type": 2, "member": {"user": ANA}, "data": {"name": "wallet"}}
    assert discord.post(payload, signing_key=SigningKey.generate()).status_code == 401  # someone else's key
    assert discord.post(payload, headers={"Content-Type": "application/json"}).status_code == 401  # unsigned
    assert (
        discord.post(
            payload, headers={"X-Signature-Ed25519": "zz" * 64, "X-Signature-Timestamp": "1"}
        ).status_code
        == 401
    )
    body_signed_for_other_payload = discord.signing_key.sign(b"1700000000{}").signature.hex()
    tampered = discord.post(
        payload,
        headers={"X-Signature-Ed25519": body_signed_for_other_payload, "X-Signature-Timestamp": "1700000000"},
    )
    assert tampered.status_code == 401
    assert _state(database) == before


def test_without_a_public_key_the_endpoint_answers_503(database, signing_key):
    with api_client(webhook_settings(database)) as client:
        response = Discord(client, signing_key).post({"id": "1", "type": 1})
    assert response.status_code == 503


def test_the_first_command_makes_the_discord_user_a_racer(app, database):
    discord, _ = app
    reply = discord.command({**ANA, "avatar": "8342729096ea3675442027381ff50dfe"}, "wallet")
    summary = wallet.wallet_by_discord_id(ANA["id"], uow=database.uow())
    assert summary.display_name == "Ana" and summary.available_cents == 0
    racer = league_service.get_or_create_racer(ANA["id"], "ana", "Ana", uow=database.uow())
    assert racer.username == "ana"
    assert is_ephemeral(reply)
    embed = reply["data"]["embeds"][0]
    assert embed["color"] == 0xFFD700 and "Ana's racer wallet" in embed["title"]
    assert "$0.00" in text_of(reply) and "Payouts from $20.00" in text_of(reply)


def test_an_unknown_command_is_answered_ephemerally(app):
    discord, _ = app
    reply = discord.command(ANA, "dance")
    assert is_ephemeral(reply) and "does not know the command /dance" in text_of(reply)


# --- lobbies and races -------------------------------------------------------------------


def test_lobby_join_leave_start_end_from_discord(app, database):
    discord, _ = app
    created = discord.command(ADMIN, "lobby", {"name": "Rainbow Road"}, sub="create")
    assert "Rainbow Road" in text_of(created) and not is_ephemeral(created)
    assert "You joined **Rainbow Road** (1/8" in text_of(discord.command(ANA, "join"))
    assert "(2/8" in text_of(discord.command(BO, "join"))
    assert "You left" in text_of(discord.command(BO, "leave"))
    assert "not in an open lobby" in _refused(discord, database, BO, "leave")
    discord.command(BO, "join")
    started = discord.command(ADMIN, "start")
    assert "**Rainbow Road** is live" in text_of(started) and "Ana" in text_of(started)
    assert league_service.current_race(uow=database.uow()).name == "Rainbow Road"
    ended = discord.command(ADMIN, "end")
    assert "is over" in text_of(ended)
    assert "No race is live" in _refused(discord, database, ADMIN, "end")


def test_lobby_refusals_are_ephemeral_and_change_nothing(app, database):
    discord, _ = app
    discord.command(ANA, "wallet")  # Ana is a racer now
    assert "No lobby is open" in _refused(discord, database, ANA, "join")
    assert "Only a host or an admin" in _refused(
        discord, database, ANA, "lobby", {"name": "Mine"}, sub="create"
    )
    discord.command(ADMIN, "lobby", {"name": "One"}, sub="create")
    discord.command(ADMIN, "lobby", {"name": "Two"}, sub="create")
    assert "Several lobbies are open" in _refused(discord, database, ANA, "join")
    assert "You joined **Two**" in text_of(discord.command(ANA, "join", {"lobby": 2}))
    assert "needs at least 2" in _refused(discord, database, ADMIN, "start", {"lobby": 2})
    assert "Only the host" in _refused(discord, database, ANA, "start", {"lobby": 2})
    assert "You host no open lobby" in _refused(discord, database, ANA, "start")
    assert "must be a whole number" in _refused(discord, database, ANA, "join", {"lobby": "two"})


@pytest.mark.parametrize("position", ["0", "9", "second", "1.5"])
def test_a_bad_position_is_refused_and_changes_nothing(app, database, position):
    discord, _ = app
    _live_race(discord, ANA, BO)
    message = _refused(discord, database, ANA, "result", {"position": position})
    # The refusal is escaped for Discord markdown (it echoes what was typed); Discord shows "position: give".
    assert r"is not a finishing position\: give a whole number from 1 to 2, or DNF" in message


def test_result_with_no_live_race_is_refused(app, database):
    discord, _ = app
    discord.command(ANA, "wallet")
    assert "Is a race active?" in _refused(discord, database, ANA, "result", {"position": "1"})


def test_results_from_discord_make_the_race_final_with_points(app, database):
    discord, _ = app
    _live_race(discord, ANA, BO)
    assert "You reported **#2**" in text_of(discord.command(BO, "result", {"position": "2"}))
    discord.command(ADMIN, "end")
    final = discord.command(ANA, "result", {"position": "1st"})
    assert "You finished **#1** and earned **15 pts**" in text_of(final)
    assert "Is a race active?" in _refused(discord, database, ANA, "result", {"position": "1"})
    standings = discord.command(BO, "standings")
    assert not is_ephemeral(standings)
    assert standings["data"]["embeds"][0]["color"] == 0x5865F2
    assert "#1 **Ana** — 15 pts, 1 wins" in text_of(standings) and "#2 **Bo** — 12 pts" in text_of(standings)


def test_conflicting_reports_say_the_host_will_rule(app):
    discord, _ = app
    _live_race(discord, ANA, BO)
    discord.command(ADMIN, "end")
    discord.command(ANA, "result", {"position": "1"})
    reply = discord.command(BO, "result", {"position": "1"})
    assert "conflict" in text_of(reply) and "the host will rule" in text_of(reply)


def test_admin_fix_from_discord_is_for_admins(app, database):
    discord, _ = app
    _live_race(discord, ANA, BO)
    discord.command(ADMIN, "end")
    discord.command(ANA, "result", {"position": "1"})
    discord.command(BO, "result", {"position": "2"})
    race_id = league_service.list_races(uow=database.uow())[0].race_id
    options = {"race": race_id, "user": BO["id"], "position": "1", "reason": "Ana was disqualified"}
    resolved = {BO["id"]: BO}
    assert "Only a league admin" in _refused(
        discord, database, ANA, "admin-fix", options, resolved_users=resolved
    )
    bad = {**options, "position": "9"}
    assert "not a finishing position" in _refused(
        discord, database, ADMIN, "admin-fix", bad, resolved_users=resolved
    )
    stranger = {**options, "user": "123456789"}
    assert "is not a racer yet" in _refused(discord, database, ADMIN, "admin-fix", stranger)
    fixed = discord.command(ADMIN, "admin-fix", options, resolved_users=resolved)
    assert "Bo is now **#1** (15 pts)" in text_of(fixed) and "Ana was disqualified" in text_of(fixed)
    race = league_service.get_race(race_id, uow=database.uow())
    assert race.entry_of(race.fixes[0].racer.racer_id) is not None and len(race.fixes) == 2


# --- money -----------------------------------------------------------------------------


def _earn(database, settings, user: dict, cents: int) -> int:
    """Credit a racer `cents` through the ledger (a tip to them as DJ), available at once."""
    racer_id = wallet.wallet_by_discord_id(user["id"], uow=database.uow()).racer_id
    ledger.record_tip(
        key=f"tip-{user['id']}-{cents}",
        dj_racer_id=racer_id,
        tip_cents=cents,
        tipped_at=datetime.now(UTC) - timedelta(days=1),
        song="Coconut Mall",
        uow=database.uow(settings),
    )
    return racer_id


def test_cashout_above_the_balance_or_below_the_threshold_is_refused(app, database):
    discord, settings = app
    discord.command(ANA, "wallet")
    _earn(database, settings, ANA, 3000)  # $28.50 after the 5% fee
    assert "You can withdraw up to $28.50 right now" in _refused(
        discord, database, ANA, "cashout", {"amount": "50.00"}
    )
    assert "The smallest payout is $20.00" in _refused(discord, database, ANA, "cashout", {"amount": "5"})
    assert "is not an amount" in _refused(discord, database, ANA, "cashout", {"amount": "lots"})
    reply = discord.command(ANA, "cashout", {"amount": "20.00"})
    assert is_ephemeral(reply) and "Payout #1 of $20.00 requested" in text_of(reply)
    summary = wallet.wallet_by_discord_id(ANA["id"], uow=database.uow())
    assert (summary.available_cents, summary.in_payout_cents) == (850, 2000)


def test_cashout_cancel_puts_the_money_back_privately_and_asks_which_when_several_are_pending(app, database):
    discord, settings = app
    discord.command(ANA, "wallet")
    discord.command(BO, "wallet")
    _earn(database, settings, ANA, 6000)  # $57.00 after the 5% fee
    assert "no pending payout" in _refused(discord, database, ANA, "cashout-cancel")
    discord.command(ANA, "cashout", {"amount": "20.00"})
    discord.command(ANA, "cashout", {"amount": "25.00"})
    which = _refused(discord, database, ANA, "cashout-cancel")
    assert "You have 2 pending payouts" in which and "say which one with the payout option" in which
    assert "That payout does not exist" in _refused(discord, database, BO, "cashout-cancel", {"payout": 1})

    reply = discord.command(ANA, "cashout-cancel", {"payout": 1})

    assert is_ephemeral(reply) and "Payout #1 is cancelled" in text_of(reply)
    summary = wallet.wallet_by_discord_id(ANA["id"], uow=database.uow())
    assert (summary.available_cents, summary.in_payout_cents) == (3200, 2500)
    reply = discord.command(ANA, "cashout-cancel")  # the one left pending
    assert is_ephemeral(reply) and "Payout #2 is cancelled" in text_of(reply)
    assert wallet.wallet_by_discord_id(ANA["id"], uow=database.uow()).available_cents == 5700


def test_payout_by_a_non_admin_is_refused(app, database):
    discord, settings = app
    discord.command(ANA, "wallet")
    discord.command(BO, "wallet")
    _earn(database, settings, BO, 6000)
    message = _refused(
        discord, database, ANA, "payout", {"user": BO["id"], "amount": "50.00"}, resolved_users={BO["id"]: BO}
    )
    assert "Only a league admin can do that." in message


def test_admin_payout_pays_the_racer_and_announces_the_cash_out(app, database):
    discord, settings = app
    discord.command(ADMIN, "wallet")
    discord.command(BO, "wallet")
    _earn(database, settings, BO, 6000)  # $57.00
    assert "You can withdraw up to $57.00" in _refused(
        discord, database, ADMIN, "payout", {"user": BO["id"], "amount": "60"}, resolved_users={BO["id"]: BO}
    )
    reply = discord.command(
        ADMIN,
        "payout",
        {"user": BO["id"], "amount": "50.00", "method": "gift_card"},
        resolved_users={BO["id"]: BO},
    )
    assert is_ephemeral(reply) and f"Paid <@{BO['id']}> $50.00 by gift card" in text_of(reply)
    summary = wallet.wallet_by_discord_id(BO["id"], uow=database.uow())
    assert (summary.available_cents, summary.paid_out_cents) == (700, 5000)
    cash_out = [row for row in outbox.list_outbox(uow=database.uow()) if row.kind == "cash_out"]
    assert [row.message["content"] for row in cash_out] == [f"💸 <@{BO['id']}> just cashed out $50.00!"]
    assert cash_out[0].message["allowed_mentions"] == {"parse": [], "users": [BO["id"]]}
    assert "Choose a payout method" in _refused(
        discord, database, ADMIN, "payout", {"user": BO["id"], "amount": "1", "method": "gold bars"}
    )


def test_admin_payout_to_someone_not_racing_yet_is_refused_and_writes_nothing(app, database):
    discord, _settings = app
    discord.command(ADMIN, "wallet")
    message = _refused(
        discord,
        database,
        ADMIN,
        "payout",
        {"user": BO["id"], "amount": "5.00"},
        resolved_users={BO["id"]: BO},
    )
    assert NotARacerYet().message in message
    with pytest.raises(NotFound):
        wallet.wallet_by_discord_id(BO["id"], uow=database.uow())
    assert [row for row in outbox.list_outbox(uow=database.uow()) if row.kind == "cash_out"] == []


# --- Discord's 3 seconds ---------------------------------------------------------------


def test_a_slow_answer_is_deferred_then_delivered_through_the_interaction_webhook(
    database, signing_key, monkeypatch
):
    monkeypatch.setattr(discord_api, "ANSWER_WAIT_S", 0.0)  # every call counts as slow
    with stand_in_discord() as fake:
        settings = webhook_settings(
            database, discord_public_key=signing_key.verify_key.encode().hex(), discord_api_base=fake.api_base
        )
        with api_client(settings) as client:
            discord = Discord(client, signing_key)
            private = discord.command(ANA, "wallet")
            public = discord.command(ANA, "standings")
            for _ in range(FOLLOW_UP_POLLS_MAX):
                if len(fake.follow_ups) == 2:
                    break
                time.sleep(0.05)
    assert private == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert public == {"type": 5}
    assert {token for token, _ in fake.follow_ups} == {"tok"}
    bodies = [body for _, body in fake.follow_ups]
    assert any("Ana's racer wallet" in (body.get("embeds") or [{}])[0].get("title", "") for body in bodies)
    assert any("No season has started yet" in (body.get("content") or "") for body in bodies)
    assert all("flags" not in body for body in bodies)

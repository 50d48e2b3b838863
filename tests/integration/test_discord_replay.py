"""A signed interaction is acted on once: a stale or future `X-Signature-Timestamp` is refused,
and a repeated interaction id is answered without acting again, on every worker.

What Discord really sends (discord/discord-api-docs, docs/interactions/overview.mdx,
"Validating Security Request Headers"; docs/interactions/receiving-and-responding.mdx,
"Interaction Object"): every interaction carries `X-Signature-Ed25519`, the Ed25519
signature of `X-Signature-Timestamp + body`, and `X-Signature-Timestamp`, Unix seconds
as a string; a failed check is answered 401. The body's `id` is the interaction's own
snowflake, unique per interaction; in a guild the invoker is `member.user`, in a DM
`user`. Discord sends each interaction once (a user who tries again makes a new
interaction with a new id), so the same id twice is a replay: it gets a valid,
ephemeral "already handled" answer (`type` 4, `flags` 64) and nothing is done.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from nacl.signing import SigningKey
from sqlalchemy import text

from cozykart.db.types import utc_now
from cozykart.integrations import discord_interactions
from cozykart.services import interaction_replay, wallet
from tests.integration.discord_support import Discord, discord_user, interaction, is_ephemeral, text_of
from tests.integration.test_discord_interactions import _earn, _state
from tests.integration.webhook_support import ADMIN_DISCORD_ID, api_client, webhook_settings

ADMIN = discord_user(ADMIN_DISCORD_ID, "Admin")
ANA = discord_user("700000000000000001", "Ana")
ALREADY_HANDLED = "already handled"
THREAD_JOIN_S = 10.0


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def settings(database, signing_key, monkeypatch):
    monkeypatch.setenv("COZYKART_HOLD_DAYS", "0")
    return webhook_settings(database, hold_days=0, discord_public_key=signing_key.verify_key.encode().hex())


@pytest.fixture
def discord(settings, signing_key):
    with api_client(settings) as client:
        yield Discord(client, signing_key)


def _lobby_count(database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("select count(*) from race")).scalar_one()


def _payouts(database) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("select id, amount_cents from payout")).all()]


def _seen_ids(database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.execute(text("select interaction_id from discord_interaction")).scalars())


# --- the timestamp ---------------------------------------------------------------------


@pytest.mark.parametrize("age_s", [discord_interactions.TIMESTAMP_AGE_MAX_S + 5, 3 * 24 * 3600])
def test_a_signed_interaction_with_a_stale_timestamp_is_refused_and_changes_nothing(discord, database, age_s):
    before = _state(database)
    stale = str(int(time.time()) - age_s)

    response = discord.post(interaction(ADMIN, "lobby", {"name": "Old"}, sub="create"), timestamp=stale)

    assert response.status_code == 401
    assert response.json() == {"error": "request timestamp is too old"}
    assert _state(database) == before and _lobby_count(database) == 0


def test_a_signed_interaction_from_the_future_is_refused(discord, database):
    before = _state(database)
    ahead = str(int(time.time()) + discord_interactions.TIMESTAMP_FUTURE_TOLERANCE_S + 30)

    response = discord.post(interaction(ADMIN, "lobby", {"name": "Soon"}, sub="create"), timestamp=ahead)

    assert response.status_code == 401
    assert response.json() == {"error": "request timestamp is in the future"}
    assert _state(database) == before


@pytest.mark.parametrize("timestamp", ["", "soon", "1.7e9", "-5", "0x65f0"])
def test_a_signed_interaction_with_a_malformed_timestamp_is_refused(discord, database, timestamp):
    response = discord.post({"id": "5", "type": 1}, timestamp=timestamp)

    assert response.status_code == 401


def test_a_timestamp_a_little_old_or_a_little_ahead_is_accepted(discord, database):
    """Discord's clock and ours differ a little; a delivery that took a while is still good."""
    now_s = int(time.time())
    old = discord.post(
        interaction(ADMIN, "lobby", {"name": "A"}, sub="create"),
        timestamp=str(now_s - discord_interactions.TIMESTAMP_AGE_MAX_S + 20),
    )
    ahead = discord.post(
        interaction(ADMIN, "lobby", {"name": "B"}, sub="create"),
        timestamp=str(now_s + discord_interactions.TIMESTAMP_FUTURE_TOLERANCE_S - 10),
    )

    assert old.status_code == 200 and ahead.status_code == 200
    assert _lobby_count(database) == 2


# --- the same interaction twice --------------------------------------------------------


def test_the_same_signed_cashout_delivered_twice_makes_one_payout_request(discord, database, settings):
    discord.command(ANA, "wallet")
    _earn(database, settings, ANA, 5000)  # $47.50 after the tip fee
    cashout = interaction(ANA, "cashout", {"amount": "25"})
    timestamp = str(int(time.time()))

    first = discord.post(cashout, timestamp=timestamp)
    second = discord.post(cashout, timestamp=timestamp)

    assert first.status_code == 200 and "Payout #1 of $25.00 requested" in text_of(first.json())
    assert second.status_code == 200
    assert is_ephemeral(second.json()) and ALREADY_HANDLED in text_of(second.json())
    assert "Payout" not in text_of(second.json())
    assert _payouts(database) == [(1, 2500)]
    summary = wallet.wallet_by_discord_id(ANA["id"], uow=database.uow())
    assert (summary.available_cents, summary.in_payout_cents) == (2250, 2500)


def test_a_replayed_lobby_create_opens_one_lobby(discord, database):
    """A command without an idempotency key of its own (here /lobby create) is not run twice either."""
    create = interaction(ADMIN, "lobby", {"name": "Rainbow Road"}, sub="create")
    timestamp = str(int(time.time()))

    assert "Rainbow Road" in text_of(discord.post(create, timestamp=timestamp).json())
    replay = discord.post(create, timestamp=timestamp).json()

    assert is_ephemeral(replay) and ALREADY_HANDLED in text_of(replay)
    assert _lobby_count(database) == 1


def test_a_replay_from_a_dm_is_also_answered_once(discord, database):
    """In a DM Discord names the invoker in `user`, not `member.user`."""
    create = interaction(ADMIN, "lobby", {"name": "DM Cup"}, sub="create", in_guild=False)
    timestamp = str(int(time.time()))

    assert "DM Cup" in text_of(discord.post(create, timestamp=timestamp).json())
    assert ALREADY_HANDLED in text_of(discord.post(create, timestamp=timestamp).json())
    assert _lobby_count(database) == 1


def test_a_replay_to_another_worker_is_answered_without_acting(settings, signing_key, database):
    """Two backends (two processes behind one URL) share only the database."""
    create = interaction(ADMIN, "lobby", {"name": "Moo Moo Meadows"}, sub="create")
    timestamp = str(int(time.time()))
    with api_client(settings) as first_worker, api_client(settings) as second_worker:
        first = Discord(first_worker, signing_key).post(create, timestamp=timestamp)
        second = Discord(second_worker, signing_key).post(create, timestamp=timestamp)

    assert "Moo Moo Meadows" in text_of(first.json())
    assert ALREADY_HANDLED in text_of(second.json())
    assert _lobby_count(database) == 1


def test_the_same_interaction_at_the_same_instant_on_two_workers_acts_once(settings, signing_key, database):
    create = interaction(ADMIN, "lobby", {"name": "Coconut Mall"}, sub="create")
    timestamp = str(int(time.time()))
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def deliver() -> None:
        with api_client(settings) as worker:
            barrier.wait()
            answers.append(text_of(Discord(worker, signing_key).post(create, timestamp=timestamp).json()))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_JOIN_S)

    assert len(answers) == 2
    assert sum(ALREADY_HANDLED in answer for answer in answers) == 1
    assert _lobby_count(database) == 1


def test_a_ping_is_not_recorded(discord, database):
    assert discord.post({"id": "9", "type": 1}).json() == {"type": 1}
    assert _seen_ids(database) == set()


def test_an_interaction_without_a_snowflake_id_is_refused(discord, database):
    create = interaction(ADMIN, "lobby", {"name": "Nameless"}, sub="create")

    response = discord.post({**create, "id": "not-a-snowflake"})

    assert response.status_code == 400
    assert _lobby_count(database) == 0


# --- the record stays bounded ----------------------------------------------------------


def test_seen_interaction_ids_are_pruned_once_their_timestamp_is_past_the_window(database):
    start = utc_now()
    assert interaction_replay.first_delivery("1001", start, uow=database.uow(), now=start)
    assert not interaction_replay.first_delivery("1001", start, uow=database.uow(), now=start)

    later = start + interaction_replay.SEEN_KEPT + timedelta(seconds=1)
    assert interaction_replay.first_delivery("1002", later, uow=database.uow(), now=later)

    assert _seen_ids(database) == {"1002"}


def test_an_id_is_kept_longer_than_a_timestamp_is_accepted():
    """Pruned ids can never come back: their signed timestamp is refused first."""
    accepted_s = discord_interactions.TIMESTAMP_AGE_MAX_S
    assert interaction_replay.SEEN_KEPT.total_seconds() > accepted_s

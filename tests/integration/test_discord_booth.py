"""`/requests` and `/played` over signed interactions: the DJ's queue, ephemeral and escaped, and
the oldest waiting song marked played; anyone else is told "only the DJ" and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey
from sqlalchemy import text

from cozykart.services import ledger
from tests.integration.discord_support import Discord, discord_user, is_ephemeral, text_of
from tests.integration.webhook_support import ADMIN_DISCORD_ID, api_client, webhook_settings

DJ = discord_user("700000000000000031", "Rosa")
FAN = discord_user("700000000000000032", "Fan")
ADMIN = discord_user(ADMIN_DISCORD_ID, "Admin")


@pytest.fixture
def app(database):
    signing_key = SigningKey.generate()
    settings = webhook_settings(database, discord_public_key=signing_key.verify_key.encode().hex())
    with api_client(settings) as client:
        yield Discord(client, signing_key), settings


def _rows(database, sql: str) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql)).all()]


def _make_dj(database, discord: Discord) -> int:
    discord.command(DJ, "wallet")  # Rosa is a racer now
    with database.engine.begin() as connection:
        connection.execute(text("update racer set is_dj = true where discord_id = :id"), {"id": DJ["id"]})
    ((racer_id,),) = _rows(database, f"select id from racer where discord_id = '{DJ['id']}'")
    return racer_id


def _tip(database, settings, dj: int, key: str, song: str, fan_name: str | None, message: str | None) -> None:
    ledger.record_tip(
        key=key,
        dj_racer_id=dj,
        tip_cents=700,
        tipped_at=datetime.now(UTC),
        song=song,
        fan_name=fan_name,
        message=message,
        uow=database.uow(settings),
    )


def _state(database) -> tuple:
    return (
        _rows(database, "select id, status, decided_by_racer_id from song_request order by id"),
        _rows(database, "select count(*) from admin_action"),
    )


def test_the_dj_lists_the_queue_privately_and_marks_the_oldest_played(app, database):
    discord, settings = app
    dj = _make_dj(database, discord)
    assert text_of(discord.command(DJ, "requests")) == "🎧 No song requests are waiting."
    _tip(database, settings, dj, "t1", "**Bowser's** Castle", "@everyone", "play _this_")
    _tip(database, settings, dj, "t2", "DK Summit", None, None)

    listed = discord.command(DJ, "requests")

    assert is_ephemeral(listed)
    content = text_of(listed)
    assert "2 song request(s) waiting" in content
    assert "\\*\\*Bowser's\\*\\* Castle" in content and "play \\_this\\_" in content
    assert "$7.00" in content and "for A fan" in content
    assert content.index("Bowser") < content.index("DK Summit")
    assert listed["data"]["allowed_mentions"]["parse"] == []  # "@everyone" in a fan name pings no one

    played = discord.command(DJ, "played")
    assert not is_ephemeral(played)
    assert "Now playing **\\*\\*Bowser's\\*\\* Castle**" in text_of(played)
    assert _rows(database, "select song, status from song_request order by id") == [
        ("**Bowser's** Castle", "played"),
        ("DK Summit", "waiting"),
    ]
    assert _rows(database, "select kind, actor_racer_id from admin_action") == [("song_played", dj)]
    assert "DK Summit" in text_of(discord.command(DJ, "played"))
    assert "No song request is waiting" in text_of(discord.command(DJ, "played"))


def test_anyone_but_the_dj_is_told_only_the_dj_and_nothing_changes(app, database):
    discord, settings = app
    dj = _make_dj(database, discord)
    _tip(database, settings, dj, "t1", "Toad Harbor", "Theo", "hi")
    before = _state(database)

    for name in ("requests", "played"):
        reply = discord.command(FAN, name)
        assert is_ephemeral(reply)
        assert "Only the DJ" in text_of(reply)
        assert "Toad Harbor" not in text_of(reply)
    assert _state(database) == before

    assert "Toad Harbor" in text_of(discord.command(ADMIN, "requests"))  # an admin may run the booth

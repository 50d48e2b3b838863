"""The DJ booth on SQLite and PostgreSQL: a tip that names a song becomes a request in its own
transaction (and the DJ is told), a refund or dispute marks it, and only the request's DJ or an
admin decides it, once, audited; every refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from cozykart.db.tables import Racer
from cozykart.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from cozykart.services import ledger, notices, song_requests
from tests.integration.ledger_support import T0, make_admin, make_racers, settings_for


def _dj(database, *, prefix: str = "dj") -> int:
    (racer_id,) = make_racers(database, 1, prefix=prefix)
    with database.uow() as uow:
        racer = uow.session.get(Racer, racer_id)
        racer.is_dj = True
        uow.session.add(racer)
        uow.commit()
    return racer_id


def _tip(database, dj: int, key: str, *, song: str = "Coconut Mall", minutes: int = 0, **fields):
    values = {"fan_name": "Theo", "message": "Turn it *up*"} | fields
    return ledger.record_tip(
        key=key,
        dj_racer_id=dj,
        tip_cents=500,
        tipped_at=T0 + timedelta(minutes=minutes),
        song=song,
        uow=database.uow(settings_for(database)),
        **values,
    )


def _rows(database, sql: str) -> list[tuple]:
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql)).all()]


def _requests(database) -> list[tuple]:
    return _rows(
        database,
        "select payment_id, dj_racer_id, fan_name, song, message, tip_cents, status, decided_by_racer_id "
        "from song_request order by id",
    )


def _booth_state(database) -> tuple:
    """What a refused decision must leave as it was."""
    return (
        _requests(database),
        _rows(database, "select kind, actor_racer_id, subject, old_value, new_value from admin_action"),
    )


def test_a_tip_with_a_song_joins_its_djs_queue_and_the_dj_is_told(database):
    dj = _dj(database)
    receipt = _tip(database, dj, "t1")

    assert _requests(database) == [
        (receipt.payment_id, dj, "Theo", "Coconut Mall", "Turn it *up*", 500, "waiting", None)
    ]
    (line,) = notices.open_notices(dj, uow=database.uow())
    assert (line.kind, line.title) == ("song_request", "New song request")
    assert line.body == "Theo tipped $5.00 for “Coconut Mall”. Their message: “Turn it *up*”"
    (dm,) = _rows(database, "select kind, payload from discord_outbox where channel = 'direct'")
    assert dm[0] == "dm_song_request"
    assert "Turn it \\\\*up\\\\*" in dm[1]  # escaped for Discord markdown


def test_a_tip_without_a_song_or_replayed_makes_no_new_request(database):
    dj = _dj(database)
    _tip(database, dj, "t1", song="")  # the ledger records "a song of the DJ's choice"
    assert _requests(database) == []
    assert notices.unread_count(dj, uow=database.uow()) == 0

    _tip(database, dj, "t2")
    _tip(database, dj, "t2")  # the same payment again
    assert len(_requests(database)) == 1
    assert notices.unread_count(dj, uow=database.uow()) == 1


def test_a_fan_without_a_public_name_stays_a_fan(database):
    dj = _dj(database)
    _tip(database, dj, "t1", fan_name=None)
    (line,) = song_requests.dj_booth(dj, uow=database.uow()).waiting
    assert line.fan_name == "A fan"
    assert song_requests.up_next(uow=database.uow()).up_next[0].fan_name == "A fan"


def test_the_dj_plays_and_skips_in_order_each_decision_audited_once(database):
    dj = _dj(database)
    first = _tip(database, dj, "t1", song="Rainbow Road", minutes=1)
    _tip(database, dj, "t2", song="Koopa Cape", minutes=2, fan_name="Mia")
    booth = song_requests.dj_booth(dj, uow=database.uow())
    assert [line.song for line in booth.waiting] == ["Rainbow Road", "Koopa Cape"]

    played = song_requests.decide_request(dj, booth.waiting[0].request_id, "played", uow=database.uow())
    skipped = song_requests.decide_request(
        dj, str(booth.waiting[1].request_id), "skipped", uow=database.uow()
    )

    assert (played.status, skipped.status) == ("played", "skipped")
    assert [row[6:] for row in _requests(database)] == [("played", dj), ("skipped", dj)]
    assert _rows(
        database, "select kind, actor_racer_id, racer_id, old_value, new_value from admin_action"
    ) == [("song_played", dj, dj, "waiting", "played"), ("song_skipped", dj, dj, "waiting", "skipped")]
    before = _booth_state(database)
    with pytest.raises(Conflict, match="already marked played"):
        song_requests.decide_request(dj, played.request_id, "skipped", uow=database.uow())
    assert _booth_state(database) == before
    queue = song_requests.up_next(uow=database.uow())
    assert queue.now_playing == song_requests.PublicRequest("Rainbow Road", "Theo")
    assert queue.up_next == ()
    assert first.payment_id == _requests(database)[0][0]


def test_played_marks_the_oldest_waiting_request_of_that_dj(database):
    dj, other_dj = _dj(database), _dj(database, prefix="other")
    _tip(database, other_dj, "t0", song="Not mine", minutes=0)
    _tip(database, dj, "t1", song="Mine first", minutes=1)
    _tip(database, dj, "t2", song="Mine second", minutes=2)

    assert song_requests.play_next(dj, uow=database.uow()).song == "Mine first"
    assert song_requests.play_next(dj, uow=database.uow()).song == "Mine second"
    before = _booth_state(database)
    with pytest.raises(Conflict, match="No song request is waiting"):
        song_requests.play_next(dj, uow=database.uow())
    assert _booth_state(database) == before
    assert [line.song for line in song_requests.up_next(uow=database.uow()).up_next] == ["Not mine"]


def test_only_the_requests_dj_or_an_admin_decides_it(database):
    dj, other_dj = _dj(database), _dj(database, prefix="other")
    (fan_racer,) = make_racers(database, 1, prefix="fan")
    admin = make_admin(database)
    _tip(database, dj, "t1")
    request_id = song_requests.dj_booth(dj, uow=database.uow()).waiting[0].request_id
    settings = settings_for(database)

    before = _booth_state(database)
    with pytest.raises(PermissionDenied, match="Only the DJ"):
        song_requests.decide_request(fan_racer, request_id, "played", uow=database.uow(settings))
    with pytest.raises(PermissionDenied, match="another DJ"):
        song_requests.decide_request(other_dj, request_id, "played", uow=database.uow(settings))
    with pytest.raises(PermissionDenied, match="Only the DJ"):
        song_requests.dj_booth(fan_racer, uow=database.uow(settings))
    with pytest.raises(PermissionDenied, match="Only the DJ"):
        song_requests.play_next(fan_racer, uow=database.uow(settings))
    assert song_requests.dj_booth(other_dj, uow=database.uow(settings)).waiting == ()
    with pytest.raises(InvalidInput):
        song_requests.decide_request(dj, request_id, "burned", uow=database.uow(settings))
    for bad_id in ("abc", -1, True, None, "1" * 40):
        with pytest.raises(InvalidInput):
            song_requests.decide_request(dj, bad_id, "played", uow=database.uow(settings))
    with pytest.raises(NotFound):
        song_requests.decide_request(dj, request_id + 999, "played", uow=database.uow(settings))
    assert _booth_state(database) == before

    booth = song_requests.dj_booth(admin, uow=database.uow(settings))
    assert booth.all_djs and [line.request_id for line in booth.waiting] == [request_id]
    song_requests.decide_request(admin, request_id, "skipped", uow=database.uow(settings))
    assert _requests(database)[0][6:] == ("skipped", admin)


@pytest.mark.parametrize("reversal", ["refund", "dispute"])
def test_a_refund_or_dispute_of_the_tip_marks_its_request_refunded(database, reversal):
    dj = _dj(database)
    _tip(database, dj, "t1", song="Waluigi Pinball", minutes=1)
    _tip(database, dj, "t2", song="Played already", minutes=2)
    song_requests.decide_request(
        dj, song_requests.dj_booth(dj, uow=database.uow()).waiting[1].request_id, "played", uow=database.uow()
    )
    settings = settings_for(database)
    for key in ("t1", "t2"):
        if reversal == "refund":
            ledger.refund_payment(
                payment_key=key,
                refund_key=f"r-{key}",
                refunded_at=T0 + timedelta(hours=1),
                uow=database.uow(settings),
            )
        else:
            ledger.open_dispute(
                payment_key=key,
                dispute_key=f"d-{key}",
                opened_at=T0 + timedelta(hours=1),
                uow=database.uow(settings),
            )

    assert [row[6] for row in _requests(database)] == ["refunded", "refunded"]
    booth = song_requests.dj_booth(dj, uow=database.uow())
    assert booth.waiting == ()
    assert {(line.song, line.fan_name, line.message) for line in booth.decided} == {
        ("Waluigi Pinball", "A fan", ""),
        ("Played already", "A fan", ""),
    }
    request_id = booth.decided[0].request_id
    before = _booth_state(database)
    with pytest.raises(Conflict, match="refunded"):
        song_requests.decide_request(dj, request_id, "played", uow=database.uow())
    assert _booth_state(database) == before
    assert song_requests.up_next(uow=database.uow()).now_playing is None


def test_a_refund_of_a_sale_touches_no_request(database):
    dj = _dj(database)
    _tip(database, dj, "t1")
    ledger.record_sale(
        key="s1", gross_cents=2000, sold_at=T0, item="Hoodie", uow=database.uow(settings_for(database))
    )
    ledger.refund_payment(
        payment_key="s1", refund_key="rs1", refunded_at=T0 + timedelta(hours=1), uow=database.uow()
    )
    assert [row[6] for row in _requests(database)] == ["waiting"]

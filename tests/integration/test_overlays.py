"""The OBS overlay key: made by admins only, shown once, stored hashed, the newest one valid."""

from __future__ import annotations

import pytest
from sqlmodel import select

from cozykart.db.overlay_tables import OverlayKey
from cozykart.domain.errors import PermissionDenied
from cozykart.services import league, overlays
from cozykart.settings import Settings

ADMIN_DISCORD_ID = "900000000000000077"


@pytest.fixture
def people(database):
    settings = Settings(db_url=database.url, admin_discord_ids=frozenset({ADMIN_DISCORD_ID}))
    admin = league.get_or_create_racer(ADMIN_DISCORD_ID, "admin", "Admin", None, uow=database.uow())
    racer = league.get_or_create_racer("123456", "racer", "Racer", None, uow=database.uow())
    return settings, admin.racer_id, racer.racer_id


def test_no_overlay_opens_before_an_admin_makes_a_key(database):
    assert overlays.overlay_key_is_valid("anything", uow=database.uow()) is False
    assert overlays.overlay_key_is_valid(None, uow=database.uow()) is False


def test_a_new_key_works_and_retires_the_old_one(database, people):
    settings, admin_id, _ = people
    first = overlays.regenerate_overlay_key(actor_id=admin_id, uow=database.uow(settings))
    assert overlays.overlay_key_is_valid(first, uow=database.uow())

    second = overlays.regenerate_overlay_key(actor_id=admin_id, uow=database.uow(settings))

    assert second != first
    assert overlays.overlay_key_is_valid(second, uow=database.uow())
    assert not overlays.overlay_key_is_valid(first, uow=database.uow())
    with database.uow() as uow:
        stored = uow.session.exec(select(OverlayKey.key_sha256)).all()
    assert first not in stored and second not in stored  # only digests are kept


def test_a_racer_can_neither_make_a_key_nor_send_a_test_alert(database, people):
    settings, _, racer_id = people
    with pytest.raises(PermissionDenied):
        overlays.regenerate_overlay_key(actor_id=racer_id, uow=database.uow(settings))
    with pytest.raises(PermissionDenied):
        overlays.check_overlay_admin(actor_id=racer_id, uow=database.uow(settings))
    with database.uow() as uow:
        assert uow.session.exec(select(OverlayKey)).all() == []

"""Roles and profile: admins grant and revoke host and DJ (audited); nobody else can."""

from __future__ import annotations

import pytest
from sqlmodel import select

from cozykart.db.identity_tables import AuthSession, RoleChange
from cozykart.db.tables import Racer
from cozykart.domain.errors import InvalidInput, NotFound, PermissionDenied
from cozykart.domain.identity import MKT_NAME_LENGTH_MAX, LoginUnavailable
from cozykart.services import identity
from cozykart.services.demo import seed_demo
from tests.integration.identity_support import ADMIN_DISCORD_ID, build_world, make_settings


def _add_racer(database, discord_id: str, *, is_host: bool = False, is_dj: bool = False) -> int:
    with database.uow() as uow:
        racer = Racer(
            discord_id=discord_id,
            username=f"user{discord_id[-4:]}",
            display_name=f"Racer {discord_id[-4:]}",
            is_host=is_host,
            is_dj=is_dj,
        )
        uow.session.add(racer)
        uow.session.flush()
        racer_id = racer.id
        uow.commit()
    return racer_id


def _snapshot(database) -> tuple[list[tuple], list[tuple]]:
    """Everything a role action could change: every racer's roles and profile, and the audit."""
    with database.uow() as uow:
        racers = [
            (r.id, r.is_host, r.is_dj, r.mkt_name, r.display_name)
            for r in uow.session.exec(select(Racer).order_by(Racer.id))
        ]
        audit = [
            (c.racer_id, c.role, c.old_value, c.new_value, c.actor_racer_id)
            for c in uow.session.exec(select(RoleChange).order_by(RoleChange.id))
        ]
    return racers, audit


@pytest.fixture
def league(database):
    settings = make_settings(database.url, "http://127.0.0.1:9")
    return {
        "settings": settings,
        "admin": _add_racer(database, ADMIN_DISCORD_ID),
        "host": _add_racer(database, "100000000000000002", is_host=True),
        "dj": _add_racer(database, "100000000000000003", is_dj=True),
        "racer": _add_racer(database, "100000000000000004"),
    }


def test_admin_grants_and_revokes_host_and_dj_with_an_audit_trail(database, league):
    settings = league["settings"]
    admin, racer = league["admin"], league["racer"]

    granted = identity.set_role(admin, racer, "host", granted=True, uow=database.uow(settings))
    identity.set_role(admin, racer, "DJ", granted=True, uow=database.uow(settings))
    revoked = identity.set_role(admin, racer, "host", granted=False, uow=database.uow(settings))

    assert granted.is_host is True
    assert (revoked.is_host, revoked.is_dj) == (False, True)
    with database.uow() as uow:
        changes = uow.session.exec(select(RoleChange).order_by(RoleChange.id)).all()
        assert [(c.racer_id, c.role, c.old_value, c.new_value, c.actor_racer_id) for c in changes] == [
            (racer, "host", False, True, admin),
            (racer, "dj", False, True, admin),
            (racer, "host", True, False, admin),
        ]
        assert all(c.created_at is not None for c in changes)

    overview = identity.roles_overview(admin, uow=database.uow(settings))
    latest = overview.history[0]
    assert (latest.actor_name, latest.role, latest.new_value) == ("Racer 0001", "host", False)
    assert {row.racer_id for row in overview.racers} == {admin, league["host"], league["dj"], racer}
    assert next(row for row in overview.racers if row.racer_id == admin).is_admin


def test_granting_a_role_already_held_changes_and_audits_nothing(database, league):
    before = _snapshot(database)

    identity.set_role(
        league["admin"], league["host"], "host", granted=True, uow=database.uow(league["settings"])
    )

    assert _snapshot(database) == before


def test_an_unknown_role_or_racer_is_refused(database, league):
    settings = league["settings"]
    with pytest.raises(InvalidInput):
        identity.set_role(league["admin"], league["racer"], "admin", granted=True, uow=database.uow(settings))
    with pytest.raises(NotFound):
        identity.set_role(league["admin"], 999_999, "host", granted=True, uow=database.uow(settings))


@pytest.mark.parametrize("who", ["racer", "host", "dj"])
def test_a_non_admin_calling_every_admin_action_is_refused_and_nothing_changes(database, league, who):
    settings = league["settings"]
    actor = league[who]
    before = _snapshot(database)
    attempts = [
        lambda: identity.set_role(actor, actor, "host", granted=True, uow=database.uow(settings)),
        lambda: identity.set_role(actor, actor, "dj", granted=True, uow=database.uow(settings)),
        lambda: identity.set_role(actor, league["host"], "host", granted=False, uow=database.uow(settings)),
        lambda: identity.set_role(actor, league["dj"], "dj", granted=False, uow=database.uow(settings)),
        lambda: identity.roles_overview(actor, uow=database.uow(settings)),
    ]

    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()

    assert _snapshot(database) == before


def test_admin_comes_from_the_settings_not_the_database(database, league):
    not_admin_settings = make_settings(database.url, "http://127.0.0.1:9", COZYKART_ADMIN_DISCORD_IDS="")
    with pytest.raises(PermissionDenied):
        identity.roles_overview(league["admin"], uow=database.uow(not_admin_settings))


def test_a_racer_sets_their_mario_kart_tour_name(database, league):
    saved = identity.update_profile(league["racer"], mkt_name="  Shy   Guy  77 ", uow=database.uow())

    assert saved.mkt_name == "Shy Guy 77"
    assert identity.profile(league["racer"], uow=database.uow()).mkt_name == "Shy Guy 77"
    assert identity.update_profile(league["racer"], mkt_name="", uow=database.uow()).mkt_name == ""


@pytest.mark.parametrize("bad_name", ["x" * (MKT_NAME_LENGTH_MAX + 1), "tab\tname", "bell\x07"])
def test_a_bad_mario_kart_tour_name_is_refused_and_the_old_one_kept(database, league, bad_name):
    identity.update_profile(league["racer"], mkt_name="Keeper", uow=database.uow())
    before = _snapshot(database)

    with pytest.raises(InvalidInput):
        identity.update_profile(league["racer"], mkt_name=bad_name, uow=database.uow())

    assert _snapshot(database) == before


# --- developer login ---------------------------------------------------------------


def test_dev_login_is_refused_unless_enabled(database, fake_discord):
    seed_demo(uow=database.uow())
    world = next(build_world(database, fake_discord))

    with pytest.raises(LoginUnavailable):
        identity.dev_login("demo-shyguy_drift", uow=database.uow(world.settings))
    with pytest.raises(LoginUnavailable):
        identity.dev_login_choices(uow=database.uow(world.settings))
    assert world.client.get("/auth/dev").status_code == 404
    assert world.client.post("/auth/dev/login", data={"discord_id": "demo-shyguy_drift"}).status_code == 404
    with database.uow() as uow:
        assert uow.session.exec(select(AuthSession)).first() is None


def test_dev_login_signs_in_demo_racers_only(database, fake_discord):
    seed_demo(uow=database.uow())
    worlds = build_world(database, fake_discord, COZYKART_DEV_LOGIN="1")
    world = next(worlds)
    _add_racer(database, "100000000000000009")

    page = world.client.get("/auth/dev", params={"next": "/me"})
    assert page.status_code == 200
    assert "Developer login" in page.text and "Sam" in page.text
    assert page.text.count("data-testid='dev-login-choice'") == 16

    response = world.client.post("/auth/dev/login", data={"discord_id": "demo-shyguy_drift", "next": "/me"})
    assert response.status_code == 303 and response.headers["location"] == "/me"
    viewer = identity.viewer_for_session(world.session_cookie, uow=database.uow(world.settings))
    assert viewer.display_name == "Sam" and viewer.is_host

    with pytest.raises(PermissionDenied):
        identity.dev_login("100000000000000009", uow=database.uow(world.settings))
    refused = world.client.post("/auth/dev/login", data={"discord_id": "100000000000000009"})
    assert refused.status_code == 400
    cross_site = world.client.post(
        "/auth/dev/login", data={"discord_id": "demo-koopa_kid"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    worlds.close()

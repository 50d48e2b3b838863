"""Starting a Discord login is an unauthenticated write: it is bounded per client and in total,
and an attempt past its lifetime is refused and deleted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlmodel import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cozykart.api import auth
from cozykart.db.identity_tables import LoginAttempt
from cozykart.db.types import utc_now
from cozykart.domain.identity import LoginFailed, TooManyLoginAttempts, client_network
from cozykart.services import identity
from tests.integration.identity_support import AuthWorld, query_of

CLIENT_ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.9"
REDIRECT_URI = "http://testserver/auth/discord/callback"
THREAD_JOIN_S = 20.0


@contextmanager
def browser(world: AuthWorld, address: str) -> Iterator[TestClient]:
    """A browser at `address` (the TCP peer the server sees) on the same auth routes."""
    app = Starlette(routes=auth.routes)
    app.state.settings = world.settings
    with TestClient(
        app, base_url="http://testserver", follow_redirects=False, client=(address, 40000)
    ) as client:
        yield client


def _attempt_count(world: AuthWorld) -> int:
    with world.uow() as uow:
        return uow.session.exec(select(func.count()).select_from(LoginAttempt)).one()


def _begin(world: AuthWorld, address: str, now=None) -> identity.LoginStart:
    return identity.begin_login(
        next_path="/me",
        redirect_uri=REDIRECT_URI,
        uow=world.uow(world.settings),
        client_address=address,
        now=now,
    )


def test_a_login_loop_from_one_client_stops_at_the_bound_with_429(world):
    bound = identity.LOGIN_ATTEMPTS_PER_CLIENT_MAX
    with browser(world, CLIENT_ADDRESS) as client:
        statuses = [client.get(auth.LOGIN_PATH).status_code for _ in range(bound + 5)]
        refused = client.get(auth.LOGIN_PATH)

    assert statuses == [302] * bound + [429] * 5
    assert refused.status_code == 429
    assert "Too many logins" in refused.text and len(refused.text) < 2000
    assert refused.headers["retry-after"].isdigit()
    assert "set-cookie" not in refused.headers  # no login cookie: nothing was started
    assert _attempt_count(world) == bound


def test_another_client_still_logs_in_while_one_is_at_its_bound(world):
    with browser(world, CLIENT_ADDRESS) as client:
        for _ in range(identity.LOGIN_ATTEMPTS_PER_CLIENT_MAX):
            assert client.get(auth.LOGIN_PATH).status_code == 302
        assert client.get(auth.LOGIN_PATH).status_code == 429

    response = world.log_in(next_path="/me")  # the world's own browser, another address

    assert response.status_code == 303 and response.headers["location"] == "/me"
    assert world.session_cookie


def test_finished_logins_do_not_use_up_the_clients_bound(world):
    """A LAN party behind one address: everyone who finishes their login frees their place."""
    for _ in range(identity.LOGIN_ATTEMPTS_PER_CLIENT_MAX + 3):
        assert world.log_in().status_code == 303


def test_the_total_is_bounded_when_logins_come_from_many_addresses(world, monkeypatch):
    monkeypatch.setattr(identity, "LOGIN_ATTEMPTS_LIVE_MAX", 5)
    statuses = []
    for index in range(8):
        with browser(world, f"192.0.2.{index + 1}") as client:
            statuses.append(client.get(auth.LOGIN_PATH).status_code)

    assert statuses == [302] * 5 + [429] * 3
    assert _attempt_count(world) == 5


def test_ipv6_addresses_of_one_network_share_one_bound():
    """One IPv6 customer holds a whole /64; counting each address would bound nothing."""
    assert client_network("2001:db8:1:2::1") == client_network("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert client_network("2001:db8:1:2::1") != client_network("2001:db8:1:3::1")
    assert client_network("::ffff:203.0.113.7") == client_network("203.0.113.7")
    assert client_network("203.0.113.7") != client_network("203.0.113.8")
    assert client_network("testclient") == "testclient"


def test_an_expired_attempt_is_refused_at_the_callback_and_deleted(world):
    params = query_of(world.start_login())
    assert _attempt_count(world) == 1

    with pytest.raises(LoginFailed, match="expired"):
        identity.complete_login(
            state=params["state"],
            code=params["code"],
            browser_secret=world.login_cookie,
            redirect_uri=REDIRECT_URI,
            uow=world.uow(world.settings),
            now=utc_now() + identity.LOGIN_ATTEMPT_LIFETIME + timedelta(seconds=1),
        )

    assert _attempt_count(world) == 0
    assert world.fake.token_requests == 0


def test_expired_attempts_are_removed_and_free_the_clients_bound(world):
    start = utc_now()
    for _ in range(identity.LOGIN_ATTEMPTS_PER_CLIENT_MAX):
        _begin(world, CLIENT_ADDRESS, now=start)
    with pytest.raises(TooManyLoginAttempts):
        _begin(world, CLIENT_ADDRESS, now=start)

    later = start + identity.LOGIN_ATTEMPT_LIFETIME + timedelta(seconds=1)
    _begin(world, CLIENT_ADDRESS, now=later)

    assert _attempt_count(world) == 1


def test_logins_started_at_the_same_instant_from_one_client_stay_within_the_bound(world):
    bound = identity.LOGIN_ATTEMPTS_PER_CLIENT_MAX
    barrier = threading.Barrier(bound + 4)
    refusals: list[TooManyLoginAttempts] = []

    def start() -> None:
        barrier.wait()
        try:
            _begin(world, CLIENT_ADDRESS)
        except TooManyLoginAttempts as error:
            refusals.append(error)

    threads = [threading.Thread(target=start) for _ in range(bound + 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_JOIN_S)

    assert len(refusals) == 4
    assert _attempt_count(world) == bound


def test_a_normal_login_from_a_real_address_still_works(world):
    with browser(world, CLIENT_ADDRESS) as client:
        world.client = client
        response = world.log_in(next_path="/me")

        assert response.status_code == 303 and response.headers["location"] == "/me"
        assert world.session_cookie
        assert identity.viewer_for_session(world.session_cookie, uow=world.uow(world.settings))

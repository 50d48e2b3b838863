"""Identity rules at their edges (domain/identity.py), record ids (domain/ids.py), race windows (domain/events.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain.errors import InvalidInput
from cozykart.domain.events import RaceOutcome, RaceWindow, SplitRule
from cozykart.domain.identity import (
    NEXT_PATH_LENGTH_MAX,
    DevLoginInProduction,
    Role,
    client_network,
    parse_role,
    refuse_dev_login_in_production,
    safe_next,
    safe_next_path,
    validate_mkt_name,
)
from cozykart.domain.ids import SAFE_INTEGER_MAX, parse_record_id, parse_whole_number

T0 = datetime(2026, 1, 1, 20, tzinfo=UTC)


# --- who counts as one client -------------------------------------------------


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("testclient", "testclient"),
        (" testclient ", "testclient"),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_64(address, client):
    assert client_network(address) == client


# --- names and roles ----------------------------------------------------------


def test_a_mario_kart_tour_name_at_its_limits():
    assert validate_mkt_name("  Shy   Guy ", length_max=7) == "Shy Guy"
    assert validate_mkt_name("", length_max=7) is None
    assert validate_mkt_name(None, length_max=7) is None
    assert validate_mkt_name("   ", length_max=7) is None
    with pytest.raises(InvalidInput) as too_long:
        validate_mkt_name("Shy Guys", length_max=7)
    assert str(too_long.value) == "A Mario Kart Tour name has at most 7 characters."
    with pytest.raises(InvalidInput) as unprintable:
        validate_mkt_name("Shy\nGuy", length_max=20)
    assert (
        str(unprintable.value) == "A Mario Kart Tour name can only hold letters, digits, symbols and spaces."
    )


def test_roles_and_an_unknown_one():
    assert parse_role(" DJ ") is Role.DJ
    assert parse_role("Host") is Role.HOST
    with pytest.raises(InvalidInput) as caught:
        parse_role("admin")
    assert str(caught.value) == "Unknown role 'admin': choose host or DJ."


def test_the_dev_login_refusal_says_how_to_start():
    with pytest.raises(DevLoginInProduction) as caught:
        refuse_dev_login_in_production(dev_login=True, production=True)
    assert str(caught.value) == (
        "COZYKART_DEV_LOGIN=1 lets anyone log in as a demo racer; it is for local use only "
        "and the app refuses to start with it in production mode (reflex run --env prod). "
        "Unset COZYKART_DEV_LOGIN."
    )
    assert refuse_dev_login_in_production(dev_login=False, production=False) is None


# --- the way back after login -------------------------------------------------


def test_a_next_path_at_its_length_limit():
    at_limit = "/" + "a" * (NEXT_PATH_LENGTH_MAX - 1)
    assert safe_next_path(at_limit) == at_limit
    assert safe_next_path(at_limit + "a") == "/"
    assert safe_next_path(None) == "/"
    assert safe_next_path("  /me  ") == "/me"
    assert safe_next_path("/auth/discord/callback") == "/"
    assert safe_next_path("/me/auth/") == "/me/auth/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://localhost/me", "https://localhost/me"),
        ("https://localhost:8443/a?b=1", "https://localhost:8443/a?b=1"),
        ("http://[::1]:3000/me", "http://[::1]:3000/me"),
        ("http://localhost:3000/a\\b", "/"),
        ("http://localhost:3000/a\nb", "/"),
        ("http://localhost:3000/" + "a" * NEXT_PATH_LENGTH_MAX, "/"),
        ("http://localhost:99999/me", "/"),
        ("http://localhost:3000/auth/x", "http://localhost:3000/"),
        ("  http://localhost:3000/me  ", "http://localhost:3000/me"),
        ("/me", "/me"),
        (None, "/"),
    ],
)
def test_an_absolute_way_back_at_its_edges(raw, expected):
    assert safe_next(raw, site_hostname="LOCALHOST" if raw and "[" not in raw else "::1") == expected


def test_an_absolute_way_back_needs_a_site_host():
    assert safe_next("http://localhost/me", site_hostname="") == "/"


# --- record ids ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0, 0),
        ("0", 0),
        (" 12 ", 12),
        (SAFE_INTEGER_MAX, SAFE_INTEGER_MAX),
        (str(SAFE_INTEGER_MAX), SAFE_INTEGER_MAX),
        (SAFE_INTEGER_MAX + 1, None),
        (str(SAFE_INTEGER_MAX + 1), None),
        ("9" * 17, None),
        (-1, None),
        ("-1", None),
        (True, None),
        ("\u0663", None),
        ("1_000", None),
        ("", None),
        (None, None),
        (1.0, None),
    ],
)
def test_whole_numbers_as_clients_send_them(raw, value):
    assert parse_whole_number(raw) == value


def test_a_record_id_starts_at_one():
    assert parse_record_id(1) == 1
    assert parse_record_id("7") == 7
    assert parse_record_id(0) is None
    assert parse_record_id("x") is None


@given(st.integers(0, SAFE_INTEGER_MAX))
def test_every_safe_integer_reads_back_from_its_digits(value):
    assert parse_whole_number(str(value)) == value
    assert parse_record_id(value) == (value or None)


# --- the commission window ----------------------------------------------------


def test_a_race_window_includes_its_start_and_excludes_its_end():
    window = RaceWindow(1, "Cup", None, "ended", T0, T0 + timedelta(minutes=10))
    assert window.contains(T0)
    assert window.contains(T0 + timedelta(minutes=10) - timedelta(microseconds=1))
    assert not window.contains(T0 + timedelta(minutes=10))
    assert not window.contains(T0 - timedelta(microseconds=1))
    live = RaceWindow(1, "Cup", None, "live", T0, None)
    assert live.contains(T0 + timedelta(days=400))
    assert not live.contains(T0 - timedelta(microseconds=1))


def test_an_outcome_is_final_only_when_its_race_is():
    outcome = RaceOutcome(1, "Cup", None, "final", (1,), (), SplitRule("even", 0))
    assert outcome.is_final
    assert not RaceOutcome(1, "Cup", None, "ended", (1,), (), SplitRule("even", 0)).is_final

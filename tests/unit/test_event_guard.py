"""What a client may send an event handler, and which pages may open the event socket (issue 14, items 6 and 9)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY

import cozykart.cozykart  # noqa: F401  (every page's state is defined)
from cozykart.domain.ids import SAFE_INTEGER_MAX, parse_record_id, parse_whole_number
from cozykart.ui import event_guard, socket_guard
from cozykart.ui.auth_state import AuthState
from cozykart.ui.event_guard import ArgumentError, annotation_is_supported, app_handlers, check_arguments
from cozykart.ui.pages.lobby import LobbyState
from cozykart.ui.pages.tip import TipState
from cozykart.ui.pages.wallet import WalletState


def _handler(cls, name):
    return cls.event_handlers[name]


def test_every_handler_of_the_app_declares_checkable_arguments():
    handlers = app_handlers()
    assert len(handlers) > 50
    unchecked = [
        (name, parameter.name, parameter.annotation)
        for name, handler in handlers.items()
        for parameter in event_guard.parameters_of(handler)
        if not annotation_is_supported(parameter.annotation)
    ]
    assert unchecked == []


def test_arguments_of_the_wrong_type_or_size_are_refused():
    join = _handler(LobbyState, "join")
    check_arguments(join, {"race_id": 12})
    check_arguments(join, {"race_id": "12"})
    for wrong in ("abc", "٣", [1], {"a": 1}, True, None, 2**70, "9" * 40, 1.5):
        with pytest.raises(ArgumentError):
            check_arguments(join, {"race_id": wrong})
    with pytest.raises(ArgumentError):
        check_arguments(join, {})
    with pytest.raises(ArgumentError):
        check_arguments(join, {"race_id": 1, "extra": 2})
    with pytest.raises(ArgumentError):
        check_arguments(join, [1])


def test_text_and_forms_are_bounded():
    choose = _handler(TipState, "choose_amount")
    check_arguments(choose, {"value": "500"})
    for wrong in ({"a": 1}, ["500"], 500, "x" * (event_guard.EVENT_TEXT_LENGTH_MAX + 1)):
        with pytest.raises(ArgumentError):
            check_arguments(choose, {"value": wrong})
    report = _handler(LobbyState, "report")
    check_arguments(report, {"form_data": {"race_id": "3", "position": "1"}})
    # ...and as a Reflex form submits it (its entries, in order)
    check_arguments(report, {"form_data": {FORM_DATA_ENTRIES_KEY: [["race_id", "3"], ["position", "1"]]}})
    for wrong_entries in (
        [["race_id"]],
        "race_id=3",
        [["race_id", ["3"]]],
        [[1, "3"]],
        [["f", "1"]] * (event_guard.EVENT_FORM_FIELDS_MAX + 1),
    ):
        with pytest.raises(ArgumentError):
            check_arguments(report, {"form_data": {FORM_DATA_ENTRIES_KEY: wrong_entries}})
    too_many = {f"field{i}": "1" for i in range(event_guard.EVENT_FORM_FIELDS_MAX + 1)}
    for wrong in ({"race_id": ["3"]}, {"race_id": {"x": 1}}, too_many, {1: "3"}):
        with pytest.raises(ArgumentError):
            check_arguments(report, {"form_data": wrong})


def test_handlers_without_arguments_take_none():
    with pytest.raises(ArgumentError):
        check_arguments(_handler(WalletState, "request_payout"), {"amount": 10})
    check_arguments(_handler(WalletState, "request_payout"), {})


def test_every_private_state_is_reset_by_the_viewer_change_guard():
    private = set(event_guard.private_state_classes())
    assert AuthState in private and WalletState in private and LobbyState in private
    assert TipState not in private


@given(st.text(max_size=30))
def test_a_record_id_is_ascii_digits_within_the_safe_range(text):
    parsed = parse_record_id(text)
    if parsed is not None:
        assert text.strip().isascii() and text.strip().isdigit()
        assert 1 <= parsed <= SAFE_INTEGER_MAX


def test_record_ids_refuse_what_a_database_or_browser_cannot_hold():
    assert parse_record_id("42") == 42
    assert parse_record_id(42) == 42
    for wrong in ("0", 0, "-1", "٣", "1_000", "9" * 40, SAFE_INTEGER_MAX + 1, True, None, "", "1.5"):
        assert parse_record_id(wrong) is None, wrong
    assert parse_whole_number("0") == 0


ALLOWED = socket_guard.allowed_origins("https://kart.example.org", ["https://obs.example.org"])


@pytest.mark.parametrize(
    ("origin", "host", "dev", "ok"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", False, True),  # the socket's own origin
        ("https://kart.example.org", "internal:8000", False, True),  # the deployment's, behind a proxy
        ("https://kart.example.org", "kart.example.org", False, True),  # TLS ends at the proxy
        ("https://obs.example.org", "kart.example.org", False, True),  # listed in COZYKART_ALLOWED_ORIGINS
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False, False),  # another port of the same host
        ("https://evil.kart.example.org", "kart.example.org", False, False),  # a subdomain
        ("null", "kart.example.org", False, False),
        ("http://localhost:3000", "localhost:8000", True, True),  # dev mode: pages and backend on two ports
        ("http://localhost:3000", "localhost:8000", False, False),
    ],
)
def test_which_origins_may_open_the_event_socket(origin, host, dev, ok):
    assert socket_guard.origin_is_allowed(origin, host, scheme="http", allowed=ALLOWED, dev_mode=dev) is ok

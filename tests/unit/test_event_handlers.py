"""The one handler table (`services/handlers.py`): every domain event has an entry, in a fixed order."""

from __future__ import annotations

import ast
import inspect

from cozykart.domain import events as league_events
from cozykart.domain import ledger as ledger_domain
from cozykart.domain.events import RaceFinalized
from cozykart.services import announcements, ledger, live
from cozykart.services.handlers import DEMO_SEED_HANDLERS, HANDLERS
from cozykart.settings import PROJECT_ROOT

# What the league hands over inside its events: values, never emitted on their own.
LEAGUE_VALUE_TYPES = {"RaceResult", "RaceWindow", "SplitRule", "RaceOutcome"}


def _classes_defined_in(module) -> set[type]:
    return {
        value
        for _, value in inspect.getmembers(module, inspect.isclass)
        if value.__module__ == module.__name__
    }


def _emitted_class_names() -> set[str]:
    """Every `uow.emit(SomeEvent(...))` in the app's code."""
    names: set[str] = set()
    for path in (PROJECT_ROOT / "cozykart").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "uow.emit":
                (event,) = node.args
                assert isinstance(event, ast.Call) and isinstance(event.func, ast.Name), ast.unparse(node)
                names.add(event.func.id)
    return names


def test_every_event_class_in_domain_events_has_an_entry():
    event_types = {
        cls for cls in _classes_defined_in(league_events) if cls.__name__ not in LEAGUE_VALUE_TYPES
    }
    assert event_types, "domain/events.py defines events"
    missing = sorted(cls.__name__ for cls in event_types if cls not in HANDLERS)
    assert missing == [], f"add these events to services/handlers.py: {missing}"


def test_every_emitted_event_has_an_entry_and_every_entry_is_emitted():
    emitted = _emitted_class_names()
    table = {event_type.__name__ for event_type in HANDLERS}
    assert emitted - table == set(), "an emitted event without an entry in services/handlers.py"
    assert table - emitted == set(), "an entry for an event nothing emits"
    ledger_events = {cls.__name__ for cls in _classes_defined_in(ledger_domain)} & emitted
    assert ledger_events == {
        "SaleRecorded",
        "TipRecorded",
        "PayoutPaid",
        "PayoutRejected",
        "PayoutReturned",
        "WalletInDebt",
    }


def test_a_final_race_is_distributed_before_it_is_announced():
    assert HANDLERS[RaceFinalized].in_transaction == (
        ledger.distribute_on_finalized,
        announcements.on_race_finalized,
    )


def test_the_demo_seed_keeps_every_handler_but_the_announcements():
    assert set(DEMO_SEED_HANDLERS) == set(HANDLERS)
    for event_type, entry in HANDLERS.items():
        kept = DEMO_SEED_HANDLERS[event_type]
        assert kept.in_transaction == tuple(
            h for h in entry.in_transaction if h.__module__ != announcements.__name__
        )
        assert kept.after_commit == entry.after_commit
    assert DEMO_SEED_HANDLERS[RaceFinalized].in_transaction == (ledger.distribute_on_finalized,)


STANDINGS_CHANGES = {"RaceFinalized", "ResultsCorrected", "SeasonActivated", "SeasonCompleted"}


def test_every_league_change_is_pushed_to_live_viewers_after_commit():
    event_types = {
        cls for cls in _classes_defined_in(league_events) if cls.__name__ not in LEAGUE_VALUE_TYPES
    }
    assert {cls.__name__ for cls in event_types} >= STANDINGS_CHANGES | {
        "LobbyChanged",
        "LobbyCancelled",
        "RaceStarted",
        "RaceEnded",
        "ResultReported",
    }
    for event_type in event_types:
        pushed = live.standings_changed if event_type.__name__ in STANDINGS_CHANGES else live.race_changed
        assert HANDLERS[event_type].after_commit == (pushed,), event_type.__name__


def test_the_live_push_reaches_every_publisher_the_app_set_with_the_views_to_read():
    heard: list[frozenset[str]] = []
    live.set_publisher(heard.append)
    live.set_publisher(heard.append)  # set twice: still called once
    try:
        live.race_changed(object())
        live.standings_changed(object())
    finally:
        live.remove_publisher(heard.append)
    live.race_changed(object())  # removed: hears nothing more
    assert heard == [frozenset({live.RACE}), frozenset({live.RACE, live.STANDINGS})]

"""After commit, tell live viewers that the league changed: the race handlers of `services/handlers.py`.

The push itself lives in the UI (`ui/live_race.py`), which services never
import: the app hands its publisher over once when it is built
(`set_publisher`), as it hands the Live Pot's push to the API
(`build_api(on_money_moved=...)`). A process that set none (the CLI, a test on
its own database) pushes nothing; its viewers catch up on their next load.

What is published is only which views to read again, never the change itself:
each viewer's state is read from the database after the push arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

RACE = "race"  # the race, the lobbies and the pot: `/`, `/lobby`, the overlays
STANDINGS = "standings"  # `/standings`, and the Watch page's leaders
REQUESTS = "requests"  # the DJ booth's queue: `/dj`, "up next" on `/` and `/tip`, `/overlay/requests`

Publisher = Callable[[frozenset[str]], None]

_publishers: list[Publisher] = []
_lock = threading.Lock()


def set_publisher(publisher: Publisher) -> None:
    """Have `publisher(views)` called after every committed league change (once per publisher)."""
    with _lock:
        if publisher not in _publishers:
            _publishers.append(publisher)


def remove_publisher(publisher: Publisher) -> None:
    with _lock:
        if publisher in _publishers:
            _publishers.remove(publisher)


def _publish(views: frozenset[str]) -> None:
    with _lock:
        publishers = tuple(_publishers)
    for publisher in publishers:
        publisher(views)


def race_changed(_event: Any) -> None:
    """A race or a lobby changed (opened, joined, left, started, ended, reported, cancelled)."""
    _publish(frozenset({RACE}))


def standings_changed(_event: Any) -> None:
    """What the standings show changed (a race final, a fix, a season activated or closed); the race too."""
    _publish(frozenset({RACE, STANDINGS}))


def requests_changed(_event: Any) -> None:
    """A song request arrived, was played or skipped, or its tip was refunded."""
    _publish(frozenset({REQUESTS}))

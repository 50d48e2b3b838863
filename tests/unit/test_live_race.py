"""`ui/live_race.py` without a server: what a message asks each worker to read again, and how
pushes coalesce (one more run after the running one, with every view asked for meanwhile)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cozykart.services import live
from cozykart.ui import broadcast, live_race
from tests.reflex_viewer import run_async


@pytest.fixture
def pushes(monkeypatch) -> list[frozenset[str]]:
    """Each push the worker would make (the views it reads again), taking a moment like a real one."""
    made: list[frozenset[str]] = []

    async def push(views: frozenset[str]) -> None:
        made.append(views)
        await asyncio.sleep(0.05)

    monkeypatch.setattr(live_race, "_push", push)
    return made


def test_a_message_pushes_only_the_views_it_names_and_a_resync_pushes_all(pushes):
    async def scenario() -> None:
        await live_race._on_message({"kind": "league_changed", "views": [live.RACE]})
        await live_race._on_message({"kind": "league_changed", "views": ["wallets", 7]})  # nothing known
        await live_race._on_message({"kind": "league_changed", "views": [live.REQUESTS]})
        await live_race._on_message(dict(broadcast.RESYNC))

    run_async(scenario)
    assert pushes == [
        frozenset({live.RACE}),
        frozenset({live.REQUESTS}),
        frozenset({live.RACE, live.STANDINGS, live.REQUESTS}),
    ]


def test_changes_during_a_push_make_exactly_one_more_with_all_their_views(pushes):
    async def scenario() -> None:
        first = asyncio.ensure_future(live_race._request_push({live.RACE}))
        await asyncio.sleep(0.01)  # the first push is running
        burst = [live_race._request_push({live.RACE}) for _ in range(5)]
        await asyncio.gather(*burst, live_race._request_push({live.STANDINGS}))
        await first

    run_async(scenario)
    assert pushes == [frozenset({live.RACE}), frozenset({live.RACE, live.STANDINGS})]


def test_publish_from_another_thread_sends_on_the_workers_loop(monkeypatch):
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    monkeypatch.setattr(live_race._channel, "send", send)
    live_race.publish(frozenset({live.RACE}))  # no worker loop yet: nothing happens
    assert sent == []

    async def scenario() -> None:
        monkeypatch.setattr(live_race, "_loop", asyncio.get_running_loop())
        thread = threading.Thread(target=live_race.publish, args=(frozenset({live.STANDINGS, live.RACE}),))
        thread.start()
        thread.join()
        for _ in range(100):
            if sent:
                return
            await asyncio.sleep(0.01)

    run_async(scenario)
    assert sent == [{"kind": "league_changed", "views": [live.RACE, live.STANDINGS]}]

"""The Live Pot's reads of the database (cozykart/ui/live_pot.py), on SQLite and PostgreSQL:
callers that arrive during a read share the next one, numbers follow read order, and the
alerts overlay's new-alert picking shows each sale once, oldest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cozykart.services.demo import seed_demo
from cozykart.services.reads.pot import FeedLine, LivePot
from cozykart.ui import live_pot
from tests.reflex_viewer import run_async

CALLERS = 20


def test_callers_during_a_read_share_the_next_one_and_numbers_follow_read_order(database, monkeypatch):
    monkeypatch.setenv("REFLEX_DB_URL", database.url)
    seed_demo(uow=database.uow())  # a live race with a pot, and a feed of sales and tips
    expected = run_async(live_pot.read_pot)
    assert expected.pot_cents > 0 and expected.feed

    async def scenario():
        reads = live_pot._Reads()
        first = await reads.after_now()
        burst = await asyncio.gather(*(reads.after_now() for _ in range(CALLERS)))
        last = await reads.after_now()
        return first, burst, last

    first, burst, last = run_async(scenario)
    numbers = [number for number, _ in burst]
    # The first caller of the burst starts a read; everyone after it waits for the next one.
    assert len(set(numbers)) <= 2 and min(numbers) > first[0]
    assert last[0] > max(numbers)
    for _, pot in [first, *burst, last]:
        assert pot.pot_cents == expected.pot_cents and pot.feed == expected.feed


def _line(payment_id: int, minutes: int) -> FeedLine:
    return FeedLine(
        payment_id=payment_id,
        kind="sale",
        fan_name=f"Fan {payment_id}",
        what="Tee",
        message=None,
        amount_cents=1000,
        pool_cents=200,
        occurred_at=datetime(2026, 11, 21, 20, 0, tzinfo=UTC) + timedelta(minutes=minutes),
    )


def _pot(*lines: FeedLine) -> LivePot:
    return LivePot(race=None, pot_cents=0, currency="USD", feed=tuple(lines))  # newest first, as read


def test_new_alerts_are_the_unseen_sales_oldest_first_each_once():
    seen = {"1"}
    assert [
        alert.key for alert in live_pot.new_alerts(_pot(_line(3, 3), _line(2, 2), _line(1, 1)), seen)
    ] == ["2", "3"]
    assert live_pot.new_alerts(_pot(_line(3, 3), _line(2, 2), _line(1, 1)), seen) == []
    # The oldest leaves the feed: it is forgotten, and only the newcomer is new.
    assert [
        alert.key for alert in live_pot.new_alerts(_pot(_line(4, 4), _line(3, 3), _line(2, 2)), seen)
    ] == ["4"]
    assert seen == {"2", "3", "4"}

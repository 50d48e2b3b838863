"""The Live Pot, pushed to every open dashboard and overlay.

The database is the truth. `LivePotState` holds what a viewer sees (the pot,
the race, the recent sales and tips); its `join` (the page's on_load) puts the
viewer's socket in the live-pot room of its worker and seeds it from a fresh
read of the database. When money moves (a webhook applied, a tip, a payout),
`publish` tells every worker (`broadcast.Channel`: Redis pub/sub when
`REFLEX_REDIS_URL` is set); each worker reads the pot again and sends ONE delta
of `LivePotState` to its room (`broadcast.Room`). Pushes coalesce per worker:
while one runs, any number of further requests make exactly one more run after
it, which reads the newest pot, so the last push always shows the last sale; and
a worker reads at most once per PUSH_INTERVAL_S (100 ms) however many workers
publish.

Why not `rx.SharedState` (the idiomatic Reflex 0.10 way): in 0.10.1 its fan-out
costs O(N^2) per change (bench/fanout.py: p99 about 30 s at 500 viewers on this
machine); see cozykart/ui/broadcast.py and docs/ARCHITECTURE.md.

Seeds and pushes of one worker go out under one lock, in order, on the same
sockets, and a seed never carries an older read than a push the viewer missed
while joining (reads are numbered, one at a time, and shared by the callers
that arrive during one), so a viewer never stays behind the room; a push that
read before a later commit is always followed by one that read after it
(pushes coalesce, never drop). The seed is sent to the viewer's socket only
(not kept in its per-tab state): after a reconnect the ticker shows its
loading placeholder (`loaded` is False) for a moment until `join` runs again.

The OBS alerts overlay gets each new sale or tip (and test alerts) through
`alert_feed`, a per-worker queue fed by the same pushes; it shows them one at a
time (cozykart/ui/pages/overlays.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import secrets
import time
from collections.abc import AsyncIterator

import reflex as rx

from cozykart.domain.instants import iso_instant
from cozykart.domain.money import format_cents
from cozykart.services import read_uow
from cozykart.services.reads.pot import LivePot, live_pot
from cozykart.services.webhook_writer import PUSH_INTERVAL_S
from cozykart.settings import load_settings
from cozykart.ui import broadcast, theme
from cozykart.ui.local_time import local_time

ROOM_NAME = "cozykart-live-pot"
CHANNEL_NAME = "cozykart:live-pot"
ALERT_QUEUE_MAX = 256
_app: rx.App | None = None


@dataclasses.dataclass
class FeedView:
    key: str = ""
    kind: str = ""
    headline: str = ""
    message: str = ""
    amount: str = ""
    at: str = ""
    reversal: str = ""  # "refunded" or "disputed", shown beside the amount


@dataclasses.dataclass
class SupporterView:
    """One row of a supporters board (services/reads/supporters.py): a public name and its total."""

    rank: int = 0
    name: str = ""
    amount: str = ""


def _supporter_views(rows, currency: str) -> list[SupporterView]:
    return [
        SupporterView(rank=row.rank, name=row.name, amount=format_cents(row.total_cents, currency))
        for row in rows
    ]


def _feed_view(line, currency: str) -> FeedView:
    if line.kind == "tip":
        headline = f"{line.fan_name} tipped the DJ for {line.what}"
    else:
        headline = f"{line.fan_name} bought {line.what}"
    return FeedView(
        key=str(line.payment_id),
        kind=line.kind,
        headline=headline,
        message=line.message or "",
        amount=format_cents(line.amount_cents, currency),
        at=iso_instant(line.occurred_at),
        reversal=line.reversal,
    )


class LivePotState(rx.State):
    # False until `join` has seeded this viewer from the database: until then the
    # ticker shows a loading placeholder, not a $0.00 pot that may be wrong.
    loaded: bool = False
    has_race: bool = False
    race_name: str = ""
    pot_cents: int = 0
    pot_text: str = format_cents(0)
    # Grows each time this worker pushes a higher pot: the ticker is keyed on it,
    # so its celebration animation plays again on every increase.
    increase_count: int = 0
    feed: list[FeedView] = []
    # The top supporters of the live race and of the active season (ui/supporters.py shows them).
    race_supporters: list[SupporterView] = []
    season_supporters: list[SupporterView] = []
    supporters_season_name: str = ""
    # The live race's pot goal (its own or its season's default), when it has one.
    goal_set: bool = False
    goal_text: str = ""
    goal_percent: int = 0
    goal_width: str = "0%"
    goal_reached: bool = False

    @rx.event
    async def join(self):
        """Put this viewer in the live-pot room and seed it from the database."""
        sid = broadcast.viewer_sid(self)
        if not sid:
            return
        ticket, pot = await _reads.after_now()
        async with _emitting:
            await _room.join(running_app(), sid)
            # A push that read the database after this seed did went out while this
            # viewer was not in the room yet: the viewer gets the newer of the two.
            newer = ticket > _shown.ticket or _shown.values is None
            values = _values(pot) if newer else _shown.values
            await _room.emit(running_app(), broadcast.delta(LivePotState, **values), to=sid)


def _values(pot: LivePot) -> dict:
    return {
        "loaded": True,
        "has_race": pot.race is not None,
        "race_name": pot.race.name if pot.race else "",
        "pot_cents": pot.pot_cents,
        "pot_text": format_cents(pot.pot_cents, pot.currency),
        "increase_count": _shown.increase_count,
        "feed": [_feed_view(line, pot.currency) for line in pot.feed],
        "race_supporters": _supporter_views(pot.supporters.race, pot.currency),
        "season_supporters": _supporter_views(pot.supporters.season, pot.currency),
        "supporters_season_name": pot.supporters.season_name,
        **_goal_values(pot),
    }


def _goal_values(pot: LivePot) -> dict:
    goal = pot.goal
    percent = goal.percent if goal is not None else 0
    return {
        "goal_set": goal is not None,
        "goal_text": format_cents(goal.goal_cents, pot.currency) if goal is not None else "",
        "goal_percent": percent,
        "goal_width": f"{percent}%",
        "goal_reached": goal is not None and goal.reached,
    }


@dataclasses.dataclass
class _Shown:
    """What this worker last pushed to its room."""

    pot_cents: int | None = None
    increase_count: int = 0
    ticket: int = 0  # the number of the read it came from (see `_Reads`)
    values: dict | None = None


_shown = _Shown()
_room = broadcast.Room(ROOM_NAME)
_emitting = asyncio.Lock()
_alert_queues: set[asyncio.Queue] = set()


class _Reads:
    """This worker's reads of the pot for pushes and seeds, one at a time, numbered.

    `after_now()` answers with a read that started after it was called; callers
    that arrive while a read runs share the next one, so a burst of viewers
    joining costs a few reads, not one each. Reads never overlap, so a higher
    number is a later read that saw every commit the lower one saw.
    """

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._next: asyncio.Future | None = None
        self._running = False
        self._task: asyncio.Task | None = None  # held: the loop keeps only weak references

    async def after_now(self) -> tuple[int, LivePot]:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        future = self._next
        if not self._running:
            self._running = True
            self._task = asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                future, self._next = self._next, None
                number = next(self._numbers)
                try:
                    future.set_result((number, await read_pot()))
                except Exception as error:  # noqa: BLE001 - every waiter of this read gets it
                    future.set_exception(error)
        finally:
            self._running = False


_reads = _Reads()


async def read_pot() -> LivePot:
    settings = load_settings()
    return await asyncio.to_thread(lambda: live_pot(uow=read_uow(settings)))


def running_app() -> rx.App:
    assert _app is not None, "live_pot.attach(app) is called when the app is built"
    return _app


def attach(app: rx.App) -> None:
    """Remember the running app, and listen to the other workers for the life of each worker."""
    global _app
    _app = app
    app.register_lifespan_task(_channel.listen)


async def publish() -> None:
    """Push the pot, as the database has it now, to every viewer on every worker."""
    await _channel.send({"kind": "money_moved"})


async def push() -> None:
    """Push the pot, as the database has it now, to this worker's viewers (a league change heard)."""
    await _request_push()


async def publish_test_alert(sent_by: str) -> None:
    """Show a test alert on every open alerts overlay; nothing is recorded anywhere."""
    alert = FeedView(
        key=f"test-{secrets.token_hex(6)}",
        kind="test",
        headline=f"Test alert from {sent_by}: the overlay is connected",
        amount=format_cents(0),
    )
    await _channel.send({"kind": "test_alert", "alert": dataclasses.asdict(alert)})


async def _on_message(message: dict) -> None:
    if message.get("kind") == "test_alert":
        alert = FeedView(**message["alert"])
        for queue in list(_alert_queues):
            _offer(queue, ("alert", alert))
        return
    await _request_push()  # money moved, or a resync after (re)subscribing
    if message.get("kind") == broadcast.RESYNC["kind"] and message.get("after_outage"):
        # Redis was away: Reflex's states may be gone and tabs opened meanwhile never
        # loaded; every page on this worker loads again from the database (once, here).
        await broadcast.reload_every_page(running_app())


_channel = broadcast.Channel(CHANNEL_NAME, _on_message)
_pushing = asyncio.Lock()
_push_wanted = False
_last_push_at = float("-inf")  # time.monotonic() of this worker's last pot read for a push


async def _request_push() -> None:
    """Read the pot and push it, at most once per PUSH_INTERVAL_S on this worker, the last request always served.

    Every worker publishes at most once per interval, but every worker hears every
    publisher: with N workers, unthrottled, each would read the pot N times per
    interval (two workers read it four times as often as one; bench/webhooks_wrk.py
    --workers 1,2 --profile: pot reads 47% of the samples with two workers, 19% with
    one). Requests that arrive during the wait or the read share the next read.
    """
    global _push_wanted, _last_push_at
    _push_wanted = True
    if _pushing.locked():
        return
    async with _pushing:
        while _push_wanted:
            wait_s = _last_push_at + PUSH_INTERVAL_S - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            _push_wanted = False
            _last_push_at = time.monotonic()
            await _push_pot()


async def _push_pot() -> None:
    app = running_app()
    ticket, pot = await _reads.after_now()
    async with _emitting:
        if _shown.pot_cents is not None and pot.pot_cents > _shown.pot_cents:
            _shown.increase_count += 1
        _shown.pot_cents = pot.pot_cents
        _shown.ticket, _shown.values = ticket, _values(pot)
        await _room.emit(app, broadcast.delta(LivePotState, **_shown.values))
    for queue in list(_alert_queues):
        _offer(queue, ("pot", pot))


def _offer(queue: asyncio.Queue, item: tuple) -> None:
    # A stuck overlay misses a pot snapshot; it catches up from the next one it reads.
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(item)


@contextlib.asynccontextmanager
async def alert_feed() -> AsyncIterator[asyncio.Queue]:
    """A queue of ("pot", LivePot) after every push of this worker and ("alert", FeedView) for test alerts."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=ALERT_QUEUE_MAX)
    _alert_queues.add(queue)
    try:
        yield queue
    finally:
        _alert_queues.discard(queue)


def new_alerts(pot: LivePot, seen: set[str]) -> list[FeedView]:
    """The sales and tips of `pot`'s feed not in `seen`, oldest first, then the goal's celebration
    if it was reached and not in `seen`; they are added to `seen`."""
    fresh = [
        _feed_view(line, pot.currency) for line in reversed(pot.feed) if str(line.payment_id) not in seen
    ]
    goal_key = _goal_key(pot)
    if goal_key is not None and goal_key not in seen:
        fresh.append(goal_alert(pot))
    # Only keys still in the feed can come again (the feed only ever drops its oldest):
    # `seen` stays as small as the feed however long the night.
    seen.intersection_update({str(line.payment_id) for line in pot.feed} | {goal_key})
    seen.update(view.key for view in fresh)
    return fresh


def seen_at_open(pot: LivePot) -> set[str]:
    """What an alerts overlay opened now never pops: the feed so far, and a goal reached already."""
    seen = {str(line.payment_id) for line in pot.feed}
    goal_key = _goal_key(pot)
    if goal_key is not None:
        seen.add(goal_key)
    return seen


def _goal_key(pot: LivePot) -> str | None:
    goal = pot.goal
    return f"goal-{goal.race_id}" if goal is not None and goal.reached else None


def goal_alert(pot: LivePot) -> FeedView:
    """The celebration of the live race's pot reaching its goal (once per race: the key is the race's)."""
    goal = pot.goal
    assert goal is not None and goal.reached
    race_name = pot.race.name if pot.race is not None else "The race"
    return FeedView(
        key=f"goal-{goal.race_id}",
        kind="goal",
        headline="Pot goal reached!",
        message=f"{race_name} hit its goal of {format_cents(goal.goal_cents, pot.currency)}",
        amount=format_cents(pot.pot_cents, pot.currency),
        at=iso_instant(goal.reached_at) if goal.reached_at else "",
    )


# --- components ----------------------------------------------------------------


def pot_ticker(*, overlay: bool = False) -> rx.Component:
    """The gold Live Pot ticker: the live race's prize pool (on an overlay, in the overlay's look)."""
    look = (
        {"class_name": "cozykart-ticker ck-card"}
        if overlay
        else {
            "class_name": "cozykart-ticker",
            "background": theme.GOLD_GRADIENT,
            "color": theme.BLACK,
            "box_shadow": "0 0 20px rgba(255, 215, 0, 0.5)",
            "width": "100%",
        }
    )
    return rx.box(
        rx.text("RACER PRIZE POOL", weight="bold", size="2", letter_spacing="0.12em"),
        rx.text(
            rx.cond(LivePotState.loaded, LivePotState.pot_text, "—"),
            key=LivePotState.increase_count,
            class_name="cozykart-pot-amount ck-accent" if overlay else "cozykart-pot-amount",
            font_family="ui-monospace, 'SFMono-Regular', Menlo, monospace",
            font_size="2.4rem",
            font_weight="800",
            data_testid="pot-amount",
        ),
        rx.text(
            rx.cond(
                LivePotState.loaded,
                rx.cond(
                    LivePotState.has_race,
                    "Buy a shirt now to increase the pot!",
                    "The pot opens when the next race starts.",
                ),
                "Loading the pot…",
            ),
            size="2",
            data_testid="pot-message",
        ),
        padding="1rem 1.25rem",
        border_radius="14px",
        text_align="center",
        role="status",
        aria_live="polite",
        aria_label="Racer prize pool",
        data_testid="pot-ticker",
        **look,
    )


def goal_bar(*, overlay: bool = False) -> rx.Component:
    """The live race's progress toward its pot goal; nothing when the race has no goal."""
    return rx.cond(
        LivePotState.goal_set,
        rx.box(
            rx.hstack(
                rx.text("POT GOAL", weight="bold", size="2", letter_spacing="0.12em"),
                rx.spacer(),
                rx.text(
                    LivePotState.pot_text,
                    " of ",
                    LivePotState.goal_text,
                    " · ",
                    LivePotState.goal_percent,
                    "%",
                    size="2",
                    weight="bold",
                    class_name="ck-accent" if overlay else "",
                    data_testid="goal-amounts",
                ),
                width="100%",
                align="center",
            ),
            rx.box(
                rx.box(
                    width=LivePotState.goal_width,
                    height="100%",
                    background=theme.GOLD_GRADIENT,
                    border_radius="999px",
                    transition="width 0.6s ease",
                    data_testid="goal-fill",
                ),
                role="progressbar",
                aria_label="Pot goal progress",
                aria_valuemin="0",
                aria_valuemax="100",
                aria_valuenow=LivePotState.goal_percent,
                height="14px",
                width="100%",
                background="rgba(255, 255, 255, 0.15)",
                border_radius="999px",
                overflow="hidden",
                data_testid="goal-progress",
            ),
            rx.cond(
                LivePotState.goal_reached,
                rx.hstack(
                    rx.icon("party-popper", size=16, color=theme.GOLD, aria_hidden="true"),
                    rx.text("Goal reached!", weight="bold", size="2", color=theme.GOLD),
                    spacing="1",
                    align="center",
                    data_testid="goal-done",
                ),
            ),
            color=theme.WHITE,
            background="rgba(0, 0, 0, 0.55)" if overlay else "transparent",
            padding="10px 14px" if overlay else "0",
            border_radius="12px",
            width="100%",
            min_width="320px" if overlay else "0",
            class_name="ck-card" if overlay else "",  # the overlay stage's look (assets/cozykart.css)
            data_testid="goal-bar",
        ),
    )


def goal_banner() -> rx.Component:
    """The celebration on the dashboard once the live race's pot reached its goal."""
    return rx.cond(
        LivePotState.goal_reached,
        rx.callout.root(
            rx.callout.icon(rx.icon("party-popper", aria_hidden="true")),
            rx.callout.text(
                rx.text.strong("Pot goal reached! "),
                "The fans took the pot to ",
                LivePotState.goal_text,
                ". Thank you!",
            ),
            color_scheme="amber",
            role="status",
            width="100%",
            data_testid="goal-banner",
        ),
    )


def _feed_line(line: FeedView) -> rx.Component:
    return rx.hstack(
        rx.icon(rx.cond(line.kind == "tip", "music", "shirt"), size=18, color=theme.GOLD, aria_hidden="true"),
        rx.vstack(
            rx.text(line.headline, size="2", weight="medium"),
            rx.cond(line.message != "", rx.text("“", line.message, "”", size="1", color=theme.TEXT_MUTED)),
            rx.text(local_time(line.at, ago=True, testid="feed-ago"), size="1", color=theme.TEXT_MUTED),
            spacing="0",
            align="start",
        ),
        rx.spacer(),
        rx.cond(
            line.reversal != "",
            rx.badge(line.reversal, color_scheme="red", size="1", data_testid="feed-reversal"),
        ),
        rx.text(line.amount, weight="bold", color=theme.GOLD, size="2"),
        align="center",
        width="100%",
        padding_y="0.35rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="feed-line",
    )


def sales_feed() -> rx.Component:
    """Recent sales and tips, newest first."""
    return rx.vstack(
        rx.heading("Recent sales and tips", size="4", as_="h2"),
        rx.cond(
            LivePotState.feed.length() > 0,
            rx.vstack(rx.foreach(LivePotState.feed, _feed_line), spacing="0", width="100%"),
            rx.text("No sales yet tonight: be the first!", color=theme.TEXT_MUTED, size="2"),
        ),
        spacing="2",
        width="100%",
    )

"""Race changes, pushed to every open Watch page, lobby, standings and overlay, on every worker.

After a league change commits (a lobby opened, joined, left or cancelled; a race
started, ended, reported, final or fixed; a season activated or closed), its
after-commit handler (`services/live.py`) calls `publish` with the views to
read again. `publish` may run on any thread: it hands the message to this
worker's event loop, which sends it on the live-race channel (`broadcast.Channel`:
Redis pub/sub when `REFLEX_REDIS_URL` is set, so every worker hears it). Each
worker then, from the database, never from the message:
- pushes the Live Pot (`live_pot.push`): the pot, whether a race is live and its
  name, on `/`, the lobby's pot and both overlays (the alerts overlay's feed
  follows the same push);
- reads the Watch page's race and leaders once and sends ONE delta to its room;
- asks each open lobby (and, when standings changed, each open standings page)
  to re-read itself (`broadcast.Room.call`): the lobby is drawn for its viewer
  (host buttons, your report), the standings for the season its viewer picked.

Pushes coalesce per worker like the pot's: while one runs, any number of
further changes make exactly one more run after it, which reads the newest
state, so the last push always shows the last change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

import reflex as rx
from reflex.event import EventHandler

from cozykart.services import live
from cozykart.ui import broadcast, live_pot

CHANNEL_NAME = "cozykart:live-race"
logger = logging.getLogger("cozykart.live_race")

DeltaRead = Callable[[], Awaitable[dict]]


@dataclasses.dataclass(frozen=True)
class Follower:
    """A page kept live: its room, the views it shows, and how it is refreshed."""

    room: broadcast.Room
    views: frozenset[str]
    read_delta: DeltaRead | None = None  # the same for every viewer: one read, one delta to the room
    handler: EventHandler | None = None  # drawn per viewer: each socket runs it on its own state


_followers: dict[str, Follower] = {}


def follow_with_delta(room_name: str, views: set[str], read_delta: DeltaRead) -> broadcast.Room:
    """Keep a page live with one delta for all its viewers (`read_delta` reads it from the database)."""
    return _follow(Follower(broadcast.Room(room_name), frozenset(views), read_delta=read_delta))


def follow_with_event(room_name: str, views: set[str], handler: EventHandler) -> broadcast.Room:
    """Keep a page live by having each viewer run `handler` (it re-reads the page for them)."""
    return _follow(Follower(broadcast.Room(room_name), frozenset(views), handler=handler))


def _follow(follower: Follower) -> broadcast.Room:
    _followers[follower.room.name] = follower
    return follower.room


async def join(state: rx.State, room: broadcast.Room) -> None:
    """Put the viewer whose event runs in `room`; call it before the page's first read."""
    sid = broadcast.viewer_sid(state)
    if sid:
        await room.join(live_pot.running_app(), sid)


# --- publishing, from any thread ----------------------------------------------------

_loop: asyncio.AbstractEventLoop | None = None
_sending: set[asyncio.Task] = set()


def publish(views: frozenset[str]) -> None:
    """After a commit, on any thread: every worker re-reads `views` for its viewers."""
    loop = _loop
    if loop is None or loop.is_closed():
        return
    loop.call_soon_threadsafe(_send_soon, sorted(views))


def _send_soon(views: list[str]) -> None:
    async def send() -> None:
        try:
            await _channel.send({"kind": "league_changed", "views": views})
        except Exception:  # the change is committed; viewers catch up on their next load
            logger.exception("pushing a league change to viewers failed")

    task = asyncio.get_running_loop().create_task(send())
    _sending.add(task)
    task.add_done_callback(_sending.discard)


async def _listen() -> None:
    """For the life of the worker: receive league changes, and publish this worker's after commit."""
    global _loop
    _loop = asyncio.get_running_loop()
    live.set_publisher(publish)
    try:
        await _channel.listen()
        if broadcast.Channel.redis_url() is None:
            await asyncio.Event().wait()  # no Redis: `publish` delivers in-process; stay subscribed
    finally:
        live.remove_publisher(publish)
        _loop = None


def attach(app: rx.App) -> None:
    """Listen to the other workers for the life of each worker (after `live_pot.attach(app)`)."""
    app.register_lifespan_task(_listen)


# --- pushing, on each worker ---------------------------------------------------------


_VIEWS = {live.RACE, live.STANDINGS, live.REQUESTS}


async def _on_message(message: dict) -> None:
    if message.get("kind") == broadcast.RESYNC["kind"]:
        wanted = set(_VIEWS)  # whatever was missed while not subscribed
    else:
        wanted = {str(view) for view in message.get("views") or ()} & _VIEWS
    if wanted:
        await _request_push(wanted)


_channel = broadcast.Channel(CHANNEL_NAME, _on_message)
_pushing = asyncio.Lock()
_wanted: set[str] = set()


async def _request_push(views: set[str]) -> None:
    _wanted.update(views)
    if _pushing.locked():
        return
    async with _pushing:
        while _wanted:
            views_now = frozenset(_wanted)
            _wanted.clear()
            await _push(views_now)


async def _push(views: frozenset[str]) -> None:
    app = live_pot.running_app()
    if live.RACE in views:
        await live_pot.push()
    for follower in list(_followers.values()):
        if not follower.views & views or follower.room.size(app) == 0:
            continue
        try:
            if follower.read_delta is not None:
                await follower.room.emit(app, await follower.read_delta())
            elif follower.handler is not None:
                await follower.room.call(app, follower.handler)
        except Exception:  # one page failing must not keep the others behind
            logger.exception("pushing the league change to %s failed", follower.room.name)

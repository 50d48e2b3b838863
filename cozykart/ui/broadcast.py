"""One state delta sent to a room of viewers at once, and a Redis channel between workers.

Why this exists: in Reflex 0.10.1 an `rx.SharedState` fans a change out viewer by
viewer under the shared token's lock, and each viewer's update walks every
linked token, so one change to N viewers costs O(N^2) (bench/fanout.py measures
it: p99 ~1.9-2.2 s to 500 viewers with the in-memory state manager, ~55 ms for one
Socket.IO broadcast of the delta). Here one change is one Socket.IO emit to
a room: the packet is encoded once and queued on every socket of the room.

This module is the ONLY place that leans on Reflex internals, and it is pinned
to `REFLEX_VERSION`. It relies on:
- the event namespace the frontend joins (`Config.get_event_namespace()`) and
  the socket event that carries state updates (`SocketEvent.EVENT`);
- the update's shape, `StateUpdate(delta={state full name: {var name +
  FIELD_MARKER: value}})`, which the frontend applies with `applyDelta`;
- the viewer's Socket.IO sid in `state.router.session.session_id`;
- the frontend queuing an update's `events` as its own (`Room.call`: each
  viewer then runs the handler on its own state);
- python-socketio's and python-engineio's insides for a room's push
  (`queue_to_room`): the room's members, the Socket.IO packet encoding, and each
  Engine.IO socket's send queue, which its writer task drains;
- `OnLoadInternalState.on_load_internal`, the event a hydrate queues to run the
  page's on_load handlers (`reload_every_page`, after Redis came back), and
  `enable_keyspace_notifications` of Reflex's Redis state manager (set again then).
tests/unit/test_broadcast_pinned.py fails when any of these changes.

Rooms live in each worker's own Socket.IO server (Reflex's server keeps its
clients in memory), so a worker reaches only its own sockets. `Channel` carries
a small message to every worker through Redis pub/sub when `REFLEX_REDIS_URL` is
set (each worker then does its own emit to its own sockets), and calls the
local handler directly otherwise. A socket leaves every room when it
disconnects (python-socketio drops it from its rooms); a reconnect is a new sid
and joins again on the page's on_load.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from engineio import packet as engineio_packet
from reflex.config import get_config
from reflex.event import Event, EventHandler
from reflex.state import OnLoadInternalState, StateUpdate
from reflex_base.constants.event import SocketEvent
from reflex_base.constants.state import FIELD_MARKER
from socketio import AsyncServer
from socketio import packet as socketio_packet

from cozykart.services import metrics

REFLEX_VERSION = "0.10.1"  # the version whose internals are relied on (see the docstring)
MECHANISM = "socket.io room broadcast of one state delta; Redis pub/sub between workers"
RECONNECT_DELAY_S = 1.0  # between two attempts to subscribe while Redis is away
CONNECT_TIMEOUT_S = 2.0  # to open a connection to Redis
PUBLISH_TIMEOUT_S = 2.0
IDLE_PING_S = 5.0  # a quiet subscription pings Redis this often
SILENT_LIMIT_S = 15.0  # nothing at all from Redis for this long: the subscription is dead
# Handed to the handler each time the worker (re)subscribes, with "after_outage": True
# when it subscribes again after losing Redis (Reflex's states may be gone with it).
RESYNC = {"kind": "resync"}
logger = logging.getLogger("cozykart.broadcast")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


@functools.cache
def _configured_redis_url() -> str | None:
    """Reflex's Redis URL, read once: Reflex reads its config once per process, and every publish asks."""
    return get_config().redis_url or None


def event_namespace() -> str:
    return get_config().get_event_namespace()


def delta(state_cls: type[rx.State], **values: Any) -> dict[str, dict[str, Any]]:
    """The delta that sets `values` on `state_cls` in the frontend, in Reflex's own shape."""
    unknown = set(values) - set(state_cls.base_vars)
    assert not unknown, f"{state_cls.__name__} has no vars {sorted(unknown)}"
    return {state_cls.get_full_name(): {name + FIELD_MARKER: value for name, value in values.items()}}


def viewer_sid(state: rx.State) -> str:
    """The Socket.IO session of the viewer whose event is running."""
    return state.router.session.session_id


class Room:
    """The sockets of this worker that watch one thing."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def join(self, app: rx.App, sid: str) -> None:
        assert app.sio is not None, "the app's Socket.IO server exists once the app is built"
        await app.sio.enter_room(sid, self.name, namespace=event_namespace())
        metrics.count_viewers(self.name, lambda: self.size(app))  # GET /metrics counts the room

    def size(self, app: rx.App) -> int:
        """How many sockets of this worker are in the room."""
        if app.sio is None:
            return 0
        return sum(1 for _ in app.sio.manager.get_participants(event_namespace(), self.name))

    async def emit(self, app: rx.App, update: dict[str, dict[str, Any]], *, to: str | None = None) -> None:
        """Send one delta to every socket of the room (or to one sid), encoded once."""
        assert app.sio is not None, "the app's Socket.IO server exists once the app is built"
        if to is not None:
            await app.sio.emit(
                str(SocketEvent.EVENT), StateUpdate(delta=update), to=to, namespace=event_namespace()
            )
            return
        queue_to_room(app.sio, self.name, StateUpdate(delta=update))

    async def call(self, app: rx.App, handler: EventHandler) -> None:
        """Have every socket of the room send `handler` back as its own event (run on its own state).

        One packet to the room, like `emit`, with no delta and one event: the
        frontend queues the update's events as if its page had triggered them.
        """
        assert app.sio is not None, "the app's Socket.IO server exists once the app is built"
        await app.sio.emit(
            str(SocketEvent.EVENT),
            StateUpdate(delta={}, events=Event.from_event_type(handler)),
            room=self.name,
            namespace=event_namespace(),
        )


def queue_to_room(sio: AsyncServer, room: str, update: StateUpdate) -> int:
    """Queue one encoded update on the Engine.IO socket of every member of `room`; how many.

    Why not `sio.emit(room=...)`: python-socketio 5.18 encodes the packet once but then
    creates one task per socket to hand it over (`AsyncManager.emit`): 11.4 ms of CPU
    for 1,000 sockets against 1.2 ms for this loop, measured side by side in one process
    (about 10 of the 160-210 µs a viewer costs the whole push in bench/fanout.py; the
    rest is Engine.IO's writer per socket and the ASGI send, not ours to change).
    Each socket's own writer task already sends whatever its queue holds
    (`AsyncSocket._websocket_handler.writer`), so here the shared packet goes straight
    onto each queue, with no await: the room cannot change under the loop. A socket
    that closed is skipped, as `AsyncSocket.send` would (its ping-timeout check runs
    on the socket's own next receive instead).
    """
    namespace = event_namespace()
    encoded = sio.packet_class(
        socketio_packet.EVENT, namespace=namespace, data=[str(SocketEvent.EVENT), update]
    ).encode()
    assert isinstance(encoded, str), "a state update has no binary attachments"
    shared = engineio_packet.Packet(engineio_packet.MESSAGE, encoded)
    queued = 0
    for _sid, eio_sid in sio.manager.get_participants(namespace, room):
        socket = sio.eio.sockets.get(eio_sid)
        if socket is None or socket.closed:
            continue
        socket.queue.put_nowait(shared)
        queued += 1
    return queued


async def reload_every_page(app: rx.App) -> None:
    """Have every socket of this worker run its page's on_load handlers again, as its own event.

    Why: when Redis comes back empty, every tab's Reflex state went with it, and a
    tab opened during the outage never ran its on_load at all (its hydrate failed
    without Redis), so it is in no room and shows the loading placeholders. A
    socket.io reconnect would hydrate it again, but the sockets never dropped: this
    worker holds them itself. Reflex's own `on_load_internal` (what a hydrate
    queues) runs the tab's current page's on_load, which joins its rooms again and
    seeds it from the database. One packet to every socket, like `Room.call`.
    """
    if app.sio is None:
        return
    await app.sio.emit(
        str(SocketEvent.EVENT),
        StateUpdate(delta={}, events=Event.from_event_type(OnLoadInternalState.on_load_internal)),
        namespace=event_namespace(),
    )


def is_connected(app: rx.App, sid: str) -> bool:
    """Whether `sid` is still connected to this worker."""
    return app.sio is not None and app.sio.manager.is_connected(sid, event_namespace())


class Channel:
    """A message to every worker: through Redis pub/sub when Reflex has Redis, else in-process.

    Redis may go away and come back (empty) at any time; the channel survives it:
    - every wait on Redis is bounded (connect, subscribe, publish, and an idle
      subscription pings Redis, so a peer that went silent is noticed);
    - a publish that fails, or one made while this worker is not subscribed, is
      delivered to this worker's handler at once (its viewers stay live; the
      other workers catch up when they subscribe again);
    - the listener subscribes again each RECONNECT_DELAY_S until Redis answers,
      then hands the handler RESYNC (with `after_outage`), which reads everything
      again from the database: what was published meanwhile is never needed;
    - an outage is logged once when it starts and once when it ends, not per message.
    """

    def __init__(self, name: str, handler: Handler) -> None:
        self.name = name
        self._handler = handler
        self._redis = None
        self.subscribed = False  # this worker's listener holds a live subscription now
        self._publish_failing = False
        self._listen_failing = False

    @staticmethod
    def redis_url() -> str | None:
        return _configured_redis_url()

    def _client(self):
        if self._redis is None:
            from redis import asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # No retries inside redis-py: its default (redis 7.4.1, `redis.asyncio.Redis`)
            # is Retry(ExponentialWithJitterBackoff(base=1, cap=10), 3), seconds of backoff
            # before a publish fails, and its pub/sub reconnect after a server restart is
            # unreliable (redis/redis-py issues #2089 "(asyncio) PubSub does not automatically
            # reconnect" and #3203). A failure must reach this class at once: a publish then
            # falls back to this worker, and a dropped subscription is subscribed again here
            # and followed by RESYNC. `retry` and the backoffs: https://redis.readthedocs.io/en/stable/backoff.html
            self._redis = aioredis.Redis.from_url(
                self.redis_url(), socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0)
            )
        return self._redis

    async def send(self, message: dict[str, Any]) -> None:
        if self.redis_url() is None:
            await self._deliver(message)
            return
        if not self.subscribed:  # this worker would not hear its own publish: deliver it here first
            await self._deliver(message)
        try:
            await asyncio.wait_for(self._client().publish(self.name, json.dumps(message)), PUBLISH_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - Redis is down (logged once): this worker's viewers still get it
            if not self._publish_failing:
                logger.warning(
                    "publishing on %s failed (%s); delivering to this worker only until Redis answers",
                    self.name,
                    type(error).__name__,
                )
            self._publish_failing = True
            if self.subscribed:
                await self._deliver(message)
            return
        if self._publish_failing:
            logger.warning("publishing on %s works again", self.name)
            self._publish_failing = False

    async def _deliver(self, message: dict[str, Any]) -> None:
        try:
            await self._handler(message)
        except Exception:  # one bad message, or the database's hiccup, must not end the caller
            logger.exception("handling a message of %s failed", self.name)

    async def listen(self) -> None:
        """Deliver every message of the channel to the handler, for the life of the worker; never raises."""
        if self.redis_url() is None:
            return
        after_outage = False
        while True:
            try:
                await self._listen_once(after_outage)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - dropped or never came (logged once): subscribe again
                if not self._listen_failing:
                    logger.warning(
                        "listening on %s failed (%s); subscribing again every %ss",
                        self.name,
                        type(error).__name__,
                        RECONNECT_DELAY_S,
                    )
                self._listen_failing = True
                after_outage = True
            finally:
                self.subscribed = False
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _restore_reflex_settings(self) -> None:
        """Turn Reflex's keyspace notifications on again on a Redis that came back empty.

        Reflex's state manager sets `notify-keyspace-events` once per process and
        remembers it did; a restarted Redis forgot it, and without the lock-release
        notifications a tab's second event waits for the first one's lock to expire.
        """
        from reflex.istate.manager.redis import enable_keyspace_notifications

        try:
            await asyncio.wait_for(enable_keyspace_notifications(self._client()), CONNECT_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - Reflex's locks then fall back to their expiry
            logger.warning(
                "turning Reflex's keyspace notifications on again failed (%s)", type(error).__name__
            )

    async def _listen_once(self, after_outage: bool) -> None:
        """One subscription, until its connection fails (it raises then)."""
        pubsub = self._client().pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(self.name), CONNECT_TIMEOUT_S * 2)
            self.subscribed = True
            if after_outage:
                await self._restore_reflex_settings()
            if self._listen_failing:
                logger.warning("subscribed to %s again", self.name)
                self._listen_failing = False
            # Whatever was sent while this worker was not subscribed is caught up now.
            await self._deliver({**RESYNC, "after_outage": after_outage})
            loop = asyncio.get_running_loop()
            heard = loop.time()
            while True:
                item = await asyncio.wait_for(
                    pubsub.get_message(timeout=IDLE_PING_S), IDLE_PING_S + CONNECT_TIMEOUT_S
                )
                if item is None:  # quiet: make Redis answer, so a dead connection shows
                    if loop.time() - heard > SILENT_LIMIT_S:
                        raise ConnectionError(f"Redis did not answer for {SILENT_LIMIT_S}s")
                    await asyncio.wait_for(pubsub.ping(), CONNECT_TIMEOUT_S)
                    continue
                heard = loop.time()
                if item.get("type") == "message":
                    try:
                        message = json.loads(item["data"])
                    except ValueError:
                        logger.warning("a message of %s is not JSON; skipped", self.name)
                        continue
                    await self._deliver(message)
        finally:
            with contextlib.suppress(Exception):  # closing a broken connection
                await asyncio.wait_for(pubsub.aclose(), CONNECT_TIMEOUT_S)

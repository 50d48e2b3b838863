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
  viewer then runs the handler on its own state).
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
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from reflex.config import get_config
from reflex.event import Event, EventHandler
from reflex.state import StateUpdate
from reflex_base.constants.event import SocketEvent
from reflex_base.constants.state import FIELD_MARKER

from cozykart.services import metrics

REFLEX_VERSION = "0.10.1"  # the version whose internals are relied on (see the docstring)
MECHANISM = "socket.io room broadcast of one state delta; Redis pub/sub between workers"
RECONNECT_DELAY_S = 1.0
RESYNC = {"kind": "resync"}  # handed to the handler each time the worker (re)subscribes
logger = logging.getLogger("cozykart.broadcast")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


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
        await app.sio.emit(
            str(SocketEvent.EVENT),
            StateUpdate(delta=update),
            to=to,
            room=None if to else self.name,
            namespace=event_namespace(),
        )

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


def is_connected(app: rx.App, sid: str) -> bool:
    """Whether `sid` is still connected to this worker."""
    return app.sio is not None and app.sio.manager.is_connected(sid, event_namespace())


class Channel:
    """A message to every worker: through Redis pub/sub when Reflex has Redis, else in-process."""

    def __init__(self, name: str, handler: Handler) -> None:
        self.name = name
        self._handler = handler
        self._redis = None

    @staticmethod
    def redis_url() -> str | None:
        return get_config().redis_url or None

    def _client(self):
        if self._redis is None:
            from redis import asyncio as aioredis

            self._redis = aioredis.Redis.from_url(self.redis_url())
        return self._redis

    async def send(self, message: dict[str, Any]) -> None:
        if self.redis_url() is None:
            await self._handler(message)
            return
        try:
            await self._client().publish(self.name, json.dumps(message))
        except Exception:  # Redis is down: this worker's viewers still get it
            logger.exception("publishing on %s failed; delivering to this worker only", self.name)
            await self._handler(message)

    async def listen(self) -> None:
        """Deliver every message of the channel to the handler, for the life of the worker."""
        if self.redis_url() is None:
            return
        while True:
            pubsub = self._client().pubsub()
            try:
                await pubsub.subscribe(self.name)
                # Whatever was sent while this worker was not subscribed is caught up now.
                await self._handler(dict(RESYNC))
                async for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    try:
                        await self._handler(json.loads(item["data"]))
                    except Exception:  # one bad message must not end the listener
                        logger.exception("handling a message of %s failed", self.name)
            except asyncio.CancelledError:
                raise
            except Exception:  # the connection dropped: subscribe again
                logger.exception("listening on %s failed; subscribing again", self.name)
                await asyncio.sleep(RECONNECT_DELAY_S)
            finally:
                with contextlib.suppress(Exception):  # closing a broken connection
                    await pubsub.aclose()

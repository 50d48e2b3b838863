"""A viewer of the served app without a browser: a Socket.IO client speaking Reflex's protocol.

It connects to the backend's event endpoint (`/_event`, websocket transport, the
session token in the query) with the page's hydrate event in the CONNECT packet,
as the compiled frontend does (reflex_base/.templates/web/utils/state.js,
`connect`); the backend hydrates it and runs the page's on_load handlers, so it
receives the state deltas a browser on that page would. Every delta is applied
to `state` (substate name -> var name -> value), and `watch` stamps the moment a
condition on that state first holds. Used by bench/fanout.py and the
multi-worker test.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import socketio

from tests.drill_reports import run_in_own_thread

EVENT_NAMESPACE = "/_event"
HYDRATE_EVENT = "reflex___state____state.hydrate_and_load"
VAR_SUFFIX = "_rx_state_"
CONNECT_TIMEOUT_S = 60
RUN_ASYNC_TIMEOUT_S = 600  # a scenario bounds its own waits; this bounds the whole of it
T = TypeVar("T")


def run_async(coroutine_function: Callable[[], Awaitable[T]], *, timeout_s: float = RUN_ASYNC_TIMEOUT_S) -> T:
    """Run `coroutine_function()` on a new event loop in a thread of its own, failing the test after `timeout_s`.

    Playwright's sync API keeps an event loop running in the test thread once a
    browser test ran, and `asyncio.run` refuses to start inside it.
    """
    return run_in_own_thread(lambda: asyncio.run(coroutine_function()), timeout_s=timeout_s)


class Viewer:
    def __init__(
        self,
        base_url: str,
        path: str = "/",
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.path = path
        self.query = dict(query or {})
        self.headers = dict(headers or {})  # e.g. the handshake's Cookie, as a browser would send it
        self.token = str(uuid.uuid4())
        self.state: dict[str, dict[str, Any]] = {}
        self.events: list[dict] = []  # the frontend events the backend sent (toasts, redirects...)
        self.updates = 0
        self.deltas_per_substate: Counter[str] = Counter()
        self._watches: list[tuple[Callable[[Viewer], bool], asyncio.Future]] = []
        self._client = socketio.AsyncClient(reconnection=False)
        self._client.on("event", self._on_event, namespace=EVENT_NAMESPACE)

    # --- connection -------------------------------------------------------------

    def _hydrate_event(self) -> dict:
        query_string = "&".join(f"{key}={value}" for key, value in self.query.items())
        as_path = self.path + (f"?{query_string}" if query_string else "")
        router_data: dict[str, Any] = {"pathname": self.path, "asPath": as_path}
        if self.query:
            router_data["query"] = self.query
        return {"name": HYDRATE_EVENT, "payload": {}, "router_data": router_data}

    async def connect(self) -> None:
        await self._client.connect(
            f"{self.base_url}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[EVENT_NAMESPACE],
            auth={"event": self._hydrate_event()},
            headers=self.headers,
            wait_timeout=CONNECT_TIMEOUT_S,
        )

    async def send(self, name: str, payload: Any = None) -> None:
        """Send the event `name` (a state's full name, a dot, the handler's name) with any `payload`,
        from this page (its router data, query included), as any client can."""
        event = {
            "name": name,
            "payload": {} if payload is None else payload,
            "router_data": self._hydrate_event()["router_data"],
        }
        await self._client.emit("event", event, namespace=EVENT_NAMESPACE)

    async def disconnect(self) -> None:
        await self._client.disconnect()

    @property
    def connected(self) -> bool:
        return self._client.connected

    # --- state ------------------------------------------------------------------

    async def _on_event(self, update: dict) -> None:
        arrived = time.perf_counter()
        self.events.extend(update.get("events") or [])
        for substate, changes in (update.get("delta") or {}).items():
            self.state.setdefault(substate, {}).update(changes)
            self.deltas_per_substate[substate] += 1
        self.updates += 1
        still = []
        for condition, future in self._watches:
            if future.done():
                continue
            if condition(self):
                future.set_result(arrived)
            else:
                still.append((condition, future))
        self._watches = still

    def var(self, state_suffix: str, name: str, default: Any = None) -> Any:
        """The value of var `name` of the substate whose full name ends with `state_suffix`."""
        for substate, values in self.state.items():
            if _names(substate, state_suffix):
                return values.get(name + VAR_SUFFIX, default)
        return default

    def deltas_for(self, state_suffix: str) -> int:
        """How many deltas (the hydrate's included) touched the substate ending with `state_suffix`."""
        return sum(
            count for substate, count in self.deltas_per_substate.items() if _names(substate, state_suffix)
        )

    def watch(self, condition: Callable[[Viewer], bool]) -> asyncio.Future:
        """A future set to the arrival time (perf_counter) of the delta after which `condition` holds."""
        future = asyncio.get_running_loop().create_future()
        if condition(self):
            future.set_result(time.perf_counter())
        else:
            self._watches.append((condition, future))
        return future

    async def wait_for(self, condition: Callable[[Viewer], bool], timeout_s: float) -> float:
        return await asyncio.wait_for(self.watch(condition), timeout_s)


def _names(substate: str, state_name: str) -> bool:
    """Whether the full name `substate` (module path, "____", snake-case class name) is of the state `state_name`.

    The whole class name must match: `overlay_state` is not `requests_overlay_state`.
    """
    return substate == state_name or substate.endswith(f"____{state_name}")

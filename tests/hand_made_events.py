"""A hand-made client: a `tests.reflex_viewer.Viewer` that sends whatever events it likes.

It connects like a browser on the page would (its Origin header, its page's
router data, query included) and `send_event` calls any handler of any state
with any payload, skipping the page's own buttons, as a hostile client could.
"""

from __future__ import annotations

from typing import Any

from tests.reflex_viewer import CONNECT_TIMEOUT_S, EVENT_NAMESPACE, Viewer


class HandMadeClient(Viewer):
    async def connect(self) -> None:
        await self._client.connect(
            f"{self.base_url}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[EVENT_NAMESPACE],
            auth={"event": self._hydrate_event()},
            headers={"Origin": self.base_url},  # a browser's, so the page's URL is what the server reads
            wait_timeout=CONNECT_TIMEOUT_S,
        )

    async def send_event(self, name: str, payload: dict[str, Any] | None = None) -> None:
        """Send the event `name` (a state's full name, a dot, the handler's name) with `payload`."""
        event = {"name": name, "payload": payload or {}, "router_data": self._hydrate_event()["router_data"]}
        await self._client.emit("event", event, namespace=EVENT_NAMESPACE)

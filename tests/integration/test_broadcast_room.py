"""`broadcast.Room` on a real Socket.IO server (the python-socketio Reflex runs on) with real
websocket clients on loopback: viewers join, one emit reaches each of them once, and a
viewer that disconnects leaves the room; a `call` asks the room's viewers to run a handler."""

from __future__ import annotations

import asyncio
import json
import types

import socketio
from aiohttp import web
from reflex_base.utils.format import format_event_handler, json_dumps

from cozykart.ui import broadcast
from cozykart.ui.live_pot import LivePotState
from tests.reflex_viewer import run_async

WAIT_S = 10
POLL_S = 0.05


async def _until(condition, what: str) -> None:
    for _ in range(int(WAIT_S / POLL_S)):
        if condition():
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"not within {WAIT_S}s: {what}")


async def _scenario() -> None:
    namespace = broadcast.event_namespace()
    server = socketio.AsyncServer(
        async_mode="aiohttp",
        transports=["websocket"],
        json=types.SimpleNamespace(dumps=json_dumps, loads=json.loads),  # Reflex's encoder, as app.py sets it
    )
    app = types.SimpleNamespace(sio=server)
    room = broadcast.Room("cozykart-test-room")

    async def on_connect(sid, environ, auth=None):
        await room.join(app, sid)

    server.on("connect", on_connect, namespace=namespace)
    web_app = web.Application()
    server.attach(web_app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    clients = [socketio.AsyncClient(reconnection=False) for _ in range(3)]
    received: list[list[dict]] = [[] for _ in clients]
    try:
        for index, client in enumerate(clients):
            client.on(
                "event", lambda update, index=index: received[index].append(update), namespace=namespace
            )
            await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], namespaces=[namespace])
        await _until(lambda: room.size(app) == 3, "three viewers in the room")

        await room.emit(app, broadcast.delta(LivePotState, pot_cents=1500, pot_text="$15.00"))
        await _until(lambda: all(received), "every viewer got the update")
        expected = {
            LivePotState.get_full_name(): {"pot_cents_rx_state_": 1500, "pot_text_rx_state_": "$15.00"}
        }
        for updates in received:
            assert [update["delta"] for update in updates] == [expected]

        gone = clients[:2]
        gone_sids = [client.get_sid(namespace) for client in gone]
        for client in gone:
            await client.disconnect()
        await _until(lambda: room.size(app) == 1, "the two who left are out of the room")
        assert not any(broadcast.is_connected(app, sid) for sid in gone_sids)
        assert broadcast.is_connected(app, clients[2].get_sid(namespace))

        await room.emit(app, broadcast.delta(LivePotState, pot_cents=1700))
        await _until(lambda: len(received[2]) == 2, "the one who stayed got the next update")
        assert received[2][1]["delta"] == {LivePotState.get_full_name(): {"pot_cents_rx_state_": 1700}}
        assert len(received[0]) == len(received[1]) == 1

        # `call`: no delta, one event the viewer's frontend sends back as its own.
        await room.call(app, LivePotState.join)
        await _until(lambda: len(received[2]) == 3, "the one who stayed was asked to run the handler")
        assert not received[2][2].get("delta")  # empty: Reflex leaves it out
        assert [event["name"] for event in received[2][2]["events"]] == [
            format_event_handler(LivePotState.join)
        ]
        assert len(received[0]) == len(received[1]) == 1
    finally:
        for client in clients:
            if client.connected:
                await client.disconnect()
        await runner.cleanup()


def test_one_emit_reaches_the_room_and_viewers_who_disconnect_leave_it():
    run_async(_scenario)

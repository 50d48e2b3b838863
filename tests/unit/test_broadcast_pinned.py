"""cozykart/ui/broadcast.py leans on Reflex internals; these fail when Reflex changes them.

If one fails after a Reflex upgrade, read the new Reflex's event namespace,
delta format and frontend update handler, fix broadcast.py, then bump
`broadcast.REFLEX_VERSION`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import reflex_base
from reflex import constants
from reflex.event import Event
from reflex.istate.data import RouterData, SessionData
from reflex.state import State, StateUpdate
from reflex_base.constants.event import SocketEvent
from reflex_base.utils.format import format_event_handler

import cozykart.cozykart as served
from cozykart.ui import broadcast
from cozykart.ui.live_pot import FeedView, LivePotState
from tests.reflex_viewer import run_async


def test_reflex_is_the_version_broadcast_was_written_for():
    assert constants.Reflex.VERSION == broadcast.REFLEX_VERSION


def test_the_event_namespace_is_the_one_the_app_serves():
    assert served.app.event_namespace is not None
    assert broadcast.event_namespace() == served.app.event_namespace.namespace == "/_event"


def test_a_broadcast_delta_is_exactly_the_delta_reflex_sends_for_the_same_change():
    feed = [FeedView(key="7", kind="sale", headline="Ana bought a tee", amount="$20.00")]

    async def reflex_delta() -> dict:
        with served.app.set_contexts():
            root = State(_reflex_internal_init=True)
            pot_state = await root.get_state(LivePotState)
            root._clean()
            pot_state.pot_cents = 1234
            pot_state.pot_text = "$12.34"
            pot_state.feed = feed
            return await root._get_resolved_delta()

    assert broadcast.delta(LivePotState, pot_cents=1234, pot_text="$12.34", feed=feed) == run_async(
        reflex_delta
    )


def test_the_frontend_applies_an_event_packet_as_a_delta_per_substate():
    state_js = Path(reflex_base.__file__).parent / ".templates" / "web" / "utils" / "state.js"
    source = state_js.read_text()
    assert 'socket.current.on("event", (update) => {' in source
    assert "const delta = withoutUnknownSubstates(update.delta);" in source
    assert "dispatch[substate](delta[substate]);" in source
    # `Room.call`: the update's events are queued as the page's own, sent back on its socket.
    assert "if (update.events && update.events.length > 0) {" in source
    assert "queueEvents(update.events, socket, false, navigate, params)" in source


def test_an_update_carries_events_the_way_room_call_sends_them():
    fields = {field.name for field in dataclasses.fields(StateUpdate)}
    assert {"delta", "events"} <= fields
    (event,) = Event.from_event_type(LivePotState.join)
    assert event.name == format_event_handler(LivePotState.join) and event.payload == {}


def test_a_viewers_socket_id_is_in_its_router_session():
    router_fields = {field.name for field in dataclasses.fields(RouterData)}
    session_fields = {field.name for field in dataclasses.fields(SessionData)}
    assert "session" in router_fields and "session_id" in session_fields
    assert constants.RouteVar.SESSION_ID == "sid"  # the key the event namespace fills with the socket's sid


def test_a_delta_names_only_vars_the_state_has():
    with pytest.raises(AssertionError, match="no_such_var"):
        broadcast.delta(LivePotState, no_such_var=1)


def test_a_reload_is_the_on_load_event_a_hydrate_queues():
    """`reload_every_page` sends Reflex's own on-load event: the one `hydrate_and_load` returns."""
    import inspect

    from reflex.state import OnLoadInternalState

    (event,) = Event.from_event_type(OnLoadInternalState.on_load_internal)
    assert event.name == format_event_handler(OnLoadInternalState.on_load_internal) and event.payload == {}
    assert "return [OnLoadInternalState.on_load_internal]" in inspect.getsource(State.hydrate_and_load.fn)


def test_reflex_sets_its_keyspace_notifications_once_and_remembers_it():
    """Why `Channel` sets them again after an outage: Reflex only sets them when its flag is unset."""
    import inspect

    from reflex.istate.manager import redis as reflex_redis

    assert inspect.signature(reflex_redis.enable_keyspace_notifications).parameters.keys() == {
        "redis",
        "events",
    }
    source = inspect.getsource(reflex_redis.StateManagerRedis._enable_keyspace_notifications)
    assert "if self._redis_notify_keyspace_events_enabled:" in source


def test_a_room_push_queues_the_very_packet_socketio_would_send_on_every_member_socket():
    """`queue_to_room` skips python-socketio's task per socket: the packet, and where it lands
    (each member's Engine.IO send queue, which its writer drains), must be what `emit` does."""
    from engineio.async_socket import AsyncSocket
    from socketio import AsyncServer

    update = StateUpdate(delta=broadcast.delta(LivePotState, pot_cents=1234, pot_text="$12.34"))
    namespace = broadcast.event_namespace()

    async def queued_by(push) -> list[list]:
        assert served.app.sio is not None  # built: it set the packet class's JSON to Reflex's
        sio = AsyncServer(async_mode="asgi")
        members = {}
        for eio_sid in ("eio-a", "eio-b", "eio-c"):
            sio.eio.sockets[eio_sid] = AsyncSocket(sio.eio, eio_sid)
            members[eio_sid] = await sio.manager.connect(eio_sid, namespace)
        for eio_sid in ("eio-a", "eio-b"):  # eio-c is connected but not in the room
            await sio.enter_room(members[eio_sid], "the-room", namespace=namespace)
        sio.eio.sockets["eio-b"].closed = True  # closing: nothing more is queued for it
        await push(sio)
        return [_drain(sio.eio.sockets[eio_sid].queue) for eio_sid in ("eio-a", "eio-b", "eio-c")]

    async def with_emit(sio):
        sio.eio.sockets["eio-b"].closed = False  # AsyncSocket.send raises on a closed socket
        await sio.emit(str(SocketEvent.EVENT), update, room="the-room", namespace=namespace)

    async def with_queue(sio):
        assert broadcast.queue_to_room(sio, "the-room", update) == 1

    by_emit = run_async(lambda: queued_by(with_emit))
    by_queue = run_async(lambda: queued_by(with_queue))
    assert len(by_emit[0]) == 1 and by_emit[2] == [] and by_queue[2] == []
    assert by_queue[0] == by_emit[0]  # the same Engine.IO message, byte for byte
    assert by_queue[1] == []


def _drain(queue) -> list:
    items = []
    while not queue.empty():
        item = queue.get_nowait()
        items.append((item.packet_type, item.data))
    return items

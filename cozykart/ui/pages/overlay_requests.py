"""`/overlay/requests?key=`: the DJ booth on stream — now playing and up next, transparent.

In the overlay shell (`overlays.overlay_shell`): nothing shows without the
current key. Once the key checked out, `OverlayState.open` runs `join`
(registered with `overlays.on_open`), which puts the viewer in the requests
room and reads the queue; every change of the queue has each open overlay run
`reload` on its own state, and both check the key in the URL again
(`overlays.key_is_valid`), so a client without it never gets a song.
Public-safe only: the song and the fan's public name.
"""

from __future__ import annotations

import reflex as rx

from cozykart.services import live
from cozykart.ui import live_race, routes
from cozykart.ui.layout import page
from cozykart.ui.pages.overlays import OverlayState, describe, key_is_valid, on_open, overlay_shell
from cozykart.ui.song_queue import QueuedSong, load_up_next


class RequestsOverlayState(rx.State):
    loaded: bool = False
    has_now_playing: bool = False
    now_playing: QueuedSong = QueuedSong()
    up_next: list[QueuedSong] = []

    @rx.event
    async def join(self):
        """With the key: follow the queue and read it."""
        if not await key_is_valid(self):
            return
        await live_race.join(self, _room)
        await load_up_next(self)

    @rx.event
    async def reload(self):
        """The queue changed: read it again (with the key only)."""
        if not await key_is_valid(self):
            return
        await load_up_next(self)


_room = live_race.follow_with_event(
    "cozykart-live-requests-overlay", {live.REQUESTS}, RequestsOverlayState.reload
)
on_open(routes.REQUESTS_OVERLAY, RequestsOverlayState.join)
describe(routes.REQUESTS_OVERLAY, "DJ requests: now playing and up next", 480, 300)


def _next(line: QueuedSong) -> rx.Component:
    return rx.hstack(
        rx.text("♪", aria_hidden="true"),
        rx.text(line.song, weight="bold"),
        rx.text("for ", line.fan_name, size="2", opacity="0.85"),
        align="center",
        spacing="2",
        data_testid="requests-overlay-next",
    )


def _card() -> rx.Component:
    state = RequestsOverlayState
    return rx.box(
        rx.text("NOW PLAYING", weight="bold", size="1", letter_spacing="0.12em", class_name="ck-accent"),
        rx.text(
            rx.cond(state.has_now_playing, state.now_playing.song, "The DJ's choice"),
            weight="bold",
            size="5",
            data_testid="requests-overlay-now-playing",
        ),
        rx.cond(
            state.up_next.length() > 0,
            rx.box(
                rx.text(
                    "UP NEXT",
                    weight="bold",
                    size="1",
                    letter_spacing="0.12em",
                    margin_top="8px",
                    class_name="ck-accent",
                ),
                rx.foreach(state.up_next, _next),
            ),
        ),
        class_name="ck-card",
        padding="12px 18px",
        width="fit-content",
        min_width="280px",
        max_width="440px",
        data_testid="requests-overlay",
    )


@page(route=routes.REQUESTS_OVERLAY, title="Requests overlay", on_load=OverlayState.resume, layout=False)
def requests_overlay() -> rx.Component:
    return overlay_shell(rx.cond(RequestsOverlayState.loaded, _card()))

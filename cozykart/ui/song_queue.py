""" "Up next" from the DJ booth, for fans: on `/` and `/tip`, live for every viewer.

Public-safe only (`services/song_requests.up_next`): the song and the fan's
public name, never the message or the amount. When a request arrives, is
played or skipped, or its tip is refunded, `live.requests_changed` has every
worker read the queue once and send ONE delta to its room of viewers
(`live_race.follow_with_delta`).
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from cozykart.services import default_uow, live, song_requests
from cozykart.services.song_requests import UpNext
from cozykart.settings import load_settings
from cozykart.ui import broadcast, live_race, theme


@dataclasses.dataclass
class QueuedSong:
    song: str = ""
    fan_name: str = ""


class UpNextState(rx.State):
    loaded: bool = False
    has_now_playing: bool = False
    now_playing: QueuedSong = QueuedSong()
    up_next: list[QueuedSong] = []

    @rx.event
    async def join(self):
        """Put this viewer in the up-next room, then read the queue (a change after it is pushed)."""
        await live_race.join(self, _room)
        await load_up_next(self)


async def read_up_next() -> UpNext:
    settings = load_settings()
    return await asyncio.to_thread(lambda: song_requests.up_next(uow=default_uow(settings)))


async def load_up_next(state: rx.State) -> None:
    """Read the queue and set it on `state`, whose vars are `UpNextState`'s (a fan's page, or the overlay)."""
    for name, value in _values(await read_up_next()).items():
        setattr(state, name, value)


def _song(line) -> QueuedSong:
    return QueuedSong(song=line.song, fan_name=line.fan_name)


def _values(queue: UpNext) -> dict:
    return {
        "loaded": True,
        "has_now_playing": queue.now_playing is not None,
        "now_playing": _song(queue.now_playing) if queue.now_playing else QueuedSong(),
        "up_next": [_song(line) for line in queue.up_next],
    }


async def _up_next_delta() -> dict:
    return broadcast.delta(UpNextState, **_values(await read_up_next()))


_room = live_race.follow_with_delta("cozykart-live-up-next", {live.REQUESTS}, _up_next_delta)


def _queued(line: QueuedSong) -> rx.Component:
    return rx.hstack(
        rx.icon("music", size=16, color=theme.GOLD, aria_hidden="true"),
        rx.text(line.song, weight="medium", size="2"),
        rx.text("for ", line.fan_name, size="1", color=theme.TEXT_MUTED),
        align="center",
        spacing="2",
        data_testid="up-next-song",
    )


def up_next_panel() -> rx.Component:
    """The DJ's next songs (and the one just played), for everyone."""
    return rx.el.section(
        rx.heading("Up next from the DJ", size="4", as_="h2"),
        rx.cond(
            UpNextState.has_now_playing,
            rx.text(
                "Now playing: ",
                rx.text.strong(UpNextState.now_playing.song),
                size="2",
                data_testid="up-next-now-playing",
            ),
        ),
        rx.cond(
            UpNextState.up_next.length() > 0,
            rx.vstack(rx.foreach(UpNextState.up_next, _queued), spacing="1", margin_top="0.5rem"),
            rx.text(
                rx.cond(UpNextState.loaded, "No requests waiting: tip the DJ to pick the next song!", "…"),
                size="2",
                color=theme.TEXT_MUTED,
                data_testid="up-next-empty",
            ),
        ),
        style=theme.panel_style,
        aria_label="Up next from the DJ",
        data_testid="up-next",
    )

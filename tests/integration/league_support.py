"""Helpers for the league integration tests: people, settings, a clock, an event recorder."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cozykart.services import league
from cozykart.settings import Settings

ADMIN_DISCORD_ID = "900000000000000001"
T0 = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)


def league_settings(database) -> Settings:
    return Settings(db_url=database.url, admin_discord_ids=frozenset({ADMIN_DISCORD_ID}))


class Clock:
    """Time the tests drive: every call is a little later than the last."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def make_racer(database, name: str, *, host: bool = False, discord_id: str | None = None) -> int:
    view = league.get_or_create_racer(
        discord_id or f"d-{name}", name, name.title(), f"/avatars/{name}.svg", uow=database.uow()
    )
    if host:
        from cozykart.db.tables import Racer

        with database.uow() as uow:
            racer = uow.session.get(Racer, view.racer_id)
            racer.is_host = True
            uow.session.add(racer)
            uow.commit()
    return view.racer_id


@dataclass
class League:
    """A small league: an admin, a host and racers, with shared settings and clock."""

    database: object
    settings: Settings
    clock: Clock
    admin_id: int
    host_id: int
    racer_ids: list[int] = field(default_factory=list)

    def kw(self, actor_id: int) -> dict:
        return {"actor_id": actor_id, "uow": self.database.uow(self.settings), "now": self.clock()}

    def kw_no_now(self, actor_id: int) -> dict:
        return {"actor_id": actor_id, "uow": self.database.uow(self.settings)}

    def lobby(self, racer_ids, name: str = "Mario Circuit") -> int:
        race = league.open_lobby(name, **self.kw(self.host_id))
        for racer_id in racer_ids:
            league.join_lobby(race.race_id, **self.kw(racer_id))
        return race.race_id

    def live_race(self, racer_ids, name: str = "Mario Circuit") -> int:
        race_id = self.lobby(racer_ids, name)
        league.start_race(race_id, **self.kw(self.host_id))
        return race_id

    def ended_race(self, racer_ids, name: str = "Mario Circuit") -> int:
        race_id = self.live_race(racer_ids, name)
        league.end_race(race_id, **self.kw(self.host_id))
        return race_id

    def final_race(self, order, name: str = "Mario Circuit"):
        """A final race whose results are `order` (racer ids, best first; None entries skipped)."""
        race_id = self.ended_race(order, name)
        return league.set_results(
            race_id,
            {racer_id: index for index, racer_id in enumerate(order, start=1)},
            **self.kw(self.host_id),
        )


def make_league(database, racer_count: int = 8) -> League:
    settings = league_settings(database)
    admin_id = make_racer(database, "admin", discord_id=ADMIN_DISCORD_ID)
    host_id = make_racer(database, "host", host=True)
    racers = [make_racer(database, f"racer{index}") for index in range(racer_count)]
    return League(database, settings, Clock(), admin_id, host_id, racers)


@contextmanager
def recording(lg: League, *event_types: type) -> Iterator[list]:
    """Record the events of `event_types` that `lg`'s units of work committed (an after-commit handler)."""
    seen: list = []
    database = lg.database
    table = {
        event_type: entry._replace(after_commit=(*entry.after_commit, seen.append))
        if event_type in event_types
        else entry
        for event_type, entry in database.handlers.items()
    }
    assert set(event_types) <= set(table), "record only events the handler table knows"
    lg.database = dataclasses.replace(database, handlers=table)
    try:
        yield seen
    finally:
        lg.database = database

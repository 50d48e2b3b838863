"""An in-memory unit of work for the league's services: no database, milliseconds a test.

`FakeUnitOfWork` has what the league's use cases (`cozykart/services/league.py`)
use of the real one: `league` (a `FakeLeagueRepository` of plain rows),
`settings`, `base_settings`, `emit`, `commit` and `with uow:`. A block left
without commit is rolled back (the rows are restored from a copy taken when it
began), and only committed events are kept, in `FakeDatabase.committed_events`.
No event handler runs: the ledger and the outbox are not part of it.

It mirrors the database's rules the league relies on: one racer per Discord
id, at most one live race (`ux_race_one_live`), at most one active season.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cozykart.db.repositories.league import RaceViewRows
from cozykart.domain.events import RaceOutcome, RaceResult, SplitRule
from cozykart.domain.league import RaceStatus, ResultLine, SeasonStatus, tally
from cozykart.settings import Settings

# --- rows: the attributes of the tables the services and views read -----------------


@dataclass
class FakeRacer:
    id: int
    discord_id: str
    username: str
    display_name: str
    avatar_url: str | None
    created_at: datetime
    mkt_name: str | None = None
    is_host: bool = False
    is_dj: bool = False


@dataclass
class FakeRace:
    id: int
    name: str
    host_racer_id: int
    status: str
    created_at: datetime
    season_id: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    finalized_at: datetime | None = None
    disputed: bool = False


@dataclass
class FakeEntry:
    id: int
    race_id: int
    racer_id: int
    joined_at: datetime
    reported_position: int | None = None
    reported_dnf: bool = False
    reported_at: datetime | None = None
    position: int | None = None
    dnf: bool = False
    points: int | None = None


@dataclass
class FakeSeason:
    id: int
    name: str
    starts_on: date
    ends_on: date
    points_table: str
    split_policy: str
    winner_bonus_bps: int
    status: str
    created_at: datetime
    activated_at: datetime | None = None


@dataclass
class FakeFix:
    id: int | None
    race_id: int
    racer_id: int
    old_position: int | None
    new_position: int | None
    old_dnf: bool
    new_dnf: bool
    actor_racer_id: int
    reason: str
    created_at: datetime


@dataclass
class Tables:
    racers: dict[int, FakeRacer] = field(default_factory=dict)
    races: dict[int, FakeRace] = field(default_factory=dict)
    entries: dict[int, FakeEntry] = field(default_factory=dict)
    seasons: dict[int, FakeSeason] = field(default_factory=dict)
    fixes: dict[int, FakeFix] = field(default_factory=dict)
    standings: dict[tuple[int, int], Any] = field(default_factory=dict)  # (season, racer) -> tally
    admin_actions: dict[int, dict[str, Any]] = field(default_factory=dict)  # the audit trail's rows


@dataclass
class FakeDatabase:
    tables: Tables = field(default_factory=Tables)
    committed_events: list[Any] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))  # ids are never reused, as in a database

    def next_id(self) -> int:
        return next(self.ids)


class FakeLeagueRepository:
    """The league repository's methods the services use, on the tables of a `FakeDatabase`."""

    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self.pending_fixes: list[FakeFix] = []

    @property
    def t(self) -> Tables:
        return self.database.tables

    # --- racers

    def racer(self, racer_id: int) -> FakeRacer | None:
        return self.t.racers.get(racer_id)

    def racer_by_discord_id(self, discord_id: str) -> FakeRacer | None:
        return next((racer for racer in self.t.racers.values() if racer.discord_id == discord_id), None)

    def upsert_racer(
        self, *, discord_id: str, username: str, display_name: str, avatar_url: str | None, now: datetime
    ) -> FakeRacer:
        racer = self.racer_by_discord_id(discord_id)
        if racer is None:
            racer = FakeRacer(self.database.next_id(), discord_id, username, display_name, avatar_url, now)
            self.t.racers[racer.id] = racer
        racer.username, racer.display_name, racer.avatar_url = username, display_name, avatar_url
        return racer

    def racers_for_update(self, racer_ids: Sequence[int]) -> None:
        """One transaction at a time here: nothing to lock."""

    # --- races and lobbies

    def race(self, race_id: int) -> FakeRace | None:
        return self.t.races.get(race_id)

    race_for_update = race

    def add_lobby(self, *, name: str, host_racer_id: int, created_at: datetime) -> FakeRace:
        race = FakeRace(self.database.next_id(), name, host_racer_id, RaceStatus.OPEN, created_at)
        self.t.races[race.id] = race
        return race

    def open_lobby_count(self) -> int:
        return len(self.open_lobbies())

    def open_lobbies(self) -> list[FakeRace]:
        lobbies = [race for race in self.t.races.values() if race.status == RaceStatus.OPEN]
        return sorted(lobbies, key=lambda race: (race.created_at, race.id))

    def live_race(self) -> FakeRace | None:
        return next((race for race in self.t.races.values() if race.status == RaceStatus.LIVE), None)

    def last_ended_at(self) -> datetime | None:
        return max(
            (race.ended_at for race in self.t.races.values() if race.ended_at is not None), default=None
        )

    def save_live(self, race: FakeRace) -> bool:
        others = [
            other for other in self.t.races.values() if other.status == RaceStatus.LIVE and other is not race
        ]
        return not others

    def _races_of(self, racer_id: int, statuses: Iterable[str]) -> list[FakeRace]:
        race_ids = {entry.race_id for entry in self.t.entries.values() if entry.racer_id == racer_id}
        return [
            self.t.races[race_id] for race_id in race_ids if self.t.races[race_id].status in tuple(statuses)
        ]

    def open_lobby_of(self, racer_id: int) -> FakeRace | None:
        return next(iter(self._races_of(racer_id, (RaceStatus.OPEN,))), None)

    def unfinished_race_of(self, racer_id: int) -> FakeRace | None:
        races = self._races_of(racer_id, (RaceStatus.LIVE, RaceStatus.ENDED))
        return max(races, key=lambda race: (race.started_at, race.id), default=None)

    def hosted_unfinished_race(self, host_id: int) -> FakeRace | None:
        unfinished = (RaceStatus.OPEN, RaceStatus.LIVE, RaceStatus.ENDED)
        races = [r for r in self.t.races.values() if r.host_racer_id == host_id and r.status in unfinished]
        return max(races, key=lambda race: (race.created_at, race.id), default=None)

    def races(self, *, statuses: Sequence[str] | None, season_id: int | None, limit: int) -> list[FakeRace]:
        races = [
            race
            for race in self.t.races.values()
            if (not statuses or race.status in tuple(statuses))
            and (season_id is None or race.season_id == season_id)
        ]
        return sorted(races, key=lambda race: (race.created_at, race.id), reverse=True)[:limit]

    def save(self, *rows: object) -> None:
        """Rows are changed in place; what `save` adds is the fixes' ids (a flush)."""
        for fix in self.pending_fixes:
            fix.id = self.database.next_id()
            self.t.fixes[fix.id] = fix
        self.pending_fixes = []

    # --- entries and fixes

    def entries(self, race_id: int) -> list[FakeEntry]:
        return sorted((e for e in self.t.entries.values() if e.race_id == race_id), key=lambda e: e.id)

    def entry_of(self, race_id: int, racer_id: int) -> FakeEntry | None:
        return next((e for e in self.entries(race_id) if e.racer_id == racer_id), None)

    def add_entry(self, *, race_id: int, racer_id: int, joined_at: datetime) -> None:
        assert self.entry_of(race_id, racer_id) is None, "one entry per racer and race"
        entry = FakeEntry(self.database.next_id(), race_id, racer_id, joined_at)
        self.t.entries[entry.id] = entry

    def remove_entry(self, entry: FakeEntry) -> None:
        del self.t.entries[entry.id]

    def add_result_fix(self, **values: Any) -> FakeFix:
        fix = FakeFix(id=None, **values)
        self.pending_fixes.append(fix)
        return fix

    def race_outcome(self, race_id: int) -> RaceOutcome | None:
        race = self.race(race_id)
        if race is None:
            return None
        entries = sorted(self.entries(race_id), key=lambda entry: entry.racer_id)
        season = self.t.seasons.get(race.season_id) if race.season_id is not None else None
        assert season is not None, "the league's races have a season once started"
        return RaceOutcome(
            race_id=race.id,
            name=race.name,
            season_id=race.season_id,
            status=race.status,
            racer_ids=tuple(entry.racer_id for entry in entries),
            results=tuple(
                RaceResult(racer_id=e.racer_id, position=e.position, dnf=e.dnf, points=e.points or 0)
                for e in entries
                if e.position is not None or e.dnf
            ),
            split=SplitRule(policy=season.split_policy, winner_bonus_bps=season.winner_bonus_bps),
        )

    def refresh_standings(self, season_id: int, racer_ids: Iterable[int]) -> None:
        lines = [
            ResultLine(e.racer_id, race.id, race.started_at, e.position, e.points)
            for race in self.t.races.values()
            if race.season_id == season_id and race.status == RaceStatus.FINAL
            for e in self.entries(race.id)
        ]
        for racer_id in set(racer_ids):
            counted = tally(racer_id, lines)
            if counted is None:
                self.t.standings.pop((season_id, racer_id), None)
            else:
                self.t.standings[(season_id, racer_id)] = counted

    def race_view_rows(self, races: Sequence[FakeRace]) -> RaceViewRows:
        race_ids = {race.id for race in races}
        entries_by_race: dict[int, list] = {}
        for entry in self.t.entries.values():
            if entry.race_id in race_ids:
                entries_by_race.setdefault(entry.race_id, []).append((entry, self.t.racers[entry.racer_id]))
        fixes_by_race: dict[int, list] = {}
        for fix in sorted(self.t.fixes.values(), key=lambda fix: (fix.created_at, fix.id)):
            if fix.race_id in race_ids:
                fixes_by_race.setdefault(fix.race_id, []).append(fix)
        seasons = {
            race.season_id: self.t.seasons[race.season_id] for race in races if race.season_id is not None
        }
        return RaceViewRows(entries_by_race, fixes_by_race, dict(self.t.racers), seasons)


class FakeSeasonsRepository:
    """The seasons repository's methods the league's use cases use, on the same tables."""

    def __init__(self, database: FakeDatabase) -> None:
        self.database = database

    @property
    def t(self) -> Tables:
        return self.database.tables

    def season(self, season_id: int) -> FakeSeason | None:
        return self.t.seasons.get(season_id)

    season_for_update = season

    def active_season(self) -> FakeSeason | None:
        return next((s for s in self.t.seasons.values() if s.status == SeasonStatus.ACTIVE), None)

    def season_names(self) -> set[str]:
        return {season.name for season in self.t.seasons.values()}

    def open_season(self, *, now: datetime, **values: Any) -> FakeSeason | None:
        if self.active_season() is not None:
            return None
        season = FakeSeason(
            id=self.database.next_id(), status=SeasonStatus.ACTIVE, created_at=now, activated_at=now, **values
        )
        self.t.seasons[season.id] = season
        return season


class FakeAuditRepository:
    """The audit repository's one write: an admin action appended to `Tables.admin_actions`."""

    def __init__(self, database: FakeDatabase) -> None:
        self.database = database

    def append(self, **values: Any) -> int:
        action_id = self.database.next_id()
        self.database.tables.admin_actions[action_id] = dict(values, id=action_id)
        return action_id


class FakeUnitOfWork:
    """One transaction on a `FakeDatabase`: committed once, else rolled back."""

    def __init__(self, database: FakeDatabase, *, settings: Settings | None = None) -> None:
        self.database = database
        self._base_settings = settings or Settings(db_url="memory://")
        self._league: FakeLeagueRepository | None = None
        self._seasons: FakeSeasonsRepository | None = None
        self._events: list[Any] = []
        self._before: Tables | None = None
        self._depth = 0

    @property
    def base_settings(self) -> Settings:
        return self._base_settings

    @property
    def settings(self) -> Settings:
        assert self._depth > 0, "use the unit of work inside `with uow:`"
        return self._base_settings

    @property
    def league(self) -> FakeLeagueRepository:
        assert self._league is not None, "use the unit of work inside `with uow:`"
        return self._league

    @property
    def seasons(self) -> FakeSeasonsRepository:
        assert self._seasons is not None, "use the unit of work inside `with uow:`"
        return self._seasons

    @property
    def audit(self) -> FakeAuditRepository:
        assert self._depth > 0, "use the unit of work inside `with uow:`"
        return FakeAuditRepository(self.database)  # it remembers nothing: the rows are in the tables

    @property
    def is_joined(self) -> bool:
        return self._depth > 1

    def __enter__(self) -> FakeUnitOfWork:
        if self._depth == 0:
            self._before = copy.deepcopy(self.database.tables)
            self._league = FakeLeagueRepository(self.database)
            self._seasons = FakeSeasonsRepository(self.database)
            self._events = []
        self._depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        if self._before is not None:  # not committed: roll back
            self.database.tables = self._before
        self._before, self._league, self._seasons, self._events = None, None, None, []

    def emit(self, event: Any) -> None:
        self._events.append(event)

    def handle_events(self) -> None:
        """No handlers here: the events wait for the commit."""

    def commit(self) -> None:
        if self.is_joined:
            return
        assert self._league is not None and not self._league.pending_fixes, "unsaved rows at commit"
        self.database.committed_events.extend(self._events)
        self._events = []
        self._before = None  # nothing to roll back: the tables stand

"""The league repository: racers, lobbies, races and their entries, result fixes.

What the league's use cases (`cozykart/services/league.py`, `results_admin.py`)
read, lock and write; the one racer upsert and the look-ups by Discord id every
entry point shares. A race's season is the seasons repository's (`uow.seasons`).
Rows are locked in the league's order, race, season, racers (`race_for_update`,
`uow.seasons.season_for_update`, `racers_for_update`), so two
league transactions never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, func, select

from cozykart.db import league_repo
from cozykart.db.repositories import Repository
from cozykart.db.tables import Race, RaceEntry, Racer, ResultFix, Season
from cozykart.domain.events import RaceOutcome
from cozykart.domain.league import RaceStatus


@dataclass(frozen=True)
class RaceViewRows:
    """What views of some races are made of, read with a few queries whatever their number."""

    entries_by_race: dict[int, list[tuple[RaceEntry, Racer]]]
    fixes_by_race: dict[int, list[ResultFix]]
    people: dict[int, Racer]  # hosts, and the racers and admins of the fixes
    seasons: dict[int, Season]


class LeagueRepository(Repository):
    # --- racers -------------------------------------------------------------------

    def racer(self, racer_id: int) -> Racer | None:
        return self.session.get(Racer, racer_id)

    def racer_by_discord_id(self, discord_id: str) -> Racer | None:
        return league_repo.racer_by_discord_id(self.session, discord_id)

    def upsert_racer(
        self, *, discord_id: str, username: str, display_name: str, avatar_url: str | None, now: datetime
    ) -> Racer:
        """The racer for a Discord user, created on first sight; later calls refresh the names and avatar."""
        return league_repo.upsert_racer(
            self.session,
            discord_id=discord_id,
            username=username,
            display_name=display_name,
            avatar_url=avatar_url,
            now=now,
        )

    def racers_for_update(self, racer_ids: Sequence[int]) -> None:
        """Lock the racers' rows, in id order (last in the lock order race, season, racers)."""
        self.session.exec(
            select(Racer.id).where(Racer.id.in_(sorted(racer_ids))).order_by(Racer.id).with_for_update()
        ).all()

    # --- races and lobbies ------------------------------------------------------------

    def race(self, race_id: int) -> Race | None:
        return self.session.get(Race, race_id)

    def race_for_update(self, race_id: int) -> Race | None:
        """The race, locked (first in the lock order race, season, racers)."""
        return self.session.exec(select(Race).where(Race.id == race_id).with_for_update()).first()

    def add_lobby(self, *, name: str, host_racer_id: int, created_at: datetime) -> Race:
        race = Race(name=name, host_racer_id=host_racer_id, status=RaceStatus.OPEN, created_at=created_at)
        self.session.add(race)
        self.session.flush()
        return race

    def open_lobby_count(self) -> int:
        return self.session.exec(select(func.count()).where(Race.status == RaceStatus.OPEN)).one()

    def open_lobbies(self) -> list[Race]:
        """Open lobbies, oldest first."""
        return list(
            self.session.exec(
                select(Race).where(Race.status == RaceStatus.OPEN).order_by(Race.created_at, Race.id)
            )
        )

    def live_race(self) -> Race | None:
        return self.session.exec(select(Race).where(Race.status == RaceStatus.LIVE)).first()

    def last_ended_at(self) -> datetime | None:
        """When the last race's window closed (None before any race ended)."""
        return self.session.exec(select(func.max(Race.ended_at))).one()

    def save_live(self, race: Race) -> bool:
        """Write a race that went live; False when another one went live first (`ux_race_one_live`)."""
        self.session.add(race)
        try:
            self.session.flush()
        except IntegrityError:
            return False
        return True

    def open_lobby_of(self, racer_id: int) -> Race | None:
        """The open lobby the racer is in."""
        return self.session.exec(
            select(Race)
            .join(RaceEntry, RaceEntry.race_id == Race.id)
            .where(RaceEntry.racer_id == racer_id, Race.status == RaceStatus.OPEN)
        ).first()

    def unfinished_race_of(self, racer_id: int) -> Race | None:
        """The newest (last started) live or ended race the racer is in."""
        return self.session.exec(
            select(Race)
            .join(RaceEntry, RaceEntry.race_id == Race.id)
            .where(RaceEntry.racer_id == racer_id, Race.status.in_((RaceStatus.LIVE, RaceStatus.ENDED)))
            .order_by(Race.started_at.desc(), Race.id.desc())
            .limit(1)
        ).first()

    def hosted_unfinished_race(self, host_id: int) -> Race | None:
        """The host's newest race that is open, live or ended."""
        return self.session.exec(
            select(Race)
            .where(
                Race.host_racer_id == host_id,
                Race.status.in_((RaceStatus.OPEN, RaceStatus.LIVE, RaceStatus.ENDED)),
            )
            .order_by(Race.created_at.desc(), Race.id.desc())
            .limit(1)
        ).first()

    def races(self, *, statuses: Sequence[str] | None, season_id: int | None, limit: int) -> list[Race]:
        """Races newest first, of some statuses or one season when given."""
        statement = select(Race)
        if statuses:
            statement = statement.where(Race.status.in_(tuple(statuses)))
        if season_id is not None:
            statement = statement.where(Race.season_id == season_id)
        statement = statement.order_by(Race.created_at.desc(), Race.id.desc()).limit(limit)
        return list(self.session.exec(statement).all())

    def save(self, *rows: SQLModel) -> None:
        """Write changed rows now (in this transaction)."""
        for row in rows:
            self.session.add(row)
        self.session.flush()

    # --- entries and fixes ---------------------------------------------------------------

    def entries(self, race_id: int) -> list[RaceEntry]:
        """The race's entries, in order of arrival."""
        return list(
            self.session.exec(select(RaceEntry).where(RaceEntry.race_id == race_id).order_by(RaceEntry.id))
        )

    def entry_of(self, race_id: int, racer_id: int) -> RaceEntry | None:
        return self.session.exec(
            select(RaceEntry).where(RaceEntry.race_id == race_id, RaceEntry.racer_id == racer_id)
        ).first()

    def add_entry(self, *, race_id: int, racer_id: int, joined_at: datetime) -> None:
        self.session.add(RaceEntry(race_id=race_id, racer_id=racer_id, joined_at=joined_at))
        self.session.flush()

    def remove_entry(self, entry: RaceEntry) -> None:
        self.session.delete(entry)
        self.session.flush()

    def add_result_fix(
        self,
        *,
        race_id: int,
        racer_id: int,
        old_position: int | None,
        new_position: int | None,
        old_dnf: bool,
        new_dnf: bool,
        actor_racer_id: int,
        reason: str,
        created_at: datetime,
    ) -> ResultFix:
        """A result fix, written with the next `save` (its id is known after it)."""
        fix = ResultFix(
            race_id=race_id,
            racer_id=racer_id,
            old_position=old_position,
            new_position=new_position,
            old_dnf=old_dnf,
            new_dnf=new_dnf,
            actor_racer_id=actor_racer_id,
            reason=reason,
            created_at=created_at,
        )
        self.session.add(fix)
        return fix

    def race_outcome(self, race_id: int) -> RaceOutcome | None:
        return league_repo.race_outcome(self.session, race_id)

    def refresh_standings(self, season_id: int, racer_ids: Iterable[int]) -> None:
        """Recompute the racers' standing rows in the season (locks the season, then the racers)."""
        league_repo.refresh_standings(self.session, season_id, racer_ids)

    def race_view_rows(self, races: Sequence[Race]) -> RaceViewRows:
        """Entries with their racers, fixes, the people named and the seasons of `races`: four queries."""
        race_ids = [race.id for race in races]
        entry_rows = self.session.exec(
            select(RaceEntry, Racer)
            .join(Racer, Racer.id == RaceEntry.racer_id)
            .where(RaceEntry.race_id.in_(race_ids))
        ).all()
        entries_by_race: dict[int, list[tuple[RaceEntry, Racer]]] = {}
        for entry, racer in entry_rows:
            entries_by_race.setdefault(entry.race_id, []).append((entry, racer))
        fixes_by_race: dict[int, list[ResultFix]] = {}
        for fix in self.session.exec(
            select(ResultFix)
            .where(ResultFix.race_id.in_(race_ids))
            .order_by(ResultFix.created_at, ResultFix.id)
        ):
            fixes_by_race.setdefault(fix.race_id, []).append(fix)
        people_ids = {race.host_racer_id for race in races}
        people_ids |= {fix.actor_racer_id for fixes in fixes_by_race.values() for fix in fixes}
        people_ids |= {fix.racer_id for fixes in fixes_by_race.values() for fix in fixes}
        people = {
            racer.id: racer for racer in self.session.exec(select(Racer).where(Racer.id.in_(people_ids)))
        }
        season_ids = {race.season_id for race in races if race.season_id is not None}
        seasons = {
            season.id: season for season in self.session.exec(select(Season).where(Season.id.in_(season_ids)))
        }
        return RaceViewRows(entries_by_race, fixes_by_race, people, seasons)

    # --- racers, as announcements and tips need them ------------------------------------------

    def racers(self, racer_ids: Iterable[int]) -> list[Racer]:
        """These racers, in one query (none for no ids)."""
        ids = list(racer_ids)
        return list(self.session.exec(select(Racer).where(Racer.id.in_(ids))).all()) if ids else []

    def djs(self, limit: int | None = None) -> list[Racer]:
        """Racers with the DJ role, by id: who a tip may credit."""
        return list(
            self.session.exec(
                select(Racer).where(col(Racer.is_dj).is_(True)).order_by(Racer.id).limit(limit)
            ).all()
        )

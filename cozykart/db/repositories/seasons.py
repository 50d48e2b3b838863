"""The seasons repository: seasons, their stored standings and their closing.

It also writes the demo league (`services/demo.py`): its racers, races and
entries are rows of a season built without the league services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import case, select

from cozykart.db import league_repo
from cozykart.db.repositories import Repository
from cozykart.db.tables import Race, RaceEntry, Racer, Season, SeasonStanding
from cozykart.domain.league import RaceStatus, SeasonStatus


class SeasonsRepository(Repository):
    # --- seasons ------------------------------------------------------------------

    def season(self, season_id: int) -> Season | None:
        return self.session.get(Season, season_id)

    def season_for_update(self, season_id: int) -> Season | None:
        """The season, locked for the rest of the transaction (a league use case: after its race, before its racers)."""
        return self.session.exec(select(Season).where(Season.id == season_id).with_for_update()).first()

    def season_named(self, name: str) -> Season | None:
        return self.session.exec(select(Season).where(Season.name == name)).first()

    def name_taken(self, name: str) -> bool:
        return self.session.exec(select(Season.id).where(Season.name == name)).first() is not None

    def active_season(self) -> Season | None:
        return self.session.exec(select(Season).where(Season.status == SeasonStatus.ACTIVE)).first()

    def season_names(self) -> set[str]:
        return set(self.session.exec(select(Season.name)).all())

    def open_season(
        self,
        *,
        name: str,
        starts_on: date,
        ends_on: date,
        points_table: str,
        split_policy: str,
        winner_bonus_bps: int,
        now: datetime,
    ) -> Season | None:
        """An active season opened now; None when another transaction opened one at the same instant."""
        season = Season(
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            points_table=points_table,
            split_policy=split_policy,
            winner_bonus_bps=winner_bonus_bps,
            status=SeasonStatus.ACTIVE,
            created_at=now,
            activated_at=now,
        )
        try:
            with self.session.begin_nested():
                self.session.add(season)
        except IntegrityError:
            return None
        return season

    def listed(self, limit: int) -> Sequence[Season]:
        """Seasons for a list: the active one, then upcoming, then the archive (newest first)."""
        order = case(
            (Season.status == SeasonStatus.ACTIVE, 0), (Season.status == SeasonStatus.UPCOMING, 1), else_=2
        )
        return self.session.exec(
            select(Season).order_by(order, Season.starts_on.desc(), Season.id.desc()).limit(limit)
        ).all()

    def champions(self, seasons: Iterable[Season]) -> dict[int, Racer]:
        """The champions of these seasons (those that have one), by racer id."""
        champion_ids = {
            season.champion_racer_id for season in seasons if season.champion_racer_id is not None
        }
        return {
            racer.id: racer for racer in self.session.exec(select(Racer).where(Racer.id.in_(champion_ids)))
        }

    def add_season(
        self,
        *,
        name: str,
        starts_on: date,
        ends_on: date,
        sponsor_name: str | None,
        sponsor_logo_url: str | None,
        sponsor_url: str | None,
        points_table: str,
        split_policy: str,
        winner_bonus_bps: int,
        created_at: datetime,
    ) -> Season | None:
        """A new upcoming season; None when its name was taken first (the unique index)."""
        season = Season(
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            sponsor_name=sponsor_name,
            sponsor_logo_url=sponsor_logo_url,
            sponsor_url=sponsor_url,
            points_table=points_table,
            split_policy=split_policy,
            winner_bonus_bps=winner_bonus_bps,
            status=SeasonStatus.UPCOMING,
            created_at=created_at,
        )
        self.session.add(season)
        try:
            self.session.flush()
        except IntegrityError:
            return None
        return season

    def activate(self, season: Season, *, at: datetime) -> bool:
        """Make the season the active one; False when another became active first
        (`ux_season_one_active`)."""
        season.status = SeasonStatus.ACTIVE
        season.activated_at = at
        self.session.add(season)
        try:
            self.session.flush()
        except IntegrityError:
            return False
        return True

    def unfinished_race_names(self, season_id: int, limit: int) -> Sequence[str]:
        """The first of the season's races still live or waiting for results."""
        return self.session.exec(
            select(Race.name)
            .where(Race.season_id == season_id, Race.status.in_((RaceStatus.LIVE, RaceStatus.ENDED)))
            .order_by(Race.id)
            .limit(limit)
        ).all()

    def close(self, season: Season, *, at: datetime) -> Racer | None:
        """Close the season: freeze each standing's rank, crown the leader; the champion."""
        ranked = self.session.exec(league_repo.standings_statement(season.id)).all()
        for rank, (row, _racer) in enumerate(ranked, start=1):
            row.rank_at_close = rank
            self.session.add(row)
        champion = ranked[0][1] if ranked else None
        season.champion_racer_id = champion.id if champion else None
        season.status = SeasonStatus.CLOSED
        season.closed_at = at
        season.standings_version += 1
        self.session.add(season)
        self.session.flush()
        return champion

    # --- standings ----------------------------------------------------------------

    def rebuild_standings(self, season_id: int) -> int:
        """Recompute the season's standing rows from its results; the row count."""
        return league_repo.rebuild_standings(self.session, season_id)

    def build_standings_never_built(self, season: Season) -> bool:
        """Build the standings of a season still at `standings_version` 0; False when
        someone else built them first.

        Locks the season (and reloads it): of two first readers at once, the second
        waits here, then sees them built.
        """
        self.session.exec(
            select(Season)
            .where(Season.id == season.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if season.standings_version != 0:
            return False
        league_repo.rebuild_standings(self.session, season.id)
        return True

    # --- the demo league ----------------------------------------------------------

    def add_demo_racer(self, **fields: object) -> Racer:
        """A demo racer, written at the next flush."""
        racer = Racer(**fields)
        self.session.add(racer)
        return racer

    def add_demo_season(self, **fields: object) -> Season:
        season = Season(**fields)
        self.session.add(season)
        self.session.flush()
        return season

    def race_names(self, season_id: int) -> set[str]:
        return set(self.session.exec(select(Race.name).where(Race.season_id == season_id)).all())

    def started_races(self, season_id: int) -> Sequence[Race]:
        return self.session.exec(
            select(Race).where(Race.season_id == season_id, Race.started_at.is_not(None)).order_by(Race.id)
        ).all()

    def no_live_race(self) -> bool:
        return self.session.exec(select(Race.id).where(Race.status == RaceStatus.LIVE)).first() is None

    def add_demo_race(self, **fields: object) -> Race:
        race = Race(**fields)
        self.session.add(race)
        self.session.flush()
        return race

    def add_demo_entry(self, **fields: object) -> None:
        """A demo race's entry, written at the next flush."""
        self.session.add(RaceEntry(**fields))

    def flush(self) -> None:
        """Write what was added (the rows get their ids)."""
        self.session.flush()

    # --- a racer's standing, for the champion's announcement -----------------------------------

    def standing(self, season_id: int, racer_id: int) -> SeasonStanding | None:
        return self.session.exec(
            select(SeasonStanding).where(
                SeasonStanding.season_id == season_id, SeasonStanding.racer_id == racer_id
            )
        ).first()

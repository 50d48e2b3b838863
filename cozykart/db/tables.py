"""SQLModel tables of people and the league.

Plain SQLModel (not `rx.Model`): the tables are the storage layer's, and nothing
outside `cozykart.db` and `cozykart.services` imports them. Every instant is a
`UtcDateTime`; every identifier a racer or admin sees is an integer id.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime, utc_now
from cozykart.domain.identity import (
    AVATAR_URL_LENGTH_MAX,
    DISCORD_ID_LENGTH_MAX,
    DISCORD_NAME_LENGTH_MAX,
    MKT_NAME_LENGTH_MAX,
)
from cozykart.domain.league import (
    FIX_REASON_LENGTH_MAX,
    LOBBY_NAME_LENGTH_MAX,
    SEASON_NAME_LENGTH_MAX,
    SPLIT_POLICY_DEFAULT,
    URL_LENGTH_MAX,
    WINNER_BONUS_BPS_DEFAULT,
    RaceStatus,
    SeasonStatus,
)


def _instant(*, nullable: bool = False, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


class Racer(SQLModel, table=True):
    """A Discord user: every person who logs in or uses a slash command."""

    __tablename__ = "racer"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    discord_id: str = Field(max_length=DISCORD_ID_LENGTH_MAX, unique=True)
    username: str = Field(max_length=DISCORD_NAME_LENGTH_MAX)
    display_name: str = Field(max_length=DISCORD_NAME_LENGTH_MAX)
    avatar_url: str | None = Field(default=None, max_length=AVATAR_URL_LENGTH_MAX)
    mkt_name: str | None = Field(default=None, max_length=MKT_NAME_LENGTH_MAX)
    is_host: bool = Field(default=False)
    is_dj: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())


class Season(SQLModel, table=True):
    """A season: dates, sponsor, points table and split policy.

    `points_table` is JSON: {"default": [15, 12, ...], "4": [...]} keyed by the
    number of racers in a race; "default" applies to any size without its own row.
    """

    __tablename__ = "season"
    __table_args__ = (
        Index(
            "ux_season_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    name: str = Field(max_length=SEASON_NAME_LENGTH_MAX, unique=True)
    starts_on: date
    ends_on: date
    sponsor_name: str | None = Field(default=None, max_length=SEASON_NAME_LENGTH_MAX)
    sponsor_logo_url: str | None = Field(default=None, max_length=URL_LENGTH_MAX)
    sponsor_url: str | None = Field(default=None, max_length=URL_LENGTH_MAX)
    points_table: str = Field(max_length=2000)
    split_policy: str = Field(default=SPLIT_POLICY_DEFAULT, max_length=20)
    winner_bonus_bps: int = Field(default=WINNER_BONUS_BPS_DEFAULT)
    status: str = Field(default=SeasonStatus.UPCOMING.value, max_length=12)
    champion_racer_id: int | None = Field(default=None, foreign_key="racer.id")
    # Bumped whenever the season's standings (or a name shown in them) change,
    # so a reader can tell whether a standings view it holds is still current.
    standings_version: int = Field(default=0)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())
    activated_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class Race(SQLModel, table=True):
    """A lobby that becomes a race.

    status: open (lobby, joinable) -> live (commission window open) -> ended
    (window closed, results being reported) -> final; `disputed` marks an ended
    race whose reports conflict until the host or an admin rules. A lobby closed
    before it starts is `cancelled`.
    The window is [started_at, ended_at): a sale at instant T belongs to the race
    with started_at <= T < ended_at (ended_at NULL while live).
    """

    __tablename__ = "race"
    __table_args__ = (
        Index(
            "ux_race_one_live",
            "status",
            unique=True,
            sqlite_where=text("status = 'live'"),
            postgresql_where=text("status = 'live'"),
        ),
        Index("ix_race_window", "started_at", "ended_at"),
        # The season board's span (first start, last end, any still live) from the index alone.
        Index("ix_race_season_window", "season_id", "started_at", "ended_at"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    season_id: int | None = Field(default=None, foreign_key="season.id", index=True)
    name: str = Field(max_length=LOBBY_NAME_LENGTH_MAX)
    host_racer_id: int = Field(foreign_key="racer.id")
    status: str = Field(default=RaceStatus.OPEN.value, max_length=12, index=True)
    disputed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())
    started_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    finalized_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class RaceEntry(SQLModel, table=True):
    """A racer in a lobby or race, with their own report and the final result."""

    __tablename__ = "race_entry"
    __table_args__ = (UniqueConstraint("race_id", "racer_id", name="uq_race_entry_racer"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    race_id: int = Field(foreign_key="race.id", index=True)
    racer_id: int = Field(foreign_key="racer.id", index=True)
    joined_at: datetime = Field(default_factory=utc_now, sa_column=_instant())
    reported_position: int | None = Field(default=None)
    reported_dnf: bool = Field(default=False)
    reported_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    position: int | None = Field(default=None)
    dnf: bool = Field(default=False)
    points: int | None = Field(default=None)


class ResultFix(SQLModel, table=True):
    """An audited change to a final result: who, when, old -> new, and why."""

    __tablename__ = "result_fix"

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    race_id: int = Field(foreign_key="race.id", index=True)
    racer_id: int = Field(foreign_key="racer.id")
    old_position: int | None = Field(default=None)
    new_position: int | None = Field(default=None)
    old_dnf: bool = Field(default=False)
    new_dnf: bool = Field(default=False)
    actor_racer_id: int = Field(foreign_key="racer.id")
    reason: str = Field(max_length=FIX_REASON_LENGTH_MAX)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_instant())


class SeasonStanding(SQLModel, table=True):
    """A racer's season tally, kept in step with every final result.

    Maintained by the league services whenever a race becomes final or an admin
    fixes it (each affected racer's row is recomputed from their results), so
    reading the standings is one indexed scan instead of an aggregate over every
    result. `rank_at_close` is written once, when the season closes (the frozen
    standings of the archive).
    """

    __tablename__ = "season_standing"
    __table_args__ = (UniqueConstraint("season_id", "racer_id", name="uq_season_standing_racer"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is stored
    season_id: int = Field(foreign_key="season.id")
    racer_id: int = Field(foreign_key="racer.id", index=True)
    points: int = Field(default=0)
    wins: int = Field(default=0)
    podiums: int = Field(default=0)
    races: int = Field(default=0)
    finishes: int = Field(default=0)
    position_sum: int = Field(default=0)
    reached_started_at: datetime = Field(sa_column=_instant())
    reached_race_id: int = Field(foreign_key="race.id")
    rank_at_close: int | None = Field(default=None)


# The first keys of the standings order (league_repo.standings_statement): a
# season's standings come out of the index nearly sorted.
Index(
    "ix_season_standing_order",
    SeasonStanding.season_id,
    SeasonStanding.points.desc(),
    SeasonStanding.wins.desc(),
)

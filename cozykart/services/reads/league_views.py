"""What the league services return: plain frozen values, never ORM rows.

Pages, the public API and Discord commands read these; none of them can reach
the database through a view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cozykart.db.tables import Race, RaceEntry, Racer, ResultFix, Season
from cozykart.domain.league import PointsTable, RaceStatus, SeasonStatus


@dataclass(frozen=True)
class RacerCard:
    racer_id: int
    display_name: str
    mkt_name: str | None
    avatar_url: str | None

    @property
    def name(self) -> str:
        """The name the league shows: the Mario Kart Tour name when set."""
        return self.mkt_name or self.display_name

    @classmethod
    def of(cls, racer: Racer) -> RacerCard:
        return cls(
            racer_id=racer.id,
            display_name=racer.display_name,
            mkt_name=racer.mkt_name,
            avatar_url=racer.avatar_url,
        )


@dataclass(frozen=True)
class RacerView:
    racer_id: int
    discord_id: str
    username: str
    display_name: str
    mkt_name: str | None
    avatar_url: str | None
    is_host: bool
    is_dj: bool
    created_at: datetime

    @property
    def card(self) -> RacerCard:
        return RacerCard(self.racer_id, self.display_name, self.mkt_name, self.avatar_url)

    @classmethod
    def of(cls, racer: Racer) -> RacerView:
        return cls(
            racer_id=racer.id,
            discord_id=racer.discord_id,
            username=racer.username,
            display_name=racer.display_name,
            mkt_name=racer.mkt_name,
            avatar_url=racer.avatar_url,
            is_host=racer.is_host,
            is_dj=racer.is_dj,
            created_at=racer.created_at,
        )


@dataclass(frozen=True)
class EntryView:
    """A racer in a lobby or race: their own report, and the result once final."""

    racer: RacerCard
    joined_at: datetime
    reported_position: int | None
    reported_dnf: bool
    reported_at: datetime | None
    position: int | None
    dnf: bool
    points: int | None

    @property
    def has_reported(self) -> bool:
        return self.reported_at is not None

    @classmethod
    def of(cls, entry: RaceEntry, racer: Racer) -> EntryView:
        return cls(
            racer=RacerCard.of(racer),
            joined_at=entry.joined_at,
            reported_position=entry.reported_position,
            reported_dnf=entry.reported_dnf,
            reported_at=entry.reported_at,
            position=entry.position,
            dnf=entry.dnf,
            points=entry.points,
        )


@dataclass(frozen=True)
class FixView:
    """An admin fix: who, when, old -> new, and why."""

    fix_id: int
    racer: RacerCard
    old_position: int | None
    old_dnf: bool
    new_position: int | None
    new_dnf: bool
    actor: RacerCard
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, fix: ResultFix, racer: Racer, actor: Racer) -> FixView:
        return cls(
            fix_id=fix.id,
            racer=RacerCard.of(racer),
            old_position=fix.old_position,
            old_dnf=fix.old_dnf,
            new_position=fix.new_position,
            new_dnf=fix.new_dnf,
            actor=RacerCard.of(actor),
            reason=fix.reason,
            created_at=fix.created_at,
        )


@dataclass(frozen=True)
class RaceView:
    """A lobby (status open) or a race, with its racers in display order.

    `dispute` says what conflicts while `disputed` is set.
    """

    race_id: int
    name: str
    status: str
    disputed: bool
    dispute: str | None
    season_id: int | None
    season_name: str | None
    host: RacerCard
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    finalized_at: datetime | None
    entries: tuple[EntryView, ...]
    fixes: tuple[FixView, ...] = ()

    @property
    def racers(self) -> tuple[RacerCard, ...]:
        return tuple(entry.racer for entry in self.entries)

    @property
    def racer_count(self) -> int:
        return len(self.entries)

    @property
    def is_live(self) -> bool:
        return self.status == RaceStatus.LIVE

    @property
    def is_final(self) -> bool:
        return self.status == RaceStatus.FINAL

    def entry_of(self, racer_id: int) -> EntryView | None:
        return next((entry for entry in self.entries if entry.racer.racer_id == racer_id), None)

    @classmethod
    def of(
        cls,
        race: Race,
        *,
        host: Racer,
        season: Season | None,
        entries: tuple[EntryView, ...],
        fixes: tuple[FixView, ...],
        dispute: str | None,
    ) -> RaceView:
        return cls(
            race_id=race.id,
            name=race.name,
            status=race.status,
            disputed=race.disputed,
            dispute=dispute if race.disputed else None,
            season_id=race.season_id,
            season_name=season.name if season else None,
            host=RacerCard.of(host),
            created_at=race.created_at,
            started_at=race.started_at,
            ended_at=race.ended_at,
            finalized_at=race.finalized_at,
            entries=entries,
            fixes=fixes,
        )


@dataclass(frozen=True)
class SeasonView:
    season_id: int
    name: str
    starts_on: date
    ends_on: date
    sponsor_name: str | None
    sponsor_logo_url: str | None
    sponsor_url: str | None
    points_table: PointsTable
    split_policy: str
    winner_bonus_bps: int
    status: str
    champion: RacerCard | None
    created_at: datetime
    activated_at: datetime | None
    closed_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.status == SeasonStatus.ACTIVE

    @property
    def is_closed(self) -> bool:
        return self.status == SeasonStatus.CLOSED

    @classmethod
    def of(cls, season: Season, champion: Racer | None) -> SeasonView:
        return cls(
            season_id=season.id,
            name=season.name,
            starts_on=season.starts_on,
            ends_on=season.ends_on,
            sponsor_name=season.sponsor_name,
            sponsor_logo_url=season.sponsor_logo_url,
            sponsor_url=season.sponsor_url,
            points_table=PointsTable.from_json(season.points_table),
            split_policy=season.split_policy,
            winner_bonus_bps=season.winner_bonus_bps,
            status=season.status,
            champion=RacerCard.of(champion) if champion else None,
            created_at=season.created_at,
            activated_at=season.activated_at,
            closed_at=season.closed_at,
        )


@dataclass(frozen=True, slots=True)
class StandingRow:
    """One line of the standings table.

    `average_finish` is over finished races (DNFs excluded), None without a finish.
    The racer's fields are flat (a season can have thousands of rows); `racer`
    gives them as a card.
    """

    rank: int
    racer_id: int
    display_name: str
    mkt_name: str | None
    avatar_url: str | None
    points: int
    wins: int
    races: int
    podiums: int
    finishes: int
    average_finish: float | None

    @property
    def racer(self) -> RacerCard:
        return RacerCard(self.racer_id, self.display_name, self.mkt_name, self.avatar_url)

    @property
    def name(self) -> str:
        return self.mkt_name or self.display_name


@dataclass(frozen=True)
class StandingsView:
    season: SeasonView
    rows: tuple[StandingRow, ...]
    racer_count: int

    @property
    def is_frozen(self) -> bool:
        return self.season.is_closed


@dataclass(frozen=True)
class ChartPoint:
    race_id: int
    race_name: str
    started_at: datetime
    points_total: int


@dataclass(frozen=True)
class ChartSeries:
    """A racer's points after each of their races in a season."""

    racer: RacerCard
    points: tuple[ChartPoint, ...]


@dataclass(frozen=True)
class SeasonStats:
    season_id: int
    season_name: str
    season_status: str
    rank: int
    points: int
    wins: int
    races: int
    podiums: int
    average_finish: float | None


@dataclass(frozen=True)
class CareerStats:
    races: int
    wins: int
    podiums: int
    points: int
    average_finish: float | None


@dataclass(frozen=True)
class HistoryLine:
    race_id: int
    race_name: str
    season_id: int | None
    season_name: str | None
    status: str
    started_at: datetime | None
    racer_count: int
    position: int | None
    dnf: bool
    points: int | None


@dataclass(frozen=True)
class Trophy:
    """A top-3 finish of a closed season (rank 1 is the championship)."""

    season_id: int
    season_name: str
    rank: int
    sponsor_name: str | None
    closed_at: datetime | None

    @property
    def is_champion(self) -> bool:
        return self.rank == 1


@dataclass(frozen=True)
class RacerProfile:
    racer: RacerCard
    created_at: datetime
    career: CareerStats
    seasons: tuple[SeasonStats, ...]
    history: tuple[HistoryLine, ...]
    trophies: tuple[Trophy, ...]

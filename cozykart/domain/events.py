"""What the league tells the ledger: facts about races, and events.

The league emits `RaceFinalized` exactly once per race and `ResultsCorrected`
for every admin fix of a final race, through `UnitOfWork.emit`, so the ledger's
reaction (distributing or correcting the race's pool) commits in the same
transaction as the change in the league.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cozykart.domain.league import RaceStatus


@dataclass(frozen=True)
class RaceResult:
    """One racer's outcome: a position 1..N, or DNF (position None, 0 points)."""

    racer_id: int
    position: int | None
    dnf: bool
    points: int


@dataclass(frozen=True)
class RaceWindow:
    """A race's commission window [started_at, ended_at); ended_at None while live."""

    race_id: int
    name: str
    season_id: int | None
    status: str
    started_at: datetime
    ended_at: datetime | None

    def contains(self, instant: datetime) -> bool:
        return self.started_at <= instant and (self.ended_at is None or instant < self.ended_at)


@dataclass(frozen=True)
class SplitRule:
    """How a season splits a race's pool: even, winner_bonus or by_points."""

    policy: str
    winner_bonus_bps: int


@dataclass(frozen=True)
class RaceOutcome:
    """Everything the ledger needs to split a race's pool."""

    race_id: int
    name: str
    season_id: int | None
    status: str
    racer_ids: tuple[int, ...]
    results: tuple[RaceResult, ...]
    split: SplitRule

    @property
    def is_final(self) -> bool:
        return self.status == RaceStatus.FINAL


@dataclass(frozen=True)
class RaceFinalized:
    outcome: RaceOutcome
    finalized_at: datetime


@dataclass(frozen=True)
class ResultsCorrected:
    """An admin fix changed a final race's results; `outcome` is after the fix."""

    outcome: RaceOutcome
    fix_ids: tuple[int, ...]
    reason: str
    corrected_at: datetime


@dataclass(frozen=True)
class RaceStarted:
    """A host started a race: it is live and its commission window opened at `started_at`."""

    race_id: int
    name: str
    season_id: int | None
    racer_ids: tuple[int, ...]
    started_at: datetime


@dataclass(frozen=True)
class SeasonCompleted:
    """An admin closed a season: its standings froze and `champion_racer_id` (if any) won it."""

    season_id: int
    name: str
    champion_racer_id: int | None
    closed_at: datetime


@dataclass(frozen=True)
class LobbyChanged:
    """A lobby opened, or a racer joined or left it (`change`: "opened", "joined" or "left")."""

    race_id: int
    name: str
    change: Literal["opened", "joined", "left"]
    racer_id: int  # the host who opened it, or the racer who joined or left
    changed_at: datetime


@dataclass(frozen=True)
class LobbyCancelled:
    """The host (or an admin) closed a lobby that never started."""

    race_id: int
    name: str
    cancelled_at: datetime


@dataclass(frozen=True)
class RaceEnded:
    """The host ended the live race: its window closed at `ended_at` (results may still be coming)."""

    race_id: int
    name: str
    ended_at: datetime


@dataclass(frozen=True)
class ResultReported:
    """A racer reported (or corrected) their own finish in a live or ended race."""

    race_id: int
    racer_id: int
    reported_at: datetime


@dataclass(frozen=True)
class SeasonActivated:
    """An admin made an upcoming season the active one: races started from now belong to it."""

    season_id: int
    name: str
    activated_at: datetime

"""League rules: lobbies, results, points and standings, in plain Python.

Nothing here touches a database or a framework; services feed these functions
plain values and store what they return. The errors are the refusals a racer,
host or admin can meet, each with a message that says what to do next; the
whole tree, theirs among the rest, is drawn in `cozykart.domain.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Final

from cozykart.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from cozykart.domain.money import BPS_PER_WHOLE

# --- limits -------------------------------------------------------------------

RACE_SIZE_MAX: Final = 8
RACE_SIZE_MIN: Final = 2
OPEN_LOBBY_COUNT_MAX: Final = 20
LOBBY_NAME_LENGTH_MAX: Final = 60
SEASON_NAME_LENGTH_MAX: Final = 80
URL_LENGTH_MAX: Final = 512
FIX_REASON_LENGTH_MAX: Final = 500
POINTS_PER_POSITION_MAX: Final = 1000
DEFAULT_POINTS_TABLE: Final[tuple[int, ...]] = (15, 12, 10, 8, 6, 4, 2, 1)
PODIUM_POSITION_MAX: Final = 3
WINNER_BONUS_BPS_DEFAULT: Final = 5000
SPLIT_POLICIES: Final = ("even", "winner_bonus", "by_points")
SPLIT_POLICY_DEFAULT: Final = "even"
DNF_WORDS: Final = frozenset({"dnf", "did not finish"})
LOBBIES_LISTED_MAX: Final = 5  # lobbies named when a command must say which


# --- race and season states ---------------------------------------------------


class RaceStatus(StrEnum):
    """A race's state, stored as its text: open -> live -> ended -> final (or cancelled)."""

    OPEN = "open"
    LIVE = "live"
    ENDED = "ended"
    FINAL = "final"
    CANCELLED = "cancelled"


class SeasonStatus(StrEnum):
    """A season's state, stored as its text: upcoming -> active -> closed."""

    UPCOMING = "upcoming"
    ACTIVE = "active"
    CLOSED = "closed"


# --- errors -------------------------------------------------------------------


class RaceNotFound(NotFound):
    def __init__(self, race_id: int) -> None:
        super().__init__(f"There is no race #{race_id}.")


class SeasonNotFound(NotFound):
    def __init__(self, season_id: int | None = None) -> None:
        super().__init__(f"There is no season #{season_id}." if season_id else "There is no season yet.")


class RacerNotFound(NotFound):
    def __init__(self, racer_id: int) -> None:
        super().__init__(f"There is no racer #{racer_id}.")


class NotTheHost(PermissionDenied):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"Only the host of {race_name!r} or an admin can do that.")


class NotAMember(PermissionDenied):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"You are not in {race_name!r}; only its racers can do that.")


class InvalidPosition(InvalidInput):
    def __init__(self, raw: object, racer_count: int) -> None:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            super().__init__(f"Choose a finishing position: 1 to {racer_count}, or DNF.")
            return
        super().__init__(
            f"{raw!r} is not a finishing position: give a whole number from 1 to {racer_count}, or DNF."
        )


class InvalidResults(InvalidInput):
    """A results table that is not a complete, valid finishing order."""


class InvalidLobbyName(InvalidInput):
    def __init__(self) -> None:
        super().__init__(f"Give the lobby a name of 1 to {LOBBY_NAME_LENGTH_MAX} characters.")


class InvalidPointsTable(InvalidInput):
    pass


class InvalidSplitPolicy(InvalidInput):
    pass


class InvalidSeason(InvalidInput):
    pass


class ReasonRequired(InvalidInput):
    def __init__(self) -> None:
        super().__init__(f"Say why the result is fixed (1 to {FIX_REASON_LENGTH_MAX} characters).")


class LobbyFull(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"{race_name!r} is full ({RACE_SIZE_MAX} racers); join another lobby or open one.")


class AlreadyInLobby(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"You are already in the open lobby {race_name!r}; leave it first.")


class TooManyOpenLobbies(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"There are already {OPEN_LOBBY_COUNT_MAX} open lobbies; join one or close one first."
        )


class LobbyNotOpen(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"{race_name!r} is no longer an open lobby; racers join and leave before it starts.")


class LobbyTooSmall(Conflict):
    def __init__(self, race_name: str, racer_count: int) -> None:
        super().__init__(f"{race_name!r} has {racer_count} racer(s); a race needs at least {RACE_SIZE_MIN}.")


class RaceAlreadyLive(Conflict):
    def __init__(self, live_race_name: str | None = None) -> None:
        which = f"{live_race_name!r} is" if live_race_name else "Another race is"
        super().__init__(f"{which} live right now; end it before starting another race.")


class RaceNotLive(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"{race_name!r} is not live, so it cannot be ended.")


class RaceNotStarted(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"{race_name!r} has not started yet; report your position after the race.")


class RaceStillLive(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"{race_name!r} is still live; end it before setting its results.")


class RaceAlreadyFinal(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(
            f"The results of {race_name!r} are final; an admin can still fix them with a reason."
        )


class RaceNotFinal(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(
            f"{race_name!r} is not final yet; set or confirm its results instead of fixing them."
        )


class RaceCancelled(Conflict):
    def __init__(self, race_name: str) -> None:
        super().__init__(f"{race_name!r} was cancelled.")


class SeasonAlreadyActive(Conflict):
    def __init__(self, season_name: str) -> None:
        super().__init__(f"{season_name!r} is the active season; close it before activating another.")


class SeasonNotActive(Conflict):
    def __init__(self, season_name: str) -> None:
        super().__init__(f"{season_name!r} is not the active season.")


class SeasonClosed(Conflict):
    def __init__(self, season_name: str) -> None:
        super().__init__(f"{season_name!r} is closed; its results and standings are frozen.")


class SeasonNameTaken(Conflict):
    def __init__(self, season_name: str) -> None:
        super().__init__(f"There is already a season called {season_name!r}; pick another name.")


class SeasonHasUnfinishedRaces(Conflict):
    def __init__(self, season_name: str, race_names: Sequence[str]) -> None:
        listed = ", ".join(repr(name) for name in race_names)
        super().__init__(
            f"{season_name!r} still has races without final results ({listed}); finish them first."
        )


class ReportsMissing(Conflict):
    """Confirming the reports as they stand would record racers who never reported as DNF."""

    def __init__(self, race_name: str, names: Sequence[str]) -> None:
        super().__init__(
            f"{len(names)} racer(s) of {race_name!r} have not reported ({', '.join(names)}): "
            "confirming now records them as DNF. Confirm again acknowledging that, or set the whole table."
        )


class NothingToFix(Conflict):
    def __init__(self) -> None:
        super().__init__("Those results are already what the fix asks for; nothing changed.")


class NotARacerYet(NotFound):
    def __init__(self) -> None:
        super().__init__("That Discord user is not a racer yet.")


# Refusals of a command that names no race: the league could not choose one for the racer.


class NoOpenLobby(Conflict):
    def __init__(self) -> None:
        super().__init__("No lobby is open. A host can open one with /lobby create name:.")


class WhichLobby(Conflict):
    def __init__(self, lobbies: Sequence[tuple[int, str]]) -> None:
        """`lobbies`: the open lobbies to choose from, as (race id, name)."""
        listed = ", ".join(f"#{race_id} {name}" for race_id, name in lobbies[:LOBBIES_LISTED_MAX])
        super().__init__(f"Several lobbies are open ({listed}); say which with the lobby: option.")


class NotInLobby(Conflict):
    def __init__(self) -> None:
        super().__init__("You are not in an open lobby.")


class NoLobbyToStart(Conflict):
    def __init__(self) -> None:
        super().__init__("You host no open lobby. Open one with /lobby create name:, or name it with lobby:.")


class NoLiveRace(Conflict):
    def __init__(self) -> None:
        super().__init__("No race is live right now.")


class NoRaceToReport(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "Could not save your result: you are in no race that is live or waiting for results. "
            "Is a race active?"
        )


# --- names and inputs ---------------------------------------------------------


def clean_lobby_name(raw: str) -> str:
    name = " ".join(str(raw or "").split())
    if not 1 <= len(name) <= LOBBY_NAME_LENGTH_MAX:
        raise InvalidLobbyName()
    return name


def clean_reason(raw: str) -> str:
    reason = " ".join(str(raw or "").split())
    if not 1 <= len(reason) <= FIX_REASON_LENGTH_MAX:
        raise ReasonRequired()
    return reason


@dataclass(frozen=True, order=True)
class Placing:
    """A racer's finish: a position 1..N, or DNF (position None)."""

    position: int | None

    @property
    def dnf(self) -> bool:
        return self.position is None

    def describe(self) -> str:
        return "DNF" if self.position is None else f"#{self.position}"


DNF: Final = Placing(None)


def parse_placing(raw: object, racer_count: int) -> Placing:
    """A position from what a racer typed: 1..racer_count, or "DNF".

    Booleans, fractions and words are refused; so is anything out of range.
    """
    assert 1 <= racer_count <= RACE_SIZE_MAX, racer_count
    if isinstance(raw, Placing):
        position = raw.position
        if position is None:
            return raw
    elif raw is None or isinstance(raw, bool):
        raise InvalidPosition(raw, racer_count)
    elif isinstance(raw, int):
        position = raw
    elif isinstance(raw, str):
        text = raw.strip().lower().lstrip("#")
        if text in DNF_WORDS:
            return DNF
        for suffix in ("st", "nd", "rd", "th"):
            if text.endswith(suffix) and text[: -len(suffix)].isdigit():
                text = text[: -len(suffix)]
        if not (text.isascii() and text.isdigit()):
            raise InvalidPosition(raw, racer_count)
        position = int(text)
    else:
        raise InvalidPosition(raw, racer_count)
    if not 1 <= position <= racer_count:
        raise InvalidPosition(raw, racer_count)
    return Placing(position)


# --- result resolution --------------------------------------------------------


class Resolution:
    INCOMPLETE = "incomplete"  # some racers have not reported; no conflict yet
    CONFIRMED = "confirmed"  # every racer reported and the reports form a valid order
    DISPUTED = "disputed"  # claims conflict (two racers claim one place, or a gap)


@dataclass(frozen=True)
class ReportsVerdict:
    resolution: str
    problem: str | None = None

    @property
    def is_confirmed(self) -> bool:
        return self.resolution == Resolution.CONFIRMED

    @property
    def is_disputed(self) -> bool:
        return self.resolution == Resolution.DISPUTED


def order_problem(placings: Mapping[int, Placing]) -> str | None:
    """Why `placings` (every racer of a race) is not a valid finishing order, or None.

    A valid order gives the F finishers the positions 1..F exactly once each;
    the others are DNF.
    """
    positions = sorted(p.position for p in placings.values() if p.position is not None)
    racer_count = len(placings)
    seen: set[int] = set()
    for position in positions:
        if position in seen:
            return f"two racers claim #{position}"
        seen.add(position)
    if positions and positions[-1] > racer_count:
        return f"#{positions[-1]} is beyond the {racer_count} racers"
    expected = list(range(1, len(positions) + 1))
    if positions != expected:
        missing = min(set(expected) - seen)
        return f"nobody finished #{missing}"
    return None


def judge_reports(racer_ids: Iterable[int], reports: Mapping[int, Placing | None]) -> ReportsVerdict:
    """Resolve racers' own reports: confirmed when complete and valid, disputed on conflict.

    A conflict is visible before everyone has reported (two racers claim the same
    place); a gap (nobody claims #2) only once every report is in.
    """
    racer_ids = tuple(racer_ids)
    given = {racer_id: reports[racer_id] for racer_id in racer_ids if reports.get(racer_id) is not None}
    claimed: set[int] = set()
    for placing in given.values():
        assert placing is not None
        if placing.position is None:
            continue
        if placing.position in claimed:
            return ReportsVerdict(Resolution.DISPUTED, f"two racers claim #{placing.position}")
        claimed.add(placing.position)
    if len(given) < len(racer_ids):
        return ReportsVerdict(Resolution.INCOMPLETE)
    problem = order_problem(given)  # type: ignore[arg-type]
    if problem is not None:
        return ReportsVerdict(Resolution.DISPUTED, problem)
    return ReportsVerdict(Resolution.CONFIRMED)


def require_valid_order(placings: Mapping[int, Placing]) -> None:
    problem = order_problem(placings)
    if problem is not None:
        raise InvalidResults(
            f"Those results are not a finishing order: {problem}. Fix the table and try again."
        )


# --- points tables ------------------------------------------------------------


@dataclass(frozen=True)
class PointsTable:
    """Points by finishing position; a table per race size, `default` for the rest.

    A position beyond its table's length, and a DNF, score 0.
    """

    default: tuple[int, ...] = DEFAULT_POINTS_TABLE
    by_size: tuple[tuple[int, tuple[int, ...]], ...] = ()

    def __post_init__(self) -> None:
        for size, row in ((0, self.default), *self.by_size):
            _check_points_row(row, size)

    def row_for(self, racer_count: int) -> tuple[int, ...]:
        for size, row in self.by_size:
            if size == racer_count:
                return row
        return self.default

    def points_for(self, placing: Placing, racer_count: int) -> int:
        if placing.position is None:
            return 0
        assert 1 <= placing.position <= racer_count, (placing, racer_count)
        row = self.row_for(racer_count)
        return row[placing.position - 1] if placing.position <= len(row) else 0

    def to_json(self) -> str:
        data: dict[str, list[int]] = {"default": list(self.default)}
        for size, row in self.by_size:
            data[str(size)] = list(row)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PointsTable:
        return cls.build(json.loads(text))

    @classmethod
    def build(cls, raw: Mapping[object, Sequence[int]] | Sequence[int] | None) -> PointsTable:
        """From {"default": [...], "4": [...]} or a plain list (the default row)."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            return cls(default=_points_row(raw, 0))
        default = DEFAULT_POINTS_TABLE
        by_size: list[tuple[int, tuple[int, ...]]] = []
        for key, row in raw.items():
            if str(key) == "default":
                default = _points_row(row, 0)
                continue
            try:
                size = int(str(key))
            except ValueError:
                raise InvalidPointsTable(
                    f"Points table rows are keyed by race size (1..{RACE_SIZE_MAX}) or 'default', not {key!r}."
                ) from None
            if not 1 <= size <= RACE_SIZE_MAX:
                raise InvalidPointsTable(f"A race has 1 to {RACE_SIZE_MAX} racers; there is no size {size}.")
            by_size.append((size, _points_row(row, size)))
        return cls(default=default, by_size=tuple(sorted(by_size)))


def _points_row(row: object, size: int) -> tuple[int, ...]:
    if isinstance(row, str) or not isinstance(row, Sequence):
        raise InvalidPointsTable("A points row is a list of whole numbers, best position first.")
    values = tuple(row)
    _check_points_row(values, size)
    return values


def _check_points_row(row: tuple[int, ...], size: int) -> None:
    length_max = size or RACE_SIZE_MAX
    label = f"the {size}-racer row" if size else "the default row"
    if not 1 <= len(row) <= length_max:
        raise InvalidPointsTable(f"{label} needs 1 to {length_max} values, got {len(row)}.")
    for value in row:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= POINTS_PER_POSITION_MAX:
            raise InvalidPointsTable(
                f"{label}: points are whole numbers from 0 to {POINTS_PER_POSITION_MAX}."
            )
    if any(better < worse for better, worse in pairwise(row)):
        raise InvalidPointsTable(f"{label}: a better position never scores fewer points than a worse one.")


def check_split_policy(policy: str, winner_bonus_bps: int) -> None:
    if policy not in SPLIT_POLICIES:
        raise InvalidSplitPolicy(f"Split policy must be one of {', '.join(SPLIT_POLICIES)}; got {policy!r}.")
    if isinstance(winner_bonus_bps, bool) or not 0 <= winner_bonus_bps <= BPS_PER_WHOLE:
        raise InvalidSplitPolicy("The winner's bonus is 0 to 10000 basis points (0% to 100%) of the pool.")


def split_policy_words(policy: str, winner_bonus_bps: int) -> str:
    """A season's split policy as a fan reads it on a race's receipt (the rule of `ledger.split_weights`)."""
    if policy == "winner_bonus":
        whole, hundredths = divmod(winner_bonus_bps, 100)
        return (
            f"Winner's bonus: the winner takes {whole}.{hundredths:02d}% of the pot and the other racers "
            "share the rest evenly (evenly for all when there is no single winner)."
        )
    if policy == "by_points":
        return (
            "By points: each racer's share is in proportion to the league points they scored in the race "
            "(evenly when nobody scored)."
        )
    return "Even: the pot is shared equally among the race's racers."


# --- standings ----------------------------------------------------------------


@dataclass(frozen=True)
class ResultLine:
    """One racer's result in one final race, as standings see it."""

    racer_id: int
    race_id: int
    race_started_at: datetime
    position: int | None
    points: int

    @property
    def chronology(self) -> tuple[datetime, int]:
        """When the race happened; races are ordered by start, then id."""
        return (self.race_started_at, self.race_id)


@dataclass(frozen=True)
class RacerTally:
    """A racer's season so far: what the standings table stores per racer.

    `reached_*` names the race after which the racer's points first equalled
    their total (the last race that scored, or their first race when none did):
    the final tie-break, earlier is better.
    """

    racer_id: int
    points: int
    wins: int
    podiums: int
    races: int
    finishes: int
    position_sum: int
    reached_started_at: datetime
    reached_race_id: int

    def __post_init__(self) -> None:
        assert self.races >= 1 and 0 <= self.finishes <= self.races
        assert 0 <= self.wins <= self.podiums <= self.finishes
        assert self.points >= 0 and self.position_sum >= self.finishes

    @property
    def average_finish(self) -> Fraction | None:
        """Mean position over finished races (DNFs excluded); None with no finish."""
        return Fraction(self.position_sum, self.finishes) if self.finishes else None


def tally(racer_id: int, lines: Iterable[ResultLine]) -> RacerTally | None:
    """Fold one racer's results into a tally; None when they have no results."""
    ordered = sorted((line for line in lines if line.racer_id == racer_id), key=lambda line: line.chronology)
    if not ordered:
        return None
    points = wins = podiums = finishes = position_sum = 0
    reached = ordered[0]
    for line in ordered:
        assert line.points >= 0
        points += line.points
        if line.points > 0:
            reached = line
        if line.position is not None:
            finishes += 1
            position_sum += line.position
            wins += line.position == 1
            podiums += line.position <= PODIUM_POSITION_MAX
    return RacerTally(
        racer_id=racer_id,
        points=points,
        wins=wins,
        podiums=podiums,
        races=len(ordered),
        finishes=finishes,
        position_sum=position_sum,
        reached_started_at=reached.race_started_at,
        reached_race_id=reached.race_id,
    )


def standing_key(row: RacerTally) -> tuple:
    """Sort key, best first: points, wins, average finish (lower; none is worst),
    who reached their total first, then racer id so the order is total."""
    average = row.average_finish
    return (
        -row.points,
        -row.wins,
        average is None,
        average if average is not None else 0,
        row.reached_started_at,
        row.reached_race_id,
        row.racer_id,
    )


def compute_standings(lines: Iterable[ResultLine]) -> list[RacerTally]:
    """The full recomputation: every racer's tally, ordered best first."""
    by_racer: dict[int, list[ResultLine]] = {}
    for line in lines:
        by_racer.setdefault(line.racer_id, []).append(line)
    rows = [tally(racer_id, racer_lines) for racer_id, racer_lines in by_racer.items()]
    return sorted((row for row in rows if row is not None), key=standing_key)


def points_progression(lines: Iterable[ResultLine]) -> list[tuple[ResultLine, int]]:
    """Each result with the racer's points total after it, in race order (for a chart)."""
    total = 0
    progression = []
    for line in sorted(lines, key=lambda line: line.chronology):
        total += line.points
        progression.append((line, total))
    return progression

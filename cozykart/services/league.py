"""League use cases: racers, lobbies, the live race window, results and fixes.

Each function is one unit of work: it loads the acting racer itself (roles come
from the database and the settings, never from the caller), applies the rules of
`cozykart.domain.league`, commits once, and returns a frozen view.

Rows a decision depends on are locked first (`FOR UPDATE` on PostgreSQL; SQLite
transactions are BEGIN IMMEDIATE and so already one at a time), so two racers
reporting at the same instant, or two hosts starting races, are decided in turn:
a race becomes final exactly once, and at most one race is live (the partial
unique index `ux_race_one_live` backs that up). Locks are always taken in the
order race, season, racers, so two league transactions never deadlock.

What is read, locked and written goes through the league repository
(`uow.league`, `cozykart/db/repositories/league.py`), whose methods take the
locks in that order; this module holds no SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain import league
from cozykart.domain.errors import InvalidInput
from cozykart.domain.events import (
    LobbyCancelled,
    LobbyChanged,
    RaceEnded,
    RaceFinalized,
    RaceStarted,
    ResultReported,
    ResultsCorrected,
)
from cozykart.domain.identity import AVATAR_URL_LENGTH_MAX, DISCORD_ID_LENGTH_MAX, DISCORD_NAME_LENGTH_MAX
from cozykart.domain.league import (
    DNF,
    AlreadyInLobby,
    InvalidResults,
    LobbyFull,
    LobbyNotOpen,
    LobbyTooSmall,
    NoLiveRace,
    NoLobbyToStart,
    NoOpenLobby,
    NoRaceToReport,
    NotAMember,
    NotARacerYet,
    NothingToFix,
    NotInLobby,
    NotTheHost,
    Placing,
    PointsTable,
    RaceAlreadyFinal,
    RaceAlreadyLive,
    RaceCancelled,
    RaceNotFinal,
    RaceNotFound,
    RaceNotLive,
    RaceNotStarted,
    RaceStatus,
    RaceStillLive,
    ReportsMissing,
    SeasonClosed,
    SeasonStatus,
    WhichLobby,
)
from cozykart.services.actors import Actor, load_actor, require_admin, require_host
from cozykart.services.reads.league_views import EntryView, FixView, RacerView, RaceView

RACE_LIST_LENGTH_MAX = 200
DEFAULT_SEASON_LENGTH = timedelta(days=90)
DEFAULT_SEASON_NAME_TRIES_MAX = 100

# Rows of the league repository (`uow.league`): services read and set their
# attributes and hand them back to it; they never import the tables.
Race = Any
RaceEntry = Any
Racer = Any
Season = Any


# --- racers -------------------------------------------------------------------


def get_or_create_racer(
    discord_id: str,
    username: str,
    display_name: str,
    avatar_url: str | None = None,
    *,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> RacerView:
    """The racer for a Discord user, created on first login or slash command.

    Later calls refresh the Discord username, display name and avatar (the
    Mario Kart Tour name is the racer's own and is kept).
    """
    discord_id = str(discord_id or "").strip()
    if not (discord_id and len(discord_id) <= DISCORD_ID_LENGTH_MAX):
        raise InvalidInput("A Discord user id is needed to become a racer.")
    username = (str(username or "").strip() or discord_id)[:DISCORD_NAME_LENGTH_MAX]
    display_name = (str(display_name or "").strip() or username)[:DISCORD_NAME_LENGTH_MAX]
    if avatar_url is not None and len(avatar_url) > AVATAR_URL_LENGTH_MAX:
        avatar_url = None
    with uow:
        racer = uow.league.upsert_racer(
            discord_id=discord_id,
            username=username,
            display_name=display_name,
            avatar_url=avatar_url,
            now=now or utc_now(),
        )
        view = RacerView.of(racer)
        uow.commit()
    return view


# --- lobbies and the live window ------------------------------------------------


def open_lobby(name: str, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> RaceView:
    """A host (or admin) opens a lobby racers can join."""
    now = now or utc_now()
    name = league.clean_lobby_name(name)
    with uow:
        actor = load_actor(uow, actor_id)
        require_host(actor)
        if uow.league.open_lobby_count() >= league.OPEN_LOBBY_COUNT_MAX:
            raise league.TooManyOpenLobbies()
        race = uow.league.add_lobby(name=name, host_racer_id=actor.racer_id, created_at=now)
        view = race_view(uow, race)
        uow.emit(
            LobbyChanged(
                race_id=race.id, name=race.name, change="opened", racer_id=actor.racer_id, changed_at=now
            )
        )
        uow.commit()
    return view


def join_lobby(race_id: int, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> RaceView:
    """The acting racer joins an open lobby (at most 8; one open lobby per racer)."""
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        view = _join(uow, actor, _race_for_update(uow, race_id), now)
        uow.commit()
    return view


def join_chosen_lobby(
    lobby_id: int | None, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> RaceView:
    """`/join [lobby:]`: the lobby named, else the only open one, chosen and joined in one transaction.

    No open lobby: `NoOpenLobby`; several and none named: `WhichLobby`.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        if lobby_id is None:
            lobby_id = _the_one_lobby(uow.league.open_lobbies(), none=NoOpenLobby).id
        view = _join(uow, actor, _race_for_update(uow, lobby_id), now)
        uow.commit()
    return view


def _join(uow: UnitOfWork, actor: Actor, race: Race, now: datetime) -> RaceView:
    uow.league.racers_for_update([actor.racer_id])
    if race.status == RaceStatus.CANCELLED:
        raise RaceCancelled(race.name)
    if race.status != RaceStatus.OPEN:
        raise LobbyNotOpen(race.name)
    current = uow.league.open_lobby_of(actor.racer_id)
    if current is not None:
        raise AlreadyInLobby(current.name)
    if len(uow.league.entries(race.id)) >= league.RACE_SIZE_MAX:
        raise LobbyFull(race.name)
    uow.league.add_entry(race_id=race.id, racer_id=actor.racer_id, joined_at=now)
    assert len(uow.league.entries(race.id)) <= league.RACE_SIZE_MAX
    uow.emit(
        LobbyChanged(
            race_id=race.id, name=race.name, change="joined", racer_id=actor.racer_id, changed_at=now
        )
    )
    return race_view(uow, race)


def leave_lobby(race_id: int, *, actor_id: int, uow: UnitOfWork) -> RaceView:
    """The acting racer leaves a lobby before it starts."""
    with uow:
        actor = load_actor(uow, actor_id)
        view = _leave(uow, actor, _race_for_update(uow, race_id))
        uow.commit()
    return view


def leave_current_lobby(*, actor_id: int, uow: UnitOfWork) -> RaceView:
    """`/leave`: the acting racer leaves the open lobby they are in (`NotInLobby` if none), in one transaction."""
    with uow:
        actor = load_actor(uow, actor_id)
        lobby = uow.league.open_lobby_of(actor.racer_id)
        if lobby is None:
            raise NotInLobby()
        view = _leave(uow, actor, _race_for_update(uow, lobby.id))
        uow.commit()
    return view


def _leave(uow: UnitOfWork, actor: Actor, race: Race) -> RaceView:
    if race.status != RaceStatus.OPEN:
        raise LobbyNotOpen(race.name)
    entry = uow.league.entry_of(race.id, actor.racer_id)
    if entry is None:
        raise NotAMember(race.name)
    uow.league.remove_entry(entry)
    uow.emit(
        LobbyChanged(
            race_id=race.id, name=race.name, change="left", racer_id=actor.racer_id, changed_at=utc_now()
        )
    )
    return race_view(uow, race)


def cancel_lobby(race_id: int, *, actor_id: int, uow: UnitOfWork) -> RaceView:
    """The host (or an admin) closes a lobby that never started."""
    with uow:
        actor = load_actor(uow, actor_id)
        race = _race_for_update(uow, race_id)
        _require_race_host(actor, race)
        if race.status != RaceStatus.OPEN:
            raise LobbyNotOpen(race.name)
        race.status = RaceStatus.CANCELLED
        uow.league.save(race)
        view = race_view(uow, race)
        uow.emit(LobbyCancelled(race_id=race.id, name=race.name, cancelled_at=utc_now()))
        uow.commit()
    return view


def start_race(race_id: int, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> RaceView:
    """The host starts the lobby: the race is live and its window opens now.

    At most one race is live. When no season is active, a default one opens
    (default points table, even split) and the race belongs to it.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        view = _start(uow, actor, _race_for_update(uow, race_id), now)
        uow.commit()
    return view


def start_hosted_race(
    lobby_id: int | None, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> RaceView:
    """`/start [lobby:]`: the lobby named, else the one open lobby the actor hosts, chosen and started at once.

    The actor hosts no open lobby: `NoLobbyToStart`; several and none named: `WhichLobby`.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        if lobby_id is None:
            hosted = [lobby for lobby in uow.league.open_lobbies() if lobby.host_racer_id == actor.racer_id]
            lobby_id = _the_one_lobby(hosted, none=NoLobbyToStart).id
        view = _start(uow, actor, _race_for_update(uow, lobby_id), now)
        uow.commit()
    return view


def _start(uow: UnitOfWork, actor: Actor, race: Race, now: datetime) -> RaceView:
    _require_race_host(actor, race)
    if race.status == RaceStatus.CANCELLED:
        raise RaceCancelled(race.name)
    if race.status == RaceStatus.LIVE:
        raise RaceAlreadyLive(race.name)
    if race.status != RaceStatus.OPEN:
        raise LobbyNotOpen(race.name)
    live = uow.league.live_race()
    if live is not None:
        raise RaceAlreadyLive(live.name)
    racer_count = len(uow.league.entries(race.id))
    if racer_count < league.RACE_SIZE_MIN:
        raise LobbyTooSmall(race.name, racer_count)
    # Windows never overlap: a race cannot start before the last one ended.
    last_ended_at = uow.league.last_ended_at()
    race.status = RaceStatus.LIVE
    race.started_at = max(now, last_ended_at) if last_ended_at is not None else now
    if not uow.league.save_live(race):
        # Another race went live between our check and our write.
        raise RaceAlreadyLive()
    race.season_id = _active_season_or_default(uow, now).id
    uow.league.save(race)
    view = race_view(uow, race)
    uow.emit(
        RaceStarted(
            race_id=race.id,
            name=race.name,
            season_id=race.season_id,
            racer_ids=tuple(entry.racer.racer_id for entry in view.entries),
            started_at=race.started_at,
        )
    )
    return view


def end_race(race_id: int, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> RaceView:
    """The host ends the live race: its window closes now.

    If every racer has already reported a valid order, the race is final at once.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        view = _end(uow, actor, _race_for_update(uow, race_id), now)
        uow.commit()
    return view


def end_live_race(*, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> RaceView:
    """`/end`: the race live now (`NoLiveRace` if none) ends, found and ended in one transaction."""
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        live = uow.league.live_race()
        if live is None:
            raise NoLiveRace()
        view = _end(uow, actor, _race_for_update(uow, live.id), now)
        uow.commit()
    return view


def _end(uow: UnitOfWork, actor: Actor, race: Race, now: datetime) -> RaceView:
    _require_race_host(actor, race)
    if race.status != RaceStatus.LIVE:
        raise RaceNotLive(race.name)
    assert race.started_at is not None
    race.status = RaceStatus.ENDED
    race.ended_at = max(now, race.started_at)
    uow.league.save(race)
    uow.emit(RaceEnded(race_id=race.id, name=race.name, ended_at=race.ended_at))
    _settle_reports(uow, race, now)
    return race_view(uow, race)


# --- results --------------------------------------------------------------------


def report_result(
    race_id: int, position: int | str, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> RaceView:
    """A racer reports (or corrects) their own finishing position, 1..N or "DNF".

    Reports are taken once the race has started. After it ended, a complete and
    valid set of reports makes the race final; conflicting claims mark it
    disputed until the racers correct them or the host rules.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        view = _report(uow, actor, _race_for_update(uow, race_id), position, now)
        uow.commit()
    return view


def report_for_unfinished_race(
    position: int | str, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> RaceView:
    """`/result position:`: the report goes to the racer's newest live or ended race, in one transaction.

    The racer is in no such race: `NoRaceToReport`.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        race = uow.league.unfinished_race_of(actor.racer_id)
        if race is None:
            raise NoRaceToReport()
        view = _report(uow, actor, _race_for_update(uow, race.id), position, now)
        uow.commit()
    return view


def _report(uow: UnitOfWork, actor: Actor, race: Race, position: int | str, now: datetime) -> RaceView:
    _require_reportable(race)
    entries = uow.league.entries(race.id)
    entry = next((e for e in entries if e.racer_id == actor.racer_id), None)
    if entry is None:
        raise NotAMember(race.name)
    placing = league.parse_placing(position, len(entries))
    entry.reported_position = placing.position
    entry.reported_dnf = placing.dnf
    entry.reported_at = now
    uow.league.save(entry)
    uow.emit(ResultReported(race_id=race.id, racer_id=actor.racer_id, reported_at=now))
    _settle_reports(uow, race, now)
    return race_view(uow, race)


def set_results(
    race_id: int,
    results: Mapping[int, int | str | Placing],
    *,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> RaceView:
    """The host (or an admin) sets the whole table, racer id -> position or "DNF"; final at once.

    This is also how a dispute is ruled.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        race = _race_for_update(uow, race_id)
        _require_race_host(actor, race)
        _require_rulable(race)
        entries = uow.league.entries(race.id)
        placings = _parse_table(race, entries, results)
        league.require_valid_order(placings)
        _finalize(uow, race, entries, placings, now)
        view = race_view(uow, race)
        uow.commit()
    return view


def confirm_results(
    race_id: int,
    *,
    actor_id: int,
    uow: UnitOfWork,
    missing_acknowledged: bool = False,
    now: datetime | None = None,
) -> RaceView:
    """The host (or an admin) accepts the racers' reports as they stand; final at once.

    A racer who has not reported is recorded as DNF, and only when the caller
    says the host acknowledged it (`missing_acknowledged`): otherwise
    `ReportsMissing` names them and nothing changes. Refused when the reports
    conflict: then the host sets the whole table.
    """
    now = now or utc_now()
    with uow:
        actor = load_actor(uow, actor_id)
        race = _race_for_update(uow, race_id)
        _require_race_host(actor, race)
        _require_rulable(race)
        entries = uow.league.entries(race.id)
        placings = {entry.racer_id: _reported(entry) or DNF for entry in entries}
        problem = league.order_problem(placings)
        if problem is not None:
            raise InvalidResults(
                f"The reports conflict ({problem}); set the whole results table to rule on them."
            )
        if not missing_acknowledged:
            _require_all_reported(uow, race, entries)
        _finalize(uow, race, entries, placings, now)
        view = race_view(uow, race)
        uow.commit()
    return view


def fix_results(
    race_id: int,
    changes: Mapping[int, int | str | Placing],
    *,
    reason: str,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> RaceView:
    """An admin changes results of a final race, racer id -> position or "DNF".

    The table after the change must be a valid order. Each changed result keeps
    a ResultFix (old -> new, who, when, why); the standings follow; the ledger
    hears `ResultsCorrected`.
    """
    now = now or utc_now()
    reason = league.clean_reason(reason)
    with uow:
        actor = load_actor(uow, actor_id)
        require_admin(actor)
        race = _race_for_update(uow, race_id)
        entries = _require_fixable(uow, race)
        placings = {entry.racer_id: _result(entry) for entry in entries}
        placings.update(_parse_table(race, entries, changes, partial=True))
        league.require_valid_order(placings)
        _apply_fix(uow, race, entries, placings, actor=actor, reason=reason, now=now)
        view = race_view(uow, race)
        uow.commit()
    return view


def admin_fix_result(
    race_id: int,
    racer_id: int,
    position: int | str | Placing,
    *,
    reason: str,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> RaceView:
    """An admin moves one racer to a position (or DNF) in a final race.

    The finishing order is a list: the racer is taken out and put back at the
    new place, so the racers between shift by one (and each of them gets a fix
    row too). This is the `/admin-fix race: user: position: reason:` command.
    """
    now = now or utc_now()
    reason = league.clean_reason(reason)
    with uow:
        actor = load_actor(uow, actor_id)
        require_admin(actor)
        view = _admin_fix(uow, actor, race_id, racer_id, position, reason=reason, now=now)
        uow.commit()
    return view


def admin_fix_discord_result(
    race_id: int,
    racer_discord_id: str,
    position: int | str | Placing,
    *,
    reason: str,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> tuple[RaceView, int]:
    """`/admin-fix race: user: position: reason:`: `admin_fix_result` for the racer a Discord user is.

    The user never used Cozy-Kart: `NotARacerYet`. Found and fixed in one
    transaction; returns the race after the fix and the racer's id.
    """
    now = now or utc_now()
    reason = league.clean_reason(reason)
    with uow:
        actor = load_actor(uow, actor_id)
        require_admin(actor)
        racer = uow.league.racer_by_discord_id(racer_discord_id)
        if racer is None:
            raise NotARacerYet()
        assert racer.id is not None
        view = _admin_fix(uow, actor, race_id, racer.id, position, reason=reason, now=now)
        uow.commit()
    return view, racer.id


def _admin_fix(
    uow: UnitOfWork,
    actor: Actor,
    race_id: int,
    racer_id: int,
    position: int | str | Placing,
    *,
    reason: str,
    now: datetime,
) -> RaceView:
    """Move one racer in a final race: out of the finishing order and back in at the new place."""
    race = _race_for_update(uow, race_id)
    entries = _require_fixable(uow, race)
    if not any(entry.racer_id == racer_id for entry in entries):
        raise InvalidResults(f"Racer #{racer_id} did not race in {race.name!r}.")
    target = league.parse_placing(position, len(entries))
    order = sorted(
        (entry for entry in entries if entry.position is not None and entry.racer_id != racer_id),
        key=lambda entry: entry.position,
    )
    finisher_ids = [entry.racer_id for entry in order]
    if target.position is not None:
        if target.position > len(finisher_ids) + 1:
            raise InvalidResults(
                f"Only {len(finisher_ids)} other racer(s) finished; "
                f"pick a position from 1 to {len(finisher_ids) + 1} or DNF."
            )
        finisher_ids.insert(target.position - 1, racer_id)
    placings = {entry.racer_id: DNF for entry in entries}
    placings.update({rid: Placing(index) for index, rid in enumerate(finisher_ids, start=1)})
    league.require_valid_order(placings)
    _apply_fix(uow, race, entries, placings, actor=actor, reason=reason, now=now)
    return race_view(uow, race)


# --- reads ----------------------------------------------------------------------


def list_open_lobbies(*, uow: UnitOfWork) -> tuple[RaceView, ...]:
    """Open lobbies with their members, oldest first."""
    with uow:
        return race_views(uow, uow.league.open_lobbies())


def current_race(*, uow: UnitOfWork) -> RaceView | None:
    """The live race with its racers, or None."""
    with uow:
        race = uow.league.live_race()
        return race_view(uow, race) if race is not None else None


def get_race(race_id: int, *, uow: UnitOfWork) -> RaceView:
    """One race (or lobby) with its racers, reports, results and fixes."""
    with uow:
        race = uow.league.race(race_id)
        if race is None:
            raise RaceNotFound(race_id)
        return race_view(uow, race)


def list_races(
    *, uow: UnitOfWork, statuses: Sequence[str] | None = None, season_id: int | None = None, limit: int = 50
) -> tuple[RaceView, ...]:
    """Races newest first, optionally of some statuses or one season (admin results page)."""
    limit = max(1, min(limit, RACE_LIST_LENGTH_MAX))
    with uow:
        return race_views(uow, uow.league.races(statuses=statuses, season_id=season_id, limit=limit))


def racer_lobby(racer_id: int, *, uow: UnitOfWork) -> RaceView | None:
    """The open lobby the racer is in, if any."""
    with uow:
        race = uow.league.open_lobby_of(racer_id)
        return race_view(uow, race) if race is not None else None


def racer_unfinished_race(racer_id: int, *, uow: UnitOfWork) -> RaceView | None:
    """The newest live or ended (not yet final) race the racer is in: where `/result` reports."""
    with uow:
        race = uow.league.unfinished_race_of(racer_id)
        return race_view(uow, race) if race is not None else None


def hosted_race(host_id: int, *, uow: UnitOfWork) -> RaceView | None:
    """The host's newest race that still needs them (open, live or ended): what `/start` and `/end` act on."""
    with uow:
        race = uow.league.hosted_unfinished_race(host_id)
        return race_view(uow, race) if race is not None else None


# --- views ----------------------------------------------------------------------


def race_view(uow: UnitOfWork, race: Race) -> RaceView:
    return race_views(uow, [race])[0]


def race_views(uow: UnitOfWork, races: Sequence[Race]) -> tuple[RaceView, ...]:
    """Views of several races with a few queries, whatever their number."""
    if not races:
        return ()
    rows = uow.league.race_view_rows(races)
    people = rows.people
    views = []
    for race in races:
        pairs = sorted(rows.entries_by_race.get(race.id, []), key=_display_order)
        dispute = None
        if race.disputed:
            verdict = league.judge_reports(
                [entry.racer_id for entry, _ in pairs],
                {entry.racer_id: _reported(entry) for entry, _ in pairs},
            )
            dispute = verdict.problem
        views.append(
            RaceView.of(
                race,
                host=people[race.host_racer_id],
                season=rows.seasons.get(race.season_id) if race.season_id is not None else None,
                entries=tuple(EntryView.of(entry, racer) for entry, racer in pairs),
                fixes=tuple(
                    FixView.of(fix, people[fix.racer_id], people[fix.actor_racer_id])
                    for fix in rows.fixes_by_race.get(race.id, [])
                ),
                dispute=dispute,
            )
        )
    return tuple(views)


def _display_order(pair: tuple[RaceEntry, Racer]) -> tuple:
    entry, _ = pair
    # Final results first by position, DNFs after; before that, by arrival.
    return (entry.position is None, entry.position or 0, entry.dnf, entry.joined_at, entry.id)


# --- internals ------------------------------------------------------------------


def _race_for_update(uow: UnitOfWork, race_id: int) -> Race:
    race = uow.league.race_for_update(race_id)
    if race is None:
        raise RaceNotFound(race_id)
    return race


def _the_one_lobby(lobbies: Sequence[Race], *, none: type[NoOpenLobby] | type[NoLobbyToStart]) -> Race:
    """The only lobby of `lobbies`; none raises `none()`, several raise `WhichLobby` (the command must say)."""
    if not lobbies:
        raise none()
    if len(lobbies) > 1:
        raise WhichLobby([(lobby.id, lobby.name) for lobby in lobbies])
    return lobbies[0]


def _require_race_host(actor: Actor, race: Race) -> None:
    if actor.is_admin or (actor.may_host and race.host_racer_id == actor.racer_id):
        return
    raise NotTheHost(race.name)


def _require_reportable(race: Race) -> None:
    if race.status == RaceStatus.OPEN:
        raise RaceNotStarted(race.name)
    if race.status == RaceStatus.CANCELLED:
        raise RaceCancelled(race.name)
    if race.status == RaceStatus.FINAL:
        raise RaceAlreadyFinal(race.name)
    assert race.status in (RaceStatus.LIVE, RaceStatus.ENDED), race.status


def _require_rulable(race: Race) -> None:
    _require_reportable(race)
    if race.status == RaceStatus.LIVE:
        raise RaceStillLive(race.name)


def _require_fixable(uow: UnitOfWork, race: Race) -> list[RaceEntry]:
    if race.status == RaceStatus.CANCELLED:
        raise RaceCancelled(race.name)
    if race.status != RaceStatus.FINAL:
        raise RaceNotFinal(race.name)
    assert race.season_id is not None
    # Locked, so a season being closed at this instant is seen closed (or waits for the fix).
    season = uow.seasons.season_for_update(race.season_id)
    assert season is not None
    if season.status == SeasonStatus.CLOSED:
        raise SeasonClosed(season.name)
    return uow.league.entries(race.id)


def _require_all_reported(uow: UnitOfWork, race: Race, entries: Sequence[RaceEntry]) -> None:
    if all(entry.reported_at is not None for entry in entries):
        return
    view = race_view(uow, race)
    raise ReportsMissing(race.name, [entry.racer.name for entry in view.entries if not entry.has_reported])


def _reported(entry: RaceEntry) -> Placing | None:
    if entry.reported_at is None:
        return None
    assert entry.reported_dnf == (entry.reported_position is None)
    return DNF if entry.reported_dnf else Placing(entry.reported_position)


def _result(entry: RaceEntry) -> Placing:
    assert entry.dnf == (entry.position is None)
    return DNF if entry.dnf else Placing(entry.position)


def _parse_table(
    race: Race, entries: Sequence[RaceEntry], table: Mapping[int, object], *, partial: bool = False
) -> dict[int, Placing]:
    racer_ids = {entry.racer_id for entry in entries}
    strangers = sorted(set(table) - racer_ids)
    if strangers:
        raise InvalidResults(f"Racer #{strangers[0]} did not race in {race.name!r}.")
    missing = sorted(racer_ids - set(table))
    if missing and not partial:
        raise InvalidResults(
            f"The results table needs every racer of {race.name!r}; racer #{missing[0]} is missing."
        )
    return {racer_id: league.parse_placing(raw, len(entries)) for racer_id, raw in table.items()}


def _settle_reports(uow: UnitOfWork, race: Race, now: datetime) -> None:
    """After a report or the end: final when confirmed (and ended), else mark disputes."""
    entries = uow.league.entries(race.id)
    verdict = league.judge_reports(
        [entry.racer_id for entry in entries], {entry.racer_id: _reported(entry) for entry in entries}
    )
    if verdict.is_confirmed and race.status == RaceStatus.ENDED:
        placings = {entry.racer_id: _reported(entry) for entry in entries}
        _finalize(uow, race, entries, placings, now)  # type: ignore[arg-type]
        return
    race.disputed = verdict.is_disputed
    uow.league.save(race)


def _finalize(
    uow: UnitOfWork, race: Race, entries: Sequence[RaceEntry], placings: Mapping[int, Placing], now: datetime
) -> None:
    """Make an ended race final: results, points, standings, and RaceFinalized (exactly once)."""
    assert race.status == RaceStatus.ENDED, f"only an ended race becomes final, not a {race.status} one"
    assert race.season_id is not None
    assert set(placings) == {entry.racer_id for entry in entries}
    assert league.order_problem(placings) is None
    table = _points_table_of(uow, race.season_id)
    for entry in entries:
        placing = placings[entry.racer_id]
        entry.position, entry.dnf = placing.position, placing.dnf
        entry.points = table.points_for(placing, len(entries))
    race.status = RaceStatus.FINAL
    race.disputed = False
    race.finalized_at = now
    uow.league.save(*entries, race)
    uow.league.refresh_standings(race.season_id, [entry.racer_id for entry in entries])
    outcome = uow.league.race_outcome(race.id)
    assert outcome is not None and outcome.is_final
    assert len(outcome.results) == len(entries)
    uow.emit(RaceFinalized(outcome=outcome, finalized_at=now))


def _apply_fix(
    uow: UnitOfWork,
    race: Race,
    entries: Sequence[RaceEntry],
    placings: Mapping[int, Placing],
    *,
    actor: Actor,
    reason: str,
    now: datetime,
) -> None:
    assert race.status == RaceStatus.FINAL and race.season_id is not None
    table = _points_table_of(uow, race.season_id)
    fixes = []
    changed = []
    for entry in entries:
        old, new = _result(entry), placings[entry.racer_id]
        if old == new:
            continue
        fix = uow.league.add_result_fix(
            race_id=race.id,
            racer_id=entry.racer_id,
            old_position=old.position,
            new_position=new.position,
            old_dnf=old.dnf,
            new_dnf=new.dnf,
            actor_racer_id=actor.racer_id,
            reason=reason,
            created_at=now,
        )
        fixes.append(fix)
        entry.position, entry.dnf = new.position, new.dnf
        entry.points = table.points_for(new, len(entries))
        changed.append(entry)
    if not fixes:
        raise NothingToFix()
    uow.league.save(*changed)
    uow.league.refresh_standings(race.season_id, [entry.racer_id for entry in entries])
    outcome = uow.league.race_outcome(race.id)
    assert outcome is not None and outcome.is_final
    uow.emit(
        ResultsCorrected(
            outcome=outcome, fix_ids=tuple(fix.id for fix in fixes), reason=reason, corrected_at=now
        )
    )


def _points_table_of(uow: UnitOfWork, season_id: int) -> PointsTable:
    season = uow.seasons.season(season_id)
    assert season is not None
    return PointsTable.from_json(season.points_table)


def _active_season_or_default(uow: UnitOfWork, now: datetime) -> Season:
    """The active season; on a fresh install, a default one opened now."""
    active = uow.seasons.active_season()
    if active is not None:
        return active
    taken = uow.seasons.season_names()
    name = next(
        candidate
        for attempt in range(1, DEFAULT_SEASON_NAME_TRIES_MAX + 1)
        if (candidate := _default_season_name(now.date(), attempt)) not in taken
    )
    season = uow.seasons.open_season(
        name=name,
        starts_on=now.date(),
        ends_on=now.date() + DEFAULT_SEASON_LENGTH,
        points_table=PointsTable().to_json(),
        split_policy="even",
        winner_bonus_bps=league.WINNER_BONUS_BPS_DEFAULT,
        now=now,
    )
    if season is None:  # another transaction opened one at the same instant
        active = uow.seasons.active_season()
        assert active is not None
        return active
    return season


def _default_season_name(day: date, attempt: int) -> str:
    base = f"Season {day:%B %Y}"
    return base if attempt == 1 else f"{base} ({attempt})"


__all__ = [
    "admin_fix_discord_result",
    "admin_fix_result",
    "cancel_lobby",
    "confirm_results",
    "current_race",
    "end_live_race",
    "end_race",
    "fix_results",
    "get_or_create_racer",
    "get_race",
    "hosted_race",
    "join_chosen_lobby",
    "join_lobby",
    "leave_current_lobby",
    "leave_lobby",
    "list_open_lobbies",
    "list_races",
    "open_lobby",
    "racer_lobby",
    "racer_unfinished_race",
    "report_for_unfinished_race",
    "report_result",
    "set_results",
    "start_hosted_race",
    "start_race",
]

"""Season use cases: create, activate, close (champion and frozen standings), list.

Seasons are an admin's business; each function loads the acting racer and
checks it. One season is active at a time (backed by the partial unique index
`ux_season_one_active`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain import league
from cozykart.domain.audit import ActionKind
from cozykart.domain.events import SeasonActivated, SeasonCompleted
from cozykart.domain.league import (
    InvalidSeason,
    PointsTable,
    SeasonAlreadyActive,
    SeasonClosed,
    SeasonHasUnfinishedRaces,
    SeasonNameTaken,
    SeasonNotActive,
    SeasonNotFound,
    SeasonStatus,
)
from cozykart.services.actors import load_admin
from cozykart.services.audit import record_admin_action
from cozykart.services.reads.league_views import SeasonView

SEASON_LIST_LENGTH_MAX = 200
UNFINISHED_RACES_LISTED_MAX = 5


def create_season(
    name: str,
    *,
    starts_on: date,
    ends_on: date,
    sponsor_name: str | None = None,
    sponsor_logo_url: str | None = None,
    sponsor_url: str | None = None,
    points_table: Mapping[object, Sequence[int]] | Sequence[int] | None = None,
    split_policy: str = league.SPLIT_POLICY_DEFAULT,
    winner_bonus_bps: int = league.WINNER_BONUS_BPS_DEFAULT,
    actor_id: int,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> SeasonView:
    """An admin creates an upcoming season.

    `points_table` is a list (the default row) or {"default": [...], "4": [...]}
    with a row per race size; omitted, it is 15, 12, 10, 8, 6, 4, 2, 1.
    """
    now = now or utc_now()
    name = " ".join(str(name or "").split())
    if not 1 <= len(name) <= league.SEASON_NAME_LENGTH_MAX:
        raise InvalidSeason(f"Give the season a name of 1 to {league.SEASON_NAME_LENGTH_MAX} characters.")
    if ends_on < starts_on:
        raise InvalidSeason("A season cannot end before it starts.")
    sponsor_name = _optional_text(sponsor_name, league.SEASON_NAME_LENGTH_MAX, "sponsor name")
    sponsor_logo_url = _optional_url(sponsor_logo_url, "sponsor logo")
    sponsor_url = _optional_url(sponsor_url, "sponsor link")
    table = PointsTable.build(points_table)
    league.check_split_policy(split_policy, winner_bonus_bps)
    with uow:
        load_admin(uow, actor_id)
        if uow.seasons.name_taken(name):
            raise SeasonNameTaken(name)
        season = uow.seasons.add_season(
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            sponsor_name=sponsor_name,
            sponsor_logo_url=sponsor_logo_url,
            sponsor_url=sponsor_url,
            points_table=table.to_json(),
            split_policy=split_policy,
            winner_bonus_bps=winner_bonus_bps,
            created_at=now,
        )
        if season is None:
            raise SeasonNameTaken(name)
        record_admin_action(
            uow,
            ActionKind.SEASON_CREATED,
            actor_id=actor_id,
            subject=f"Season {name}",
            new_value=f"upcoming, {starts_on.isoformat()} to {ends_on.isoformat()}",
            at=now,
        )
        view = SeasonView.of(season, None)
        uow.commit()
    return view


def activate_season(
    season_id: int, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> SeasonView:
    """An admin makes an upcoming season the active one; races started from now belong to it."""
    now = now or utc_now()
    with uow:
        load_admin(uow, actor_id)
        season = _season_for_update(uow, season_id)
        if season.status == SeasonStatus.CLOSED:
            raise SeasonClosed(season.name)
        if season.status == SeasonStatus.ACTIVE:
            raise SeasonAlreadyActive(season.name)
        active = uow.seasons.active_season()
        if active is not None:
            raise SeasonAlreadyActive(active.name)
        if not uow.seasons.activate(season, at=now):
            raise SeasonAlreadyActive("Another season")
        record_admin_action(
            uow,
            ActionKind.SEASON_ACTIVATED,
            actor_id=actor_id,
            subject=f"Season {season.name}",
            old_value=SeasonStatus.UPCOMING.value,
            new_value=SeasonStatus.ACTIVE.value,
            at=now,
        )
        view = SeasonView.of(season, None)
        uow.emit(SeasonActivated(season_id=season.id, name=season.name, activated_at=now))
        uow.commit()
    return view


def close_season(
    season_id: int, *, actor_id: int, uow: UnitOfWork, now: datetime | None = None
) -> SeasonView:
    """An admin closes the active season: the standings freeze and the leader is champion.

    Refused while one of its races is live or waiting for results. A closed
    season stays in the archive; its results can no longer be fixed.
    """
    now = now or utc_now()
    with uow:
        load_admin(uow, actor_id)
        season = _season_for_update(uow, season_id)
        if season.status == SeasonStatus.CLOSED:
            raise SeasonClosed(season.name)
        if season.status != SeasonStatus.ACTIVE:
            raise SeasonNotActive(season.name)
        unfinished = uow.seasons.unfinished_race_names(season.id, UNFINISHED_RACES_LISTED_MAX)
        if unfinished:
            raise SeasonHasUnfinishedRaces(season.name, unfinished)
        champion = uow.seasons.close(season, at=now)
        record_admin_action(
            uow,
            ActionKind.SEASON_CLOSED,
            actor_id=actor_id,
            racer_id=season.champion_racer_id,
            subject=f"Season {season.name}",
            old_value=SeasonStatus.ACTIVE.value,
            new_value=SeasonStatus.CLOSED.value,
            at=now,
        )
        view = SeasonView.of(season, champion)
        uow.emit(
            SeasonCompleted(
                season_id=season.id,
                name=season.name,
                champion_racer_id=season.champion_racer_id,
                closed_at=now,
            )
        )
        uow.commit()
    return view


def preview_close_season(season_id: int, *, actor_id: int, uow: UnitOfWork) -> SeasonView:
    """What `close_season` would do (its checks, the champion it would crown), run and rolled back."""
    with uow:
        # close_season joins this transaction (its commit waits for ours, which never comes):
        # leaving the block rolls the close back.
        return close_season(season_id, actor_id=actor_id, uow=uow)


def list_seasons(*, uow: UnitOfWork) -> tuple[SeasonView, ...]:
    """Every season: the active one, then upcoming, then the archive (newest first)."""
    with uow:
        return _views(uow, uow.seasons.listed(SEASON_LIST_LENGTH_MAX))


def admin_seasons(*, actor_id: int, uow: UnitOfWork) -> tuple[SeasonView, ...]:
    """The admin console's list of seasons (the same as `list_seasons`, for admins only)."""
    with uow:
        load_admin(uow, actor_id)
    return list_seasons(uow=uow)


def get_season(season_id: int, *, uow: UnitOfWork) -> SeasonView:
    with uow:
        season = uow.seasons.season(season_id)
        if season is None:
            raise SeasonNotFound(season_id)
        return _views(uow, [season])[0]


def active_season(*, uow: UnitOfWork) -> SeasonView | None:
    with uow:
        season = uow.seasons.active_season()
        return _views(uow, [season])[0] if season is not None else None


def rebuild_standings(season_id: int, *, actor_id: int | None = None, uow: UnitOfWork) -> int:
    """Recompute a season's standings from its results; the number of rows.

    For operators (after importing data or seeding a demo). With `actor_id`,
    only an admin may; without, it is a trusted call from the CLI. A closed
    season keeps its frozen ranks.
    """
    with uow:
        if actor_id is not None:
            load_admin(uow, actor_id)
        season = _season_for_update(uow, season_id)
        if season.status == SeasonStatus.CLOSED:
            raise SeasonClosed(season.name)
        count = uow.seasons.rebuild_standings(season_id)
        uow.commit()
    return count


# --- internals ------------------------------------------------------------------


def _season_for_update(uow: UnitOfWork, season_id: int):
    season = uow.seasons.season_for_update(season_id)
    if season is None:
        raise SeasonNotFound(season_id)
    return season


def _views(uow: UnitOfWork, seasons: Sequence) -> tuple[SeasonView, ...]:
    champions = uow.seasons.champions(seasons)
    return tuple(
        SeasonView.of(season, champions.get(season.champion_racer_id) if season.champion_racer_id else None)
        for season in seasons
    )


def _optional_text(value: str | None, length_max: int, what: str) -> str | None:
    text = " ".join(str(value or "").split()) or None
    if text is not None and len(text) > length_max:
        raise InvalidSeason(f"The {what} has at most {length_max} characters.")
    return text


def _optional_url(value: str | None, what: str) -> str | None:
    text = str(value or "").strip() or None
    if text is None:
        return None
    if len(text) > league.URL_LENGTH_MAX:
        raise InvalidSeason(f"The {what} URL has at most {league.URL_LENGTH_MAX} characters.")
    if not (text.startswith(("https://", "http://", "/"))):
        raise InvalidSeason(f"The {what} must be a web address (https://...) or a path on this site (/...).")
    return text


__all__ = [
    "activate_season",
    "active_season",
    "admin_seasons",
    "close_season",
    "create_season",
    "get_season",
    "list_seasons",
    "rebuild_standings",
]

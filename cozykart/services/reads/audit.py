"""The audit trail: every admin action, newest first, as one list.

Four append-only sources, read in one transaction and merged by instant:
result fixes (`result_fix`), money settings (`money_setting_change`), roles
(`role_change`) and everything else an admin does (`admin_action`, written by
`services/audit.record_admin_action` in each action's own transaction).

Filtered by race, only what touched that race is listed (fixes, table
corrections); by racer, only what touched that racer (their fixes, roles,
payouts). `audit_trail` is for admins; `racer_fixes` is the public part a racer's
profile shows (the fixes to their own results: public, like the results).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select

from cozykart.db.audit_tables import AdminAction
from cozykart.db.identity_tables import RoleChange
from cozykart.db.money_settings_tables import MoneySettingChange
from cozykart.db.schema import metadata
from cozykart.db.tables import Race, Racer, ResultFix
from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind, AuditEntry
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.services.actors import load_admin
from cozykart.services.money_settings import SPECS_BY_NAME, value_words

AUDIT_LINES_MAX = 200
RACER_FIXES_MAX = 50
_ID_MAX = 2**31 - 1


def parse_filter_id(value: object, what: str) -> int | None:
    """A race or racer number typed into a filter: None when empty, else a positive whole number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().lstrip("#")
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= _ID_MAX:
        raise InvalidInput(f"Give a {what} number (a whole number like 12), or leave it empty.")
    return int(text)


def _placing(position: int | None, dnf: bool) -> str:
    return "DNF" if dnf or position is None else f"P{position}"


_TABLES = metadata.tables
_FIX = _TABLES[ResultFix.__tablename__]
_SETTING = _TABLES[MoneySettingChange.__tablename__]
_ROLE = _TABLES[RoleChange.__tablename__]
_ACTION = _TABLES[AdminAction.__tablename__]
_RACER = _TABLES[Racer.__tablename__]
_RACE = _TABLES[Race.__tablename__]


def _rows(uow: UnitOfWork, statement: Select) -> list:
    return list(uow.session.connection().execute(statement).all())


def _fixes(uow: UnitOfWork, *, race_id: int | None, racer_id: int | None, limit: int) -> list[AuditEntry]:
    racer, actor = _RACER.alias("fixed_racer"), _RACER.alias("fix_actor")
    statement = (
        select(
            _FIX,
            racer.c.display_name.label("racer_name"),
            actor.c.display_name.label("actor_name"),
            _RACE.c.name.label("race_name"),
        )
        .join(racer, racer.c.id == _FIX.c.racer_id)
        .join(actor, actor.c.id == _FIX.c.actor_racer_id)
        .join(_RACE, _RACE.c.id == _FIX.c.race_id)
        .order_by(_FIX.c.created_at.desc(), _FIX.c.id.desc())
        .limit(limit)
    )
    if race_id is not None:
        statement = statement.where(_FIX.c.race_id == race_id)
    if racer_id is not None:
        statement = statement.where(_FIX.c.racer_id == racer_id)
    return [
        AuditEntry(
            at=row.created_at,
            kind=ActionKind.RESULT_FIX.value,
            actor_name=row.actor_name,
            subject=f"{row.racer_name} in race #{row.race_id} ({row.race_name})",
            old_value=_placing(row.old_position, row.old_dnf),
            new_value=_placing(row.new_position, row.new_dnf),
            reason=row.reason,
            race_id=row.race_id,
            racer_id=row.racer_id,
        )
        for row in _rows(uow, statement)
    ]


def _setting_words(name: str, value: int, currency: str) -> str:
    return value_words(name, value, currency) if name in SPECS_BY_NAME else str(value)


def _settings(uow: UnitOfWork, *, limit: int) -> list[AuditEntry]:
    currency = uow.base_settings.currency
    statement = (
        select(_SETTING, _RACER.c.display_name.label("actor_name"))
        .join(_RACER, _RACER.c.id == _SETTING.c.actor_racer_id)
        .order_by(_SETTING.c.id.desc())
        .limit(limit)
    )
    return [
        AuditEntry(
            at=row.created_at,
            kind=ActionKind.MONEY_SETTING.value,
            actor_name=row.actor_name,
            subject=SPECS_BY_NAME[row.name].label if row.name in SPECS_BY_NAME else row.name,
            old_value=_setting_words(row.name, row.old_value, currency),
            new_value=_setting_words(row.name, row.new_value, currency),
            reason=row.reason,
        )
        for row in _rows(uow, statement)
    ]


_ROLE_WORDS = {"dj": "DJ", "host": "host"}


def _roles(uow: UnitOfWork, *, racer_id: int | None, limit: int) -> list[AuditEntry]:
    racer, actor = _RACER.alias("role_racer"), _RACER.alias("role_actor")
    statement = (
        select(_ROLE, racer.c.display_name.label("racer_name"), actor.c.display_name.label("actor_name"))
        .join(racer, racer.c.id == _ROLE.c.racer_id)
        .join(actor, actor.c.id == _ROLE.c.actor_racer_id)
        .order_by(_ROLE.c.id.desc())
        .limit(limit)
    )
    if racer_id is not None:
        statement = statement.where(_ROLE.c.racer_id == racer_id)
    return [
        AuditEntry(
            at=row.created_at,
            kind=ActionKind.ROLE.value,
            actor_name=row.actor_name,
            subject=f"{_ROLE_WORDS.get(row.role, row.role)} role of {row.racer_name}",
            old_value="held" if row.old_value else "not held",
            new_value="granted" if row.new_value else "revoked",
            reason="",
            racer_id=row.racer_id,
        )
        for row in _rows(uow, statement)
    ]


def _actions(uow: UnitOfWork, *, race_id: int | None, racer_id: int | None, limit: int) -> list[AuditEntry]:
    statement = (
        select(_ACTION, _RACER.c.display_name.label("actor_name"))
        .join(_RACER, _RACER.c.id == _ACTION.c.actor_racer_id)
        .order_by(_ACTION.c.created_at.desc(), _ACTION.c.id.desc())
        .limit(limit)
    )
    if race_id is not None:
        statement = statement.where(_ACTION.c.race_id == race_id)
    if racer_id is not None:
        statement = statement.where(_ACTION.c.racer_id == racer_id)
    return [
        AuditEntry(
            at=row.created_at,
            kind=row.kind,
            actor_name=row.actor_name,
            subject=row.subject,
            old_value=row.old_value or "",
            new_value=row.new_value or "",
            reason=row.reason or "",
            race_id=row.race_id,
            racer_id=row.racer_id,
        )
        for row in _rows(uow, statement)
    ]


def _newest_first(sources: Iterable[list[AuditEntry]], limit: int) -> tuple[AuditEntry, ...]:
    merged = [entry for source in sources for entry in source]
    merged.sort(key=lambda entry: entry.at, reverse=True)  # stable: each source is newest first already
    return tuple(merged[:limit])


def audit_trail(
    *,
    actor_id: int | None,
    uow: UnitOfWork,
    race_id: object = None,
    racer_id: object = None,
    limit: int = AUDIT_LINES_MAX,
) -> tuple[AuditEntry, ...]:
    """Every admin action, newest first, optionally of one race and/or one racer: for admins only.

    `actor_id` is the admin asking in the console; None is the operator at the
    command line (`python -m cozykart audit`), who already holds the database.
    """
    race = parse_filter_id(race_id, "race")
    racer = parse_filter_id(racer_id, "racer")
    limit = max(1, min(int(limit), AUDIT_LINES_MAX))
    with uow:
        if actor_id is not None:
            load_admin(uow, actor_id)
        if race is not None and uow.league.race(race) is None:
            raise NotFound(f"There is no race #{race}.")
        if racer is not None and uow.league.racer(racer) is None:
            raise NotFound(f"There is no racer #{racer}.")
        sources = [
            _fixes(uow, race_id=race, racer_id=racer, limit=limit),
            _actions(uow, race_id=race, racer_id=racer, limit=limit),
        ]
        if race is None:  # settings and roles touch no race
            sources.append(_roles(uow, racer_id=racer, limit=limit))
            if racer is None:
                sources.append(_settings(uow, limit=limit))
        return _newest_first(sources, limit)


def racer_fixes(racer_id: int, *, uow: UnitOfWork, limit: int = RACER_FIXES_MAX) -> tuple[AuditEntry, ...]:
    """The admin fixes to one racer's own results, newest first (public, like the results they changed)."""
    with uow:
        return tuple(_fixes(uow, race_id=None, racer_id=racer_id, limit=limit))

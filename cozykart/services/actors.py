"""Who is acting: roles are read on the server, from the database and settings.

A service that needs a permission takes the acting racer's id and loads the
actor itself; it never trusts a role a caller claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class Actor:
    racer_id: int
    discord_id: str
    display_name: str
    is_admin: bool
    is_host: bool
    is_dj: bool

    @property
    def may_host(self) -> bool:
        return self.is_admin or self.is_host


def load_actor(uow: UnitOfWork, racer_id: int) -> Actor:
    """The acting racer, inside the open transaction; admins are the settings' Discord ids."""
    racer = uow.league.racer(racer_id)
    if racer is None:
        raise NotFound("That racer does not exist.")
    return Actor(
        racer_id=racer.id,
        discord_id=racer.discord_id,
        display_name=racer.display_name,
        is_admin=racer.discord_id in uow.base_settings.admin_discord_ids,
        is_host=racer.is_host,
        is_dj=racer.is_dj,
    )


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only a league admin can do that.")


def load_admin(uow: UnitOfWork, racer_id: int) -> Actor:
    """The acting racer, refused unless they are a league admin: the one admin check of a service."""
    actor = load_actor(uow, racer_id)
    require_admin(actor)
    return actor


def require_host(actor: Actor) -> None:
    if not actor.may_host:
        raise PermissionDenied("Only a host or an admin can do that.")

"""OBS overlays: the secret key in their URL.

The key is shown once, when an admin generates it, and only its SHA-256 is
stored; generating a new one retires the old (an overlay URL that leaked stops
working). Until a key exists, every overlay stays locked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind
from cozykart.services.actors import load_actor, load_admin, require_admin
from cozykart.services.audit import record_admin_action

OVERLAY_KEY_BYTES = 24
OVERLAY_KEY_LENGTH_MAX = 128


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def regenerate_overlay_key(*, actor_id: int, uow: UnitOfWork, now: datetime | None = None) -> str:
    """An admin makes a new overlay key; the old one stops working. Returns the key (shown once)."""
    key = secrets.token_urlsafe(OVERLAY_KEY_BYTES)
    now = now or utc_now()
    with uow:
        load_admin(uow, actor_id)
        uow.overlays.add_key(key_sha256=_digest(key), created_by_racer_id=actor_id, created_at=now)
        record_admin_action(
            uow,
            ActionKind.OVERLAY_KEY,
            actor_id=actor_id,
            subject="OBS overlay key",
            new_value="a new key; the old one stopped working",  # never the key itself
            at=now,
        )
        uow.commit()
    return key


def overlay_key_is_valid(key: str | None, *, uow: UnitOfWork) -> bool:
    """Whether `key` is the current overlay key (compared in constant time)."""
    if not key or len(key) > OVERLAY_KEY_LENGTH_MAX:
        return False
    return overlay_digest_is_current(_digest(key), uow=uow)


def overlay_key_digest(key: str) -> str:
    """What an open overlay remembers of its key: the SHA-256 (which opens nothing, being no key)."""
    return _digest(key)


def overlay_digest_is_current(digest: str | None, *, uow: UnitOfWork) -> bool:
    """Whether `digest` (an `overlay_key_digest`) is the current key's: the key is still the current one."""
    if not isinstance(digest, str) or not digest:
        return False
    with uow:
        current = uow.overlays.current_key_sha256()
    return current is not None and hmac.compare_digest(current, digest)


def check_overlay_admin(*, actor_id: int, uow: UnitOfWork) -> str:
    """Only an admin may manage overlays or send a test alert; returns the admin's name."""
    with uow:
        actor = load_actor(uow, actor_id)
        require_admin(actor)
        return actor.display_name


def preview_regenerate_overlay_key(*, actor_id: int, uow: UnitOfWork) -> bool:
    """Admin only: whether a key is in use now (regenerating breaks every OBS scene that uses it)."""
    with uow:
        load_admin(uow, actor_id)
        return uow.overlays.current_key_sha256() is not None

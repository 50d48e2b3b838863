"""Recording an admin action in the audit trail, inside the action's own transaction.

    with uow:
        actor = load_admin(uow, actor_id)
        ...  # the action's own writes
        audit.record_admin_action(uow, ActionKind.PAYOUT_PAID, actor_id=actor.racer_id, ...)
        uow.commit()

The row commits or rolls back with the action: there is never an action without
its line, nor a line without its action. Result fixes, money settings and roles
keep their own audited rows and are not recorded here (the read model,
`services/reads/audit.py`, shows all of them together).
"""

from __future__ import annotations

from datetime import datetime

from cozykart.db.uow import UnitOfWork
from cozykart.domain.audit import ActionKind


def record_admin_action(
    uow: UnitOfWork,
    kind: ActionKind,
    *,
    actor_id: int,
    subject: str,
    at: datetime,
    race_id: int | None = None,
    racer_id: int | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    reason: str | None = None,
) -> int:
    """Append one admin action to the trail in the open transaction (the caller commits); its id."""
    assert kind not in (ActionKind.RESULT_FIX, ActionKind.MONEY_SETTING, ActionKind.ROLE), (
        f"{kind} keeps its own audited rows"
    )
    return uow.audit.append(
        kind=kind.value,
        actor_racer_id=actor_id,
        subject=subject,
        at=at,
        race_id=race_id,
        racer_id=racer_id,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
    )

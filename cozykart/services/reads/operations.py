"""What an operator watches, read from the database: `GET /metrics` and `GET /api/health`.

Every figure here is the database's, so every worker answers the same: the
webhook inbox by provider and status, the Discord outbox by channel and status
with the age of its oldest pending message (the outbox lag), payouts waiting
for an admin (count, cents, oldest), and the reconcile verdict. Counting rows
by status is a gauge read at each scrape, never a counter kept in a process:
an event that failed in one worker and was retried in another is still one
failed event until it is applied.

Reconcile reads the whole ledger, so its verdict is kept per database for
`interval_s` (`reconcile_status`): a scrape every 15 s costs one reconcile a
minute, and the age of the verdict is exposed beside it.

The health probe (`health_report`) asks the database, Redis and the outbox
separately, each bounded by a short timeout, so a probe says which part is down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select

from cozykart.db.inbox_tables import WebhookEvent
from cozykart.db.ledger_tables import Payout
from cozykart.db.outbox_tables import DiscordOutbox
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.discord_messages import OutboxStatus
from cozykart.domain.ledger import PayoutStatus
from cozykart.services import read_uow
from cozykart.services.reads.migration_state import database_revision
from cozykart.services.reads.reconcile import reconcile
from cozykart.settings import METRICS_RECONCILE_INTERVAL_S_DEFAULT, Settings

OUTBOX_LAG_MAX_S = 600.0  # health's outbox is not ok once its oldest pending message is older
REDIS_PING_TIMEOUT_S = 1.0  # connect and answer, each; a probe must not hang on a dead Redis
logger = logging.getLogger("cozykart.metrics")


@dataclass(frozen=True)
class OutboxLag:
    pending: int
    failed: int
    oldest_pending_s: float | None  # None when nothing is pending


@dataclass(frozen=True)
class OperationsSnapshot:
    inbox: dict[tuple[str, str], int]  # (provider, status) -> events
    outbox: dict[tuple[str, str], int]  # (channel, status) -> messages
    outbox_oldest_pending_s: dict[str, float]  # channel -> age of its oldest pending message
    payouts_pending_count: int
    payouts_pending_cents: int
    payouts_oldest_pending_s: float | None


_INBOX: Table = WebhookEvent.__table__  # type: ignore[attr-defined]  # the tables, for typed core queries
_OUTBOX: Table = DiscordOutbox.__table__  # type: ignore[attr-defined]
_PAYOUT: Table = Payout.__table__  # type: ignore[attr-defined]


def _age_s(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def operations_snapshot(*, uow: UnitOfWork, now: datetime | None = None) -> OperationsSnapshot:
    """The inbox, outbox and payout figures in one read-only transaction."""
    now = now or utc_now()
    with uow:
        connection = uow.session.connection()
        inbox: Any = connection.execute(
            select(_INBOX.c.provider, _INBOX.c.status, func.count()).group_by(
                _INBOX.c.provider, _INBOX.c.status
            )
        ).all()
        outbox: Any = connection.execute(
            select(_OUTBOX.c.channel, _OUTBOX.c.status, func.count()).group_by(
                _OUTBOX.c.channel, _OUTBOX.c.status
            )
        ).all()
        oldest: Any = connection.execute(
            select(_OUTBOX.c.channel, func.min(_OUTBOX.c.created_at))
            .where(_OUTBOX.c.status == OutboxStatus.PENDING)
            .group_by(_OUTBOX.c.channel)
        ).all()
        payouts: Any = connection.execute(
            select(
                func.count(),
                func.coalesce(func.sum(_PAYOUT.c.amount_cents), 0),
                func.min(_PAYOUT.c.requested_at),
            )
            .select_from(_PAYOUT)
            .where(_PAYOUT.c.status == PayoutStatus.PENDING)
        ).one()
    count, cents, first = payouts
    ages = {channel: _age_s(at, now) for channel, at in oldest}
    return OperationsSnapshot(
        inbox={(provider, status): int(n) for provider, status, n in inbox},
        outbox={(channel, status): int(n) for channel, status, n in outbox},
        outbox_oldest_pending_s={channel: age for channel, age in ages.items() if age is not None},
        payouts_pending_count=int(count),
        payouts_pending_cents=int(cents),
        payouts_oldest_pending_s=_age_s(first, now),
    )


def outbox_lag(*, uow: UnitOfWork, now: datetime | None = None) -> OutboxLag:
    """Pending and failed messages over both channels, and the oldest pending one's age."""
    now = now or utc_now()
    with uow:
        rows: Any = (
            uow.session.connection()
            .execute(
                select(_OUTBOX.c.status, func.count(), func.min(_OUTBOX.c.created_at))
                .where(_OUTBOX.c.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]))
                .group_by(_OUTBOX.c.status)
            )
            .all()
        )
    by_status = {status: (int(n), first) for status, n, first in rows}
    pending, oldest = by_status.get(OutboxStatus.PENDING, (0, None))
    return OutboxLag(
        pending=pending,
        failed=by_status.get(OutboxStatus.FAILED, (0, None))[0],
        oldest_pending_s=_age_s(oldest, now),
    )


# --- reconcile, at most once per interval -------------------------------------------------


@dataclass(frozen=True)
class ReconcileStatus:
    clean: bool
    violations: int
    checked_at_s: float  # time.monotonic() when it was computed
    duration_s: float  # how long the reconcile took

    def age_s(self, now_s: float | None = None) -> float:
        return max(0.0, (time.monotonic() if now_s is None else now_s) - self.checked_at_s)


_reconciled: dict[str, ReconcileStatus] = {}
_reconcile_lock = threading.Lock()  # one reconcile at a time per process: concurrent scrapes share it


def reconcile_status(
    settings: Settings, *, interval_s: float = METRICS_RECONCILE_INTERVAL_S_DEFAULT
) -> ReconcileStatus:
    """The last reconcile of `settings.db_url`, run again when it is older than `interval_s`."""
    with _reconcile_lock:
        known = _reconciled.get(settings.db_url)
        if known is not None and known.age_s() < interval_s:
            return known
        started_s = time.monotonic()
        report = reconcile(uow=read_uow(settings))
        status = ReconcileStatus(
            clean=report.clean,
            violations=len(report.violations),
            checked_at_s=time.monotonic(),
            duration_s=time.monotonic() - started_s,
        )
        _reconciled[settings.db_url] = status
        return status


@dataclass(frozen=True)
class DatabaseFigures:
    """What one scrape read from the database: None where it could not be read."""

    snapshot: OperationsSnapshot | None  # None: the database did not answer
    reconciled: ReconcileStatus | None


def database_figures(settings: Settings) -> DatabaseFigures:
    """The snapshot, then the (cached) reconcile verdict; a failure is logged and left out."""
    try:
        snapshot = operations_snapshot(uow=read_uow(settings))
    except Exception:  # the database is down: the scrape says so (cozykart_database_up 0)
        logger.exception("metrics could not read the database")
        return DatabaseFigures(None, None)
    try:
        reconciled = reconcile_status(settings, interval_s=settings.metrics_reconcile_interval_s)
    except Exception:
        logger.exception("metrics could not reconcile the ledger")
        reconciled = None
    return DatabaseFigures(snapshot, reconciled)


# --- health -------------------------------------------------------------------------------


def _elapsed_ms(started_s: float) -> float:
    return round((time.perf_counter() - started_s) * 1000, 2)


def _database_health(settings: Settings) -> dict:
    started_s = time.perf_counter()
    try:
        revision = database_revision(uow=read_uow(settings))
    except Exception as error:  # noqa: BLE001 - any failure means "database down"; the type says which
        return {"ok": False, "error": type(error).__name__, "latency_ms": _elapsed_ms(started_s)}
    return {"ok": True, "revision": revision, "latency_ms": _elapsed_ms(started_s)}


def _redis_health(redis_url: str | None) -> dict:
    """PING within REDIS_PING_TIMEOUT_S. Only the error's type is told: the URL may hold a password."""
    if redis_url is None:
        return {"ok": True, "configured": False, "status": "not configured"}
    import redis  # Reflex's own dependency; only needed when Redis is configured

    started_s = time.perf_counter()
    client = redis.Redis.from_url(
        redis_url, socket_connect_timeout=REDIS_PING_TIMEOUT_S, socket_timeout=REDIS_PING_TIMEOUT_S
    )
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001 - refused, timed out, auth: all mean "redis down"
        return {
            "ok": False,
            "configured": True,
            "error": type(error).__name__,
            "latency_ms": _elapsed_ms(started_s),
        }
    finally:
        client.close()
    return {"ok": True, "configured": True, "latency_ms": _elapsed_ms(started_s)}


def _outbox_health(settings: Settings, lag_max_s: float) -> dict:
    try:
        lag = outbox_lag(uow=read_uow(settings))
    except Exception as error:  # noqa: BLE001 - the database check reports the cause
        return {"ok": False, "error": type(error).__name__, "lag_max_s": lag_max_s}
    stuck = lag.oldest_pending_s is not None and lag.oldest_pending_s > lag_max_s
    return {
        "ok": not stuck,
        "pending": lag.pending,
        "failed": lag.failed,
        "oldest_pending_s": None if lag.oldest_pending_s is None else round(lag.oldest_pending_s, 3),
        "lag_max_s": lag_max_s,
    }


def health_report(settings: Settings, *, outbox_lag_max_s: float = OUTBOX_LAG_MAX_S) -> tuple[bool, dict]:
    """(serving, report): serving is False only when the database is down.

    `ok` is False when the database or a configured Redis is down. Without Redis
    pages cannot keep their state, but webhooks need only the database: a worker
    that a load balancer took out for Redis would refuse payments it can store
    (`bench/redis_drill.py` settles every one through a Redis outage), so Redis
    down is reported, not a 503. A stuck outbox makes only `outbox.ok` false, for
    the same reason: restarting or unrouting a worker does not unstick Discord.
    """
    database = _database_health(settings)
    redis_part = _redis_health(settings.redis_url)
    outbox = _outbox_health(settings, outbox_lag_max_s)
    serving = bool(database["ok"])
    report = {
        "ok": bool(serving and redis_part["ok"]),
        "database": database,
        "redis": redis_part,
        "outbox": outbox,
        "database_revision": database.get("revision"),  # the probe's earlier shape, kept for its callers
    }
    return serving, report

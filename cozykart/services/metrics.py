"""This process's own measurements, for `GET /metrics` (`api/metrics.py`).

What only a running process knows is measured here, as it happens: webhook
deliveries handed to the writer (by provider), the writer's batch sizes and the
time each batch took to store, apply and commit, and where this worker's live
viewers are counted. What the database knows (the inbox and outbox by status,
payouts pending, reconcile) is read at scrape time by `services/reads/operations.py`.

Why a registry of its own rather than prometheus_client's global one: the
endpoint serves exactly Cozy-Kart's instruments, and another library that
registers globally can never collide with them.

Several Granian workers are several processes, each with its own counters: a
scrape answers for the worker it reached, and every series here carries
`worker=<pid>` so Prometheus keeps the workers apart (a restarted worker is a
new pid: counters restart, which `rate()` and `increase()` already expect).
prometheus-client's multiprocess mode (one file per process in a shared
directory) is not used: it cannot run custom collectors, which the
database-derived figures are, and the per-worker view is what tells one stuck
worker from the others ("Multiprocess Mode",
https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from cozykart.domain.payments import PROVIDERS

REGISTRY = CollectorRegistry(auto_describe=True)
logger = logging.getLogger("cozykart.metrics")

# Deliveries per batch: up to the writer's BATCH_MAX (256), in powers of two.
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# Store + apply + commit of one batch, seconds: an fsync is ~1-10 ms, a loaded PostgreSQL far more.
COMMIT_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

WEBHOOKS_RECEIVED = Counter(
    "cozykart_webhooks_received",
    "Verified webhook deliveries handed to this worker's inbox writer (duplicates included).",
    ["provider", "worker"],
    registry=REGISTRY,
)
WRITER_BATCH_SIZE = Histogram(
    "cozykart_webhook_writer_batch_size",
    "Deliveries stored and applied in one committed transaction of the inbox writer.",
    ["worker"],
    buckets=BATCH_SIZE_BUCKETS,
    registry=REGISTRY,
)
WRITER_COMMIT_SECONDS = Histogram(
    "cozykart_webhook_writer_commit_seconds",
    "Time to store, apply and commit one batch of the inbox writer (committed batches only).",
    ["worker"],
    buckets=COMMIT_SECONDS_BUCKETS,
    registry=REGISTRY,
)

ViewerCount = Callable[[], int]
_viewer_rooms: dict[str, ViewerCount] = {}
_viewer_rooms_lock = threading.Lock()


def worker() -> str:
    """This worker's label: its pid, read each time (a forked worker is a new process)."""
    return str(os.getpid())


def webhook_received(provider: str) -> None:
    WEBHOOKS_RECEIVED.labels(provider=provider, worker=worker()).inc()


def clock() -> float:
    """A start time for `batch_committed` (monotonic seconds)."""
    return time.perf_counter()


def batch_committed(size: int, started_s: float) -> None:
    """One batch of `size` deliveries committed; it started at `started_s` (from `clock()`)."""
    WRITER_BATCH_SIZE.labels(worker=worker()).observe(size)
    WRITER_COMMIT_SECONDS.labels(worker=worker()).observe(time.perf_counter() - started_s)


def show_every_series() -> None:
    """Make this worker's series exist at 0 before their first event, so a scrape shows them.

    Prometheus cannot take the rate of a series it never saw; a counter that
    appears at its first increment hides that first increment.
    """
    for provider in PROVIDERS:
        WEBHOOKS_RECEIVED.labels(provider=provider, worker=worker())
    WRITER_BATCH_SIZE.labels(worker=worker())
    WRITER_COMMIT_SECONDS.labels(worker=worker())


def count_viewers(room: str, size: ViewerCount) -> None:
    """Count `room`'s viewers with `size()` at each scrape (a room of this worker's sockets).

    The UI calls this when a viewer joins; the latest `size` for a room wins.
    """
    with _viewer_rooms_lock:
        _viewer_rooms[room] = size


def live_viewers() -> dict[str, int]:
    """This worker's viewers per room, now. Call it on the event loop that serves the sockets."""
    with _viewer_rooms_lock:
        rooms = dict(_viewer_rooms)
    counted: dict[str, int] = {}
    for room, size in sorted(rooms.items()):
        try:
            counted[room] = size()
        except Exception:  # a room whose server is gone: left out, the rest of the scrape stands
            logger.exception("counting the viewers of %s failed", room)
    return counted

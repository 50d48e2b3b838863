"""Group commit for the webhook inbox: one writer thread per database per process.

A webhook request verifies and parses its body on the event loop (cheap), then
hands the verified event to the writer and awaits its receipt. The writer takes
whatever deliveries are queued (up to `BATCH_MAX`), stores and applies them in
one transaction (`webhooks.receive_batch`), commits once, and only then resolves
each request's future: a delivery is acknowledged only after the commit that
stored it is durable. If the process dies, or the commit fails, before that, no
delivery of the batch is acknowledged and the provider sends it again (the
inbox's unique key makes the repeat harmless).

There is no timer: deliveries that arrive while a commit is running form the
next batch, so a quiet server commits each event alone (no added latency) and a
busy one shares each fsync among many. One writer per process also serializes
the hot rows (the house account, the live race's pool) within the process.

After a batch that moved money, each distinct `on_money_moved` hook of its
deliveries runs once on its event loop (the Live Pot push), not once per event,
and at most once per PUSH_INTERVAL_S (a trailing push shows the last batch).

On shutdown (SIGTERM: the app's lifespan ends) `drain_writers` stops each writer
taking deliveries (a new one is refused with `WriterStopped`, answered 503, and
the provider retries) and waits, at most DRAIN_TIMEOUT_S, until every delivery
already handed over has been committed and answered; the process exits only
then, so a stop never strands an event that was queued but not yet written.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from cozykart.db.engine import engine_for
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.payments import InboxStatus, VerifiedEvent
from cozykart.services import metrics, webhooks
from cozykart.services.handlers import HANDLERS
from cozykart.settings import Settings

BATCH_MAX = 256
DRAIN_TIMEOUT_S = 20.0  # shutdown waits at most this long for the deliveries already handed over
IDLE_EXIT_S = 30.0  # a writer with nothing to do for this long ends its thread (a new one starts on demand)
logger = logging.getLogger("cozykart.webhooks.writer")

Hook = Callable[[], Awaitable[None]]


_Outcome: TypeAlias = "webhooks.InboxReceipt | BaseException"  # what one delivery came to


class WriterStopped(Exception):
    """The writer is draining for shutdown and takes no new delivery: answer 503, the provider retries."""


@dataclass(frozen=True)
class DrainReport:
    """What a shutdown drain came to."""

    settled: int  # deliveries handed over before the drain that were answered while it waited
    left: int  # still unanswered when DRAIN_TIMEOUT_S ran out (never acknowledged: the provider retries)
    seconds: float


@dataclass(frozen=True)
class _Pending:
    delivery: webhooks.Delivery
    settings: Settings  # the unit of work's base settings (a batch is written per settings)
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    on_money_moved: Hook | None


class WebhookWriter:
    """The one thread that writes webhook deliveries for one database in this process."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # committed batches and the deliveries in them (for benchmarks and tests)
        self.deliveries = 0
        self._stopping = False  # set by `drain`: new deliveries are refused
        self._unanswered: set[asyncio.Future] = set()  # handed over, not yet settled (what `drain` awaits)

    async def receive(
        self,
        event: VerifiedEvent,
        *,
        body_sha256: str,
        settings: Settings,
        on_money_moved: Hook | None = None,
    ) -> webhooks.InboxReceipt:
        """Store (and apply) one verified event; returns once its transaction has committed.

        Raises what storing it raised (the caller must not acknowledge then), or
        `WriterStopped` once a shutdown drain has begun.
        """
        if self._stopping:
            raise WriterStopped("the server is shutting down; deliver the event again")
        loop = asyncio.get_running_loop()
        pending = _Pending(
            delivery=webhooks.Delivery(event=event, body_sha256=body_sha256, received_at=utc_now()),
            settings=settings,
            loop=loop,
            future=loop.create_future(),
            on_money_moved=on_money_moved,
        )
        metrics.webhook_received(event.provider)
        self._track_unanswered(pending.future)
        with self._lock:
            self._queue.put(pending)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cozykart-webhook-writer", daemon=True)
                self._thread.start()
        return await pending.future

    def _track_unanswered(self, future: asyncio.Future) -> None:
        self._unanswered.add(future)
        future.add_done_callback(self._unanswered.discard)

    async def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> DrainReport:
        """Refuse new deliveries, then wait until each one already handed over is committed and answered.

        Bounded by `timeout_s`: what is still unanswered then was never acknowledged,
        so losing it with the process is safe (the provider delivers it again). Waits
        only for this event loop's deliveries (a server runs one loop per process).
        """
        started = time.monotonic()
        self._stopping = True
        loop = asyncio.get_running_loop()
        waiting = [future for future in tuple(self._unanswered) if future.get_loop() is loop]
        if not waiting:
            return DrainReport(settled=0, left=0, seconds=0.0)
        done, left = await asyncio.wait(waiting, timeout=timeout_s)
        # Each future is resolved by `_settle` on this loop; give the request handlers awaiting
        # them one turn to write their answers before the lifespan goes on.
        await asyncio.sleep(0)
        return DrainReport(settled=len(done), left=len(left), seconds=round(time.monotonic() - started, 3))

    def reopen(self) -> None:
        """Take deliveries again (a lifespan that starts after a drain, as in tests)."""
        self._stopping = False

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException:
            # Never expected (each batch's errors go to its requests); the next request starts a new
            # thread, which also takes whatever is still queued.
            logger.exception("the webhook writer thread stopped")
            with self._lock:
                self._thread = None
            raise

    def _serve(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, queued: list[_Pending]) -> None:
        # One transaction per run of deliveries made with the same settings (in a process, all of them).
        for _, run in itertools.groupby(queued, key=lambda pending: id(pending.settings)):
            self._write_batch(list(run))

    def _write_batch(self, batch: list[_Pending]) -> None:
        started_s = metrics.clock()
        try:
            uow = UnitOfWork(engine_for(self.db_url), handlers=HANDLERS, settings=batch[0].settings)
            outcomes: list = webhooks.receive_batch([pending.delivery for pending in batch], uow=uow)
        except Exception as error:  # noqa: BLE001 - every delivery of the batch gets it, none is acknowledged
            outcomes = _not_stored(batch, error)
        else:
            self.batches += 1
            self.deliveries += len(batch)
            metrics.batch_committed(len(batch), started_s)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending, _Outcome]]] = defaultdict(list)
        for pending, outcome in zip(batch, outcomes, strict=True):
            by_loop[pending.loop].append((pending, outcome))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that loop has closed: its requests are gone
                logger.warning("%d webhook receipts had no event loop to go back to", len(settled))


def _not_stored(batch: list[_Pending], error: Exception) -> list[_Outcome]:
    """The batch's transaction failed (it could not begin, a statement lost its connection, or the
    commit failed): nothing of it is stored, so every delivery gets the error and its request answers
    5xx; the provider delivers it again. The thread goes on with the next batch, on a new connection
    (the pool replaces the broken one). Logged once per batch, its SQL without parameters (`engine.py`)."""
    logger.error(
        "a batch of %d webhook deliveries was not stored (%s: %s)",
        len(batch),
        type(error).__name__,
        error,
        exc_info=error,
    )
    return [error] * len(batch)


def _settle(settled: list[tuple[_Pending, _Outcome]]) -> None:
    """On the requests' event loop: resolve each future, then push money moves once."""
    hooks: dict[int, Hook] = {}
    for pending, outcome in settled:
        if isinstance(outcome, webhooks.InboxReceipt):
            if (
                outcome.status == InboxStatus.APPLIED
                and not outcome.duplicate
                and pending.on_money_moved is not None
            ):
                hooks.setdefault(id(pending.on_money_moved), pending.on_money_moved)
            if not pending.future.done():
                pending.future.set_result(outcome)
        elif not pending.future.done():
            pending.future.set_exception(outcome)
    for hook in hooks.values():
        _push_soon(hook)


PUSH_INTERVAL_S = 0.1


@dataclass
class _PushTimes:
    last: dict[int, float] = field(default_factory=dict)  # hook id -> when it last ran (loop time)
    scheduled: set[int] = field(default_factory=set)  # hook ids with a trailing push waiting


_push_times: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _PushTimes] = weakref.WeakKeyDictionary()


def _push_soon(hook: Hook) -> None:
    """Run `hook` now, or at the end of the interval if it ran less than PUSH_INTERVAL_S ago.

    Under load every batch moves money; pushing after each would read the pot
    back to back, and on SQLite each read takes the write lock the writer
    needs. At most one push per interval (plus one trailing push, so the last
    batch is always shown) keeps viewers within 100 ms of the ledger.
    """
    loop = asyncio.get_running_loop()
    times = _push_times.setdefault(loop, _PushTimes())
    key = id(hook)
    if key in times.scheduled:
        return
    wait_s = times.last.get(key, float("-inf")) + PUSH_INTERVAL_S - loop.time()
    if wait_s <= 0:
        times.last[key] = loop.time()
        _notify(hook)
        return
    times.scheduled.add(key)

    def push() -> None:
        times.scheduled.discard(key)
        times.last[key] = loop.time()
        _notify(hook)

    loop.call_later(wait_s, push)


_notifications: set[asyncio.Task] = set()


def _notify(on_money_moved: Hook) -> None:
    """Run the after-money hook in the background; its failure is logged, never the webhook's."""

    async def run() -> None:
        try:
            await on_money_moved()
        except Exception:  # the ledger is already right; viewers catch up on their next load
            logger.exception("pushing the money change to viewers failed")

    task = asyncio.create_task(run())
    _notifications.add(task)
    task.add_done_callback(_notifications.discard)


_writers: dict[str, WebhookWriter] = {}
_writers_lock = threading.Lock()


def writer_for(db_url: str) -> WebhookWriter:
    """This process's writer for `db_url`."""
    with _writers_lock:
        writer = _writers.get(db_url)
        if writer is None:
            writer = _writers[db_url] = WebhookWriter(db_url)
        return writer


async def drain_writers(timeout_s: float = DRAIN_TIMEOUT_S) -> DrainReport:
    """On shutdown: drain every writer of this process (one per database), within `timeout_s` in all."""
    with _writers_lock:
        writers = list(_writers.values())
    started = time.monotonic()
    settled = left = 0
    for writer in writers:
        remaining_s = max(0.0, timeout_s - (time.monotonic() - started))
        report = await writer.drain(remaining_s)
        settled, left = settled + report.settled, left + report.left
    return DrainReport(settled=settled, left=left, seconds=round(time.monotonic() - started, 3))


def reopen_writers() -> None:
    """On startup: every writer of this process takes deliveries (again, if a lifespan ran before)."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.reopen()

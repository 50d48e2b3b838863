"""Background work that runs for the life of the backend (Reflex lifespan tasks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cozykart.services import default_uow, webhooks
from cozykart.settings import load_settings

WEBHOOK_RETRY_INTERVAL_S = 10.0
logger = logging.getLogger("cozykart.tasks")


async def retry_webhooks(on_money_moved: Callable[[], Awaitable[None]] | None = None) -> None:
    """Every few seconds, apply the inbox's failed and waiting events whose backoff is over.

    Several workers may each run this: applying is idempotent (the ledger's keys),
    so the worst case is a wasted attempt, never a double credit.
    """
    settings = load_settings()
    while True:
        await asyncio.sleep(WEBHOOK_RETRY_INTERVAL_S)
        try:
            applied = await asyncio.to_thread(lambda: webhooks.retry_due(uow=default_uow(settings)))
        except Exception:  # a bad round must not end the loop; it is logged
            logger.exception("webhook retry round failed")
            continue
        if applied:
            logger.info("webhook retries applied %d event(s)", applied)
            if on_money_moved is not None:
                try:
                    await on_money_moved()
                except Exception:  # viewers catch up on their next load; the ledger is right
                    logger.exception("pushing the money change to viewers failed")

"""`GET /api/health`: can this worker serve, and what is behind on it.

It asks the database (its migration revision, and how long that took), Redis
when `REFLEX_REDIS_URL` is set (a PING with a one-second timeout) and the Discord
outbox (pending, failed, the oldest pending message's age) separately, so the
answer names the part that is down:

    {"ok": bool, "database": {"ok", "revision", "latency_ms"},
     "redis": {"ok", "configured", "latency_ms"}, "outbox": {"ok", "pending", "failed",
     "oldest_pending_s", "lag_max_s"}, "database_revision": str}

200 when the database answers, else 503: a load balancer or orchestrator then
stops sending this worker requests it cannot store. `ok` is false, still with
200, when a configured Redis is down (pages lose their state, but webhooks need
only the database: taking the worker out would refuse payments it stores
correctly) or, in `outbox.ok`, when the outbox is older than its limit (Discord
being behind is the operator's to look at: `/metrics` alerts on it).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cozykart.services.reads.operations import health_report


async def health(request: Request) -> JSONResponse:
    serving, report = await asyncio.to_thread(health_report, request.app.state.settings)
    return JSONResponse(report, status_code=200 if serving else 503, headers={"Cache-Control": "no-store"})


routes = [Route("/api/health", health, methods=["GET"])]

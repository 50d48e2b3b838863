"""`GET /api/health`: is the app up and its database reachable."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cozykart.services import default_uow
from cozykart.services.reads.migration_state import database_revision


async def health(request: Request) -> JSONResponse:
    try:
        settings = request.app.state.settings
        revision = await asyncio.to_thread(lambda: database_revision(uow=default_uow(settings)))
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse({"ok": False, "error": type(error).__name__}, status_code=503)
    return JSONResponse({"ok": True, "database_revision": revision})


routes = [Route("/api/health", health, methods=["GET"])]

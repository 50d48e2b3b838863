"""`GET /api/pot`: the live race and its prize pool, as public JSON."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cozykart.services import read_uow
from cozykart.services.reads.pot import live_pot


async def pot(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    snapshot = await asyncio.to_thread(lambda: live_pot(uow=read_uow(settings), feed_length=0))
    return JSONResponse(snapshot.to_json(), headers={"Cache-Control": "no-store"})


routes = [Route("/api/pot", pot, methods=["GET"])]

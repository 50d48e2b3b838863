"""`GET /api/standings[?season=ID]`: a season's standings rows, as public JSON.

Without `season`, the active season (else the latest closed one); with no
season at all, an empty list. The body is the bare list of rows, best first
(the public interface the project fixed as "the standings rows"):

    [{"rank", "racer_id", "name", "avatar_url", "points", "wins", "races",
      "podiums", "average_finish"}, ...]

`average_finish` is over finished races (DNFs excluded), null without a finish.
An unknown season is a 404, a malformed id a 400, each as {"error": "..."}.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cozykart.api._http import error_response_for
from cozykart.domain.errors import CozyKartError, InvalidInput
from cozykart.services import default_uow
from cozykart.services.reads.league_views import StandingRow, StandingsView
from cozykart.services.reads.standings import season_standings

STANDINGS_ROWS_MAX = 1000
SEASON_ID_DIGITS_MAX = 18
CACHE_CONTROL = "public, max-age=5"


def _row_json(row: StandingRow) -> dict:
    return {
        "rank": row.rank,
        "racer_id": row.racer_id,
        "name": row.name,
        "avatar_url": row.avatar_url,
        "points": row.points,
        "wins": row.wins,
        "races": row.races,
        "podiums": row.podiums,
        "average_finish": round(row.average_finish, 3) if row.average_finish is not None else None,
    }


def standings_json(view: StandingsView | None) -> list[dict]:
    """The season's rows, best first; none without a season."""
    return [] if view is None else [_row_json(row) for row in view.rows]


NO_STORE = {"Cache-Control": "no-store"}


async def standings(request: Request) -> JSONResponse:
    raw = request.query_params.get("season")
    season_id = None
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= SEASON_ID_DIGITS_MAX):
            return error_response_for(
                InvalidInput("season must be a season id (a whole number)."), headers=NO_STORE
            )
        season_id = int(raw)
    settings = request.app.state.settings
    try:
        view = await asyncio.to_thread(
            lambda: season_standings(season_id, uow=default_uow(settings), limit=STANDINGS_ROWS_MAX)
        )
    except CozyKartError as error:
        return error_response_for(error, headers=NO_STORE)
    return JSONResponse(standings_json(view), headers={"Cache-Control": CACHE_CONTROL})


routes = [Route("/api/standings", standings, methods=["GET"])]

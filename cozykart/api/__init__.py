"""HTTP routes on the Reflex backend: webhooks, Discord, OAuth, public JSON, health and metrics.

`build_api()` returns a Starlette app that Reflex mounts itself inside
(`rx.App(api_transformer=...)`), so these routes share the app's one port.
Each module here owns its routes and exports them as `routes`; handlers are
thin: read the request, call one service, turn domain errors into 4xx answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from cozykart.api import auth, discord, health, metrics, pot, public, webhooks
from cozykart.settings import Settings, load_settings


def api_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *metrics.routes,
        *pot.routes,
        *public.routes,
        *webhooks.routes,
        *auth.routes,
        *discord.routes,
    ]


def build_api(
    settings: Settings | None = None, *, on_money_moved: Callable[[], Awaitable[None]] | None = None
) -> Starlette:
    """The API app. Handlers read `request.app.state.settings` (the environment by
    default); `on_money_moved` is awaited after a webhook moved money (the Live Pot
    push), never holding up the acknowledgement."""
    api = Starlette(routes=api_routes())
    api.state.settings = settings or load_settings()
    api.state.on_money_moved = on_money_moved
    return api

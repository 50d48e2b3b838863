"""Builds the Reflex app: pages, their routes, and the API mounted beside them."""

import reflex as rx

from cozykart.api import build_api
from cozykart.ui import routes
from cozykart.ui.pages.watch import WatchState, watch_page

app = rx.App(api_transformer=build_api())
app.add_page(watch_page, route=routes.WATCH, title="Cozy-Kart · Watch", on_load=WatchState.load)

"""Builds the Reflex app: pages and their routes. Nothing else lives here."""

import reflex as rx

from cozykart.ui import routes
from cozykart.ui.pages.watch import WatchState, watch_page

app = rx.App()
app.add_page(watch_page, route=routes.WATCH, title="Cozy-Kart · Watch", on_load=WatchState.load)

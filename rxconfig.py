"""Reflex configuration. The database URL comes from REFLEX_DB_URL (see cozykart/settings.py)."""

import reflex as rx
from reflex_base.plugins.sitemap import SitemapPlugin

from cozykart.settings import load_settings

config = rx.Config(
    app_name="cozykart",
    db_url=load_settings().db_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="amber", gray_color="mauve", radius="large"),
        ),
    ],
    disable_plugins=[SitemapPlugin],
)

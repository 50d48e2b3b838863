"""Reflex configuration. The database URL comes from REFLEX_DB_URL (see cozykart/settings.py).

Where a browser tab's page state lives, chosen on purpose:
- one worker (no REFLEX_REDIS_URL): in that worker's memory, dropped after
  REFLEX_REDIS_TOKEN_EXPIRATION. Reflex's default in production is its disk
  manager, which pickles every tab's state into `.states/` and keeps it there;
  a tab's state is only a copy of what the database says (it is reseeded on
  every page load), so a restart loses nothing but a hydrate, while files at
  rest would be one more copy of racers' wallets and admin queues to protect.
- several workers (REFLEX_REDIS_URL set): in Redis, which every worker shares.
Neither ever holds a session id (`cozykart/ui/socket_guard.py` keeps the cookie
out of the tab's state) or a freshly made overlay key (shown once, never a var).
"""

import logging

import reflex as rx
from reflex_base.plugins.sitemap import SitemapPlugin

from cozykart.settings import load_settings

_settings = load_settings()


class _NoAdviceAgainstTheReadme(logging.Filter):
    """Reflex's console lines that would contradict the README, corrected where they are logged.

    - Its first `reflex run` initializes the web directory and then advises "Run
      `uv run reflex run` to start the app": here `./scripts/demo` (or `reflex run`
      in the project's environment) already is that start, so the advice is cut.
    - With Node.js older than 22.22 it warns "out of date. Upgrade": but it then runs
      the frontend's tools with bun's own runtime (`bun --bun`, reflex/utils/js_runtimes.py),
      so Node.js 20, what the README asks for, works; the warning is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "of Node.js is out of date" in message:
            return False
        if "uv run reflex run" in message and message.startswith("Initialized "):
            record.msg, record.args = message.split(".", 1)[0] + ".", None
        return True


for _name in ("reflex.reflex", "reflex.utils.js_runtimes"):
    logging.getLogger(_name).addFilter(_NoAdviceAgainstTheReadme())

config = rx.Config(
    app_name="cozykart",
    db_url=_settings.db_url,
    state_manager_mode="redis" if _settings.redis_url else "memory",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="amber", gray_color="mauve", radius="large")
        )
    ],
    disable_plugins=[SitemapPlugin],
)

"""Builds the Reflex app: the API mounted beside the pages, the socket's door, and every declared page."""

import gc

import reflex as rx
from reflex.config import get_config
from reflex.utils.exec import is_prod_mode
from reflex.utils.prerequisites import get_states_dir

import cozykart.ui.pages  # noqa: F401  (importing the package declares every page)
from cozykart.api import build_api, discord, tasks, webhooks
from cozykart.domain.identity import refuse_dev_login_in_production
from cozykart.services.tips import refuse_demo_tips_in_production
from cozykart.settings import load_settings
from cozykart.ui import event_guard, live_pot, live_race, socket_guard
from cozykart.ui.layout import declared_pages
from cozykart.ui.pages import overlays


def build_app() -> rx.App:
    """The app with its API, event checks and lifespan tasks, and the pages the page modules declared."""
    # The developer login and demo tips must never run in production (`reflex run --env prod`).
    refuse_dev_login_in_production(dev_login=load_settings().dev_login, production=is_prod_mode())
    refuse_demo_tips_in_production(demo_tips=load_settings().demo_tips, production=is_prod_mode())

    app = rx.App(
        api_transformer=[
            build_api(on_money_moved=live_pot.publish),
            lambda asgi_app: socket_guard.guard_event_socket(
                asgi_app,
                allowed=socket_guard.allowed_origins(
                    get_config().deploy_url, load_settings().allowed_origins
                ),
                dev_mode=not is_prod_mode(),
            ),
        ],
        stylesheets=["/cozykart.css"],
        head_components=[overlays.key_stash_script()],
    )
    socket_guard.attach(app)
    app.add_middleware(event_guard.ArgumentGuard())
    app.add_middleware(event_guard.ViewerChangeGuard())
    socket_guard.seal_states_dir(get_states_dir())
    live_pot.attach(app)
    live_race.attach(app)
    # A context manager: Reflex exits it on shutdown before it cancels the tasks below.
    app.register_lifespan_task(webhooks.drain_writer_on_shutdown)
    app.register_lifespan_task(tasks.retry_webhooks, on_money_moved=live_pot.publish)
    app.register_lifespan_task(discord.send_announcements)
    app.register_lifespan_task(discord.send_direct_messages)
    for declared in declared_pages():
        app.add_page(declared.component, route=declared.route, title=declared.title, on_load=declared.on_load)
    return app


app = build_app()
# Everything built so far (Reflex, SQLAlchemy, the pages) lives as long as the process: out of the
# collector's sight, a full collection no longer walks it, which was most of a 5,000-racer standings
# read's p95 (bench/scale.py measures the read with and without).
gc.freeze()

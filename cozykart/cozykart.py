"""Builds the Reflex app: pages, their routes, and the API mounted beside them."""

import reflex as rx
from reflex.config import get_config
from reflex.utils.exec import is_prod_mode
from reflex.utils.prerequisites import get_states_dir

from cozykart.api import build_api, discord, tasks
from cozykart.domain.identity import refuse_dev_login_in_production
from cozykart.services.tips import refuse_demo_tips_in_production
from cozykart.settings import load_settings
from cozykart.ui import event_guard, live_pot, routes, socket_guard
from cozykart.ui.admin_layout import (
    ADMIN_OUTBOX_ROUTE,
    ADMIN_OVERLAYS_ROUTE,
    ADMIN_PAYOUTS_ROUTE,
    ADMIN_RECONCILE_ROUTE,
    ADMIN_WEBHOOKS_ROUTE,
)
from cozykart.ui.auth_state import ADMIN_ROLES_ROUTE, PROFILE_ROUTE
from cozykart.ui.pages import overlays
from cozykart.ui.pages.admin_outbox import OutboxAdminState, admin_outbox_page
from cozykart.ui.pages.admin_overlays import OverlayAdminState, overlays_admin_page
from cozykart.ui.pages.admin_payouts import PayoutsAdminState, admin_payouts_page
from cozykart.ui.pages.admin_reconcile import ReconcileAdminState, admin_reconcile_page
from cozykart.ui.pages.admin_results import ResultsAdminState, admin_results_page
from cozykart.ui.pages.admin_roles import RolesState, roles_page
from cozykart.ui.pages.admin_seasons import SeasonsAdminState, admin_seasons_page
from cozykart.ui.pages.admin_settings import MoneySettingsState, admin_settings_page
from cozykart.ui.pages.admin_webhooks import InboxAdminState, admin_webhooks_page
from cozykart.ui.pages.lobby import LobbyState, lobby_page
from cozykart.ui.pages.profile import ProfileState, profile_page
from cozykart.ui.pages.racer import RACER_ROUTE, RacerProfileState, racer_page
from cozykart.ui.pages.standings import StandingsState, standings_page_view
from cozykart.ui.pages.tip import TipState, tip_page
from cozykart.ui.pages.wallet import WalletState, wallet_page
from cozykart.ui.pages.watch import WatchState, watch_page

# The developer login and demo tips must never run in production (`reflex run --env prod`).
refuse_dev_login_in_production(dev_login=load_settings().dev_login, production=is_prod_mode())
refuse_demo_tips_in_production(demo_tips=load_settings().demo_tips, production=is_prod_mode())

app = rx.App(
    api_transformer=[
        build_api(on_money_moved=live_pot.publish),
        lambda asgi_app: socket_guard.guard_event_socket(
            asgi_app,
            allowed=socket_guard.allowed_origins(get_config().deploy_url, load_settings().allowed_origins),
            dev_mode=not is_prod_mode(),
        ),
    ],
    stylesheets=["/cozykart.css"],
)
socket_guard.attach(app)
app.add_middleware(event_guard.ArgumentGuard())
app.add_middleware(event_guard.ViewerChangeGuard())
socket_guard.seal_states_dir(get_states_dir())
live_pot.attach(app)
app.register_lifespan_task(tasks.retry_webhooks, on_money_moved=live_pot.publish)
app.register_lifespan_task(discord.send_announcements)
app.add_page(
    watch_page, route=routes.WATCH, title="Cozy-Kart · Watch", on_load=[WatchState.load, live_pot.LivePotState.join]
)
app.add_page(profile_page, route=PROFILE_ROUTE, title="Cozy-Kart · Your profile", on_load=ProfileState.load)
app.add_page(roles_page, route=ADMIN_ROLES_ROUTE, title="Cozy-Kart · Roles", on_load=RolesState.load)
app.add_page(overlays.pot_overlay, route=overlays.POT_ROUTE, title="Cozy-Kart · Pot overlay",
             on_load=overlays.OverlayState.open)
app.add_page(overlays.alerts_overlay, route=overlays.ALERTS_ROUTE, title="Cozy-Kart · Alerts overlay",
             on_load=overlays.OverlayState.open)
app.add_page(overlays_admin_page, route=ADMIN_OVERLAYS_ROUTE, title="Cozy-Kart · Overlays",
             on_load=OverlayAdminState.load)
app.add_page(admin_outbox_page, route=ADMIN_OUTBOX_ROUTE, title="Cozy-Kart · Discord outbox",
             on_load=OutboxAdminState.load)
app.add_page(lobby_page, route=routes.LOBBY, title="Cozy-Kart · Lobby", on_load=LobbyState.load)
app.add_page(standings_page_view, route=routes.STANDINGS, title="Cozy-Kart · Standings", on_load=StandingsState.load)
app.add_page(racer_page, route=RACER_ROUTE, title="Cozy-Kart · Racer", on_load=RacerProfileState.load)
app.add_page(wallet_page, route=routes.WALLET, title="Cozy-Kart · Your wallet", on_load=WalletState.load)
app.add_page(tip_page, route=routes.TIP, title="Cozy-Kart · Tip the DJ", on_load=TipState.load)
app.add_page(admin_payouts_page, route=ADMIN_PAYOUTS_ROUTE, title="Cozy-Kart · Payouts", on_load=PayoutsAdminState.load)
app.add_page(admin_webhooks_page, route=ADMIN_WEBHOOKS_ROUTE, title="Cozy-Kart · Webhook inbox",
             on_load=InboxAdminState.load)
app.add_page(admin_reconcile_page, route=ADMIN_RECONCILE_ROUTE, title="Cozy-Kart · Reconciliation",
             on_load=ReconcileAdminState.load)
app.add_page(admin_results_page, route=routes.ADMIN_RESULTS, title="Cozy-Kart · Results", on_load=ResultsAdminState.load)
app.add_page(admin_seasons_page, route=routes.ADMIN_SEASONS, title="Cozy-Kart · Seasons", on_load=SeasonsAdminState.load)
app.add_page(admin_settings_page, route=routes.ADMIN_SETTINGS, title="Cozy-Kart · Money settings",
             on_load=MoneySettingsState.load)

"""Every path the pages use: each page's route, and the API's paths the pages link to.

A page declares its route beside its state (`@layout.page(route=routes.LOBBY, ...)`);
every link and redirect names one of these, never a string of its own.
"""

# The site's pages.
WATCH = "/"
LOBBY = "/lobby"
STANDINGS = "/standings"
WALLET = "/wallet"
TIP = "/tip"
PROFILE = "/me"
# The slug has a name no state var uses: Reflex adds it as a var of the root state.
RACER = "/racers/[racer_key]"
RACER_ARG = "racer_key"
RACER_PREFIX = "/racers/"

# OBS browser sources (no layout; opened with the overlay key).
POT_OVERLAY = "/overlay/pot"
ALERTS_OVERLAY = "/overlay/alerts"

# The admin console.
ADMIN_PAYOUTS = "/admin/payouts"
ADMIN_RESULTS = "/admin/results"
ADMIN_SEASONS = "/admin/seasons"
ADMIN_SETTINGS = "/admin/settings"
ADMIN_WEBHOOKS = "/admin/webhooks"
ADMIN_RECONCILE = "/admin/reconcile"
ADMIN_OUTBOX = "/admin/outbox"
ADMIN_OVERLAYS = "/admin/overlays"
ADMIN_ROLES = "/admin/roles"

# Served by the API (cozykart/api/auth.py), linked from the pages.
LOGIN = "/auth/discord/login"
DEV_LOGIN_PAGE = "/auth/dev"
LOGOUT = "/auth/logout"

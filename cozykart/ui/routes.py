"""Every path the pages use: each page's route, and the API's paths the pages link to.

A page declares its route beside its state (`@layout.page(route=routes.LOBBY, ...)`);
every link and redirect names one of these, never a string of its own. Each
upper-case string here is a page's route (tests/e2e/test_screenshots.py opens
them all); what is not a page sits in a class (`Auth`, `Slugs`).
"""


class Slugs:
    """The names of dynamic routes' parts. Reflex adds each as a var of the root state: no state var uses them."""

    RACER = "racer_key"
    RACE = "race_key"


class Auth:
    """The /auth paths the pages link to, served by the API (cozykart/api/auth.py): not pages."""

    LOGIN = "/auth/discord/login"
    DEV_LOGIN_PAGE = "/auth/dev"
    LOGOUT = "/auth/logout"


# The site's pages.
WATCH = "/"
LOBBY = "/lobby"
STANDINGS = "/standings"
WALLET = "/wallet"
TIP = "/tip"
PROFILE = "/me"
NOTICES = "/notices"
RACER = f"/racers/[{Slugs.RACER}]"
RACE = f"/races/[{Slugs.RACE}]"
DJ = "/dj"

# OBS browser sources (no layout; opened with the overlay key).
POT_OVERLAY = "/overlay/pot"
ALERTS_OVERLAY = "/overlay/alerts"
SUPPORTERS_OVERLAY = "/overlay/supporters"  # ?scope=race|season (default race)
GOAL_OVERLAY = "/overlay/goal"
REQUESTS_OVERLAY = "/overlay/requests"

# The admin console.
ADMIN_PAYOUTS = "/admin/payouts"
ADMIN_RESULTS = "/admin/results"
ADMIN_SEASONS = "/admin/seasons"
ADMIN_SETTINGS = "/admin/settings"
ADMIN_WEBHOOKS = "/admin/webhooks"
ADMIN_RECONCILE = "/admin/reconcile"
ADMIN_STATEMENTS = "/admin/statements"
ADMIN_OUTBOX = "/admin/outbox"
ADMIN_OVERLAYS = "/admin/overlays"
ADMIN_ROLES = "/admin/roles"
ADMIN_AUDIT = "/admin/audit"


def racer_path(racer_id: int) -> str:
    """A racer's public profile: `RACER` with its slug filled in."""
    return RACER.replace(f"[{Slugs.RACER}]", str(racer_id))


def race_path(race_id: int) -> str:
    """A race's public receipt: `RACE` with its slug filled in."""
    return RACE.replace(f"[{Slugs.RACE}]", str(race_id))

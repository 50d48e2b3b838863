"""The site's pages, one module each with its state beside it.

Importing this package imports every page module, and each declares its route,
title and on_load (`ui/layout.page`); `cozykart.py` adds `layout.declared_pages()`.
"""

from cozykart.ui.pages import (  # noqa: F401  (imported to declare their pages)
    admin_audit,
    admin_outbox,
    admin_overlays,
    admin_payouts,
    admin_reconcile,
    admin_results,
    admin_roles,
    admin_seasons,
    admin_settings,
    admin_statements,
    admin_webhooks,
    dj,
    lobby,
    notices,
    overlay_goal,
    overlay_requests,
    overlay_supporters,
    overlays,
    profile,
    race,
    racer,
    standings,
    tip,
    wallet,
    watch,
)

"""Pages declare themselves (issue 16, item 5): each page module names its route, title and on_load,
every route is one of `ui/routes.py`, and `cozykart.py` adds exactly the declared pages."""

from __future__ import annotations

import cozykart.cozykart as served
import cozykart.ui.pages  # importing the package declares every page
from cozykart.api import auth
from cozykart.ui import routes
from cozykart.ui.layout import TITLE_PREFIX, declared_pages

ROUTE_VALUES = {value for name, value in vars(routes).items() if name.isupper() and isinstance(value, str)}


def _path(reflex_route: str) -> str:
    return "/" if reflex_route == "index" else f"/{reflex_route}"


def test_every_declared_page_has_its_own_route_from_the_routes_module_and_a_title():
    pages = declared_pages()
    declared_routes = [declared.route for declared in pages]
    assert len(pages) >= 18
    assert len(set(declared_routes)) == len(declared_routes)
    assert set(declared_routes) <= ROUTE_VALUES
    for declared in pages:
        assert declared.title.startswith(TITLE_PREFIX) and declared.title != TITLE_PREFIX, declared
        assert declared.on_load is not None, declared
        assert callable(declared.component), declared


def test_the_app_registers_exactly_the_declared_pages_with_their_titles_and_on_loads():
    registered = {_path(route): page for route, page in served.app._unevaluated_pages.items()}
    declared = {page.route: page for page in declared_pages()}
    assert set(registered) == set(declared)
    for route, page in declared.items():
        assert registered[route].title == page.title
        assert registered[route].on_load == page.on_load


def test_the_login_and_logout_paths_the_pages_link_to_are_the_ones_the_api_serves():
    assert (routes.Auth.LOGIN, routes.Auth.DEV_LOGIN_PAGE, routes.Auth.LOGOUT) == (
        auth.LOGIN_PATH,
        auth.DEV_LOGIN_PAGE_PATH,
        auth.LOGOUT_PATH,
    )


def test_a_racer_path_fills_the_racer_route_slug():
    assert f"/racers/[{routes.Slugs.RACER}]" == routes.RACER
    assert routes.racer_path(7) == "/racers/7"


def test_every_page_route_constant_has_a_declared_page():
    assert {page.route for page in declared_pages()} == ROUTE_VALUES

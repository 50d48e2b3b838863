"""Every page of the app, with the demo data, at desktop and at phone width.

The list of pages is the app's own: every route `cozykart/cozykart.py` registers
(so a page added later is in it the day it lands; a new public page without a
plan below fails the first test, a new /admin page gets the admin plan). Each
page is opened as the person it is for (a visitor, a racer with a history, the
admin; the overlays with their key) at 1280x800 and at 390x844, and must show
its own content (a marker only that page renders), no error boundary, no
uncaught browser error, no control without a label, its header's colours
intact, and no sideways scrolling of the page itself.

Screenshots (`<page>.png`, `<page>-phone.png`) go to COZYKART_SCREENSHOT_DIR when
set (`docs/screenshots/` holds a committed set), else the test's tmp dir.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from cozykart.db.tables import Racer
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.integrations import stripe_payments
from cozykart.services import league, ledger, overlays, payouts, pot_goals, seasons
from cozykart.services.reads import standings
from cozykart.services.reads.pot import live_pot
from cozykart.services.reads.race_receipt import last_final_race_id
from cozykart.settings import PROJECT_ROOT, Settings, load_settings
from cozykart.ui import routes
from cozykart.ui.layout import NAV_LINKS
from cozykart.ui.pages.overlays import OVERLAYS  # filled as the app's pages are declared
from tests.e2e.conftest import E2E_ADMIN_DISCORD_ID, STRIPE_WEBHOOK_SECRET, screenshot_dir
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = (("", DESKTOP), ("-phone", PHONE))
ERROR_BOUNDARY_TEXT = "An error occurred while rendering this page."
CDN_PATTERN = "https://cdn.discordapp.com/**"
AVATAR_SVG = (PROJECT_ROOT / "assets" / "avatars" / "default.svg").read_bytes()
# A demo racer cannot log in through Discord (made-up ids): the screenshot racer borrows this one.
SCREENSHOT_RACER_DISCORD_ID = "900000000000000333"
DEMO_DJ_DISCORD_ID = "demo-rosalina_rx"  # Rosa, the demo league's DJ
GLOW_PX = 24
OLD_TIP_CENTS = 4_000
OLD_TIP_AGE = timedelta(days=30)  # well past the hold
PAYOUT_REQUEST_CENTS = 2_500
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)
ALERT_ATTEMPTS_MAX = 5
ALERT_WAIT_MS = 3_000
VISITOR, RACER, ADMIN_ROLE = "visitor", "racer", "admin"

# Inputs, selects and text areas on screen that no label names (label, aria-label/-labelledby, title).
UNLABELLED_CONTROLS_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.getClientRects().length > 0)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 160))"""
ALERT_SHOWN_JS = """() => {
  const alert = document.querySelector('[data-testid=overlay-alert]');
  return alert !== null && Number(getComputedStyle(alert).opacity) > 0.95;
}"""
# The header's links are drawn in the layout's light ink. When the prerendered page and the browser's
# first render disagree, React renders afresh and the page's styles are lost: the links turn gold.
MAIN_NAV_COLOR_JS = """() => {
  const link = document.querySelector('nav[aria-label=Main] a:not([aria-current=page])');
  return link === null ? null : getComputedStyle(link).color;
}"""
NAV_INK_RGB = "rgb(244, 242, 255)"  # #f4f2ff
IMAGES_LOADED_JS = "() => [...document.images].every(image => image.complete)"
OVERFLOW_PX_JS = "() => document.documentElement.scrollWidth - window.innerWidth"
CURRENT_NAV_LINK = "nav[aria-label=Main] a[aria-current=page]"
H1_TEXTS_JS = "() => [...document.querySelectorAll('h1')].map(heading => heading.innerText.trim())"


@dataclasses.dataclass(frozen=True)
class Plan:
    """How to look at one registered route: who opens it, at which URL, and what it must show."""

    route: str
    name: str
    who: str
    path: str
    marker: Callable[[Page], object]


def registered_routes() -> list[str]:
    """Every page route the app registers, as a path (`index` is `/`)."""
    from cozykart.cozykart import app

    return sorted("/" if route == "index" else f"/{route}" for route in app._unevaluated_pages)


def _file_name(route: str) -> str:
    names = {routes.WATCH: "watch", "/me": "profile", "/racers/[racer_key]": "racer", routes.RACE: "race"}
    return names.get(route) or route.strip("/").replace("/", "-")


_NOTICES_SHOWN = "[data-testid=notice-line], [data-testid=notices-empty]"


def _viewports(route: str) -> tuple[tuple[str, dict[str, int]], ...]:
    """Desktop and phone; an overlay (an OBS browser source, never on a phone) at the size OBS gives it."""
    spec = OVERLAYS.get(route)
    return VIEWPORTS if spec is None else (("", {"width": spec.width_px, "height": spec.height_px}),)


def _plans(
    route_list: list[str], *, leader_id: int, overlay_key: str, pot_text: str, race_id: int = 1
) -> list[Plan]:
    by_testid = lambda testid: lambda page: page.get_by_test_id(testid).first  # noqa: E731
    # The pot starts at its placeholder: wait for the real one (the database's) before the picture.
    the_pot = lambda page: page.get_by_test_id("pot-amount").filter(has_text=pot_text).first  # noqa: E731
    by_heading = lambda text: lambda page: page.get_by_role("heading", name=text, exact=True).first  # noqa: E731
    known: dict[str, tuple[str, str, Callable[[Page], object]]] = {
        routes.WATCH: (VISITOR, "/", the_pot),
        routes.LOBBY: (VISITOR, "/lobby", by_testid("race-card")),
        routes.STANDINGS: (VISITOR, "/standings", by_testid("standing-row")),
        "/racers/[racer_key]": (VISITOR, f"/racers/{leader_id}", by_testid("history-row")),
        routes.RACE: (VISITOR, routes.race_path(race_id), by_testid("receipt-result")),
        routes.TIP: (VISITOR, "/tip", by_heading("Tip the DJ")),
        routes.WALLET: (RACER, "/wallet", by_testid("my-payout")),
        "/me": (RACER, "/me", by_testid("mkt-name-input")),
        routes.NOTICES: (RACER, "/notices", lambda page: page.locator(_NOTICES_SHOWN).first),
        "/admin/roles": (ADMIN_ROLE, "/admin/roles", by_testid("role-row")),
        "/admin/payouts": (ADMIN_ROLE, "/admin/payouts", by_testid("pending-payout")),
        "/admin/audit": (ADMIN_ROLE, "/admin/audit", by_testid("audit-row")),
        "/overlay/pot": (VISITOR, f"/overlay/pot?key={overlay_key}", the_pot),
        "/overlay/alerts": (VISITOR, f"/overlay/alerts?key={overlay_key}", by_testid("overlay-alert")),
        routes.SUPPORTERS_OVERLAY: (
            VISITOR,
            f"{routes.SUPPORTERS_OVERLAY}?key={overlay_key}",
            # The whole board, once its rows (the demo's fans) arrived with the pot.
            lambda page: page.get_by_test_id("supporters-board").filter(
                has=page.get_by_test_id("supporter-row")
            ),
        ),
        "/overlay/goal": (VISITOR, f"/overlay/goal?key={overlay_key}", by_testid("goal-bar")),
        # The racer is Rosa, the demo DJ: the tip `dj_with_a_payout_waiting` records is in her queue.
        routes.DJ: (RACER, "/dj", by_testid("dj-request")),
        routes.REQUESTS_OVERLAY: (
            VISITOR,
            f"/overlay/requests?key={overlay_key}",
            by_testid("requests-overlay"),
        ),
    }
    plans = []
    for route in route_list:
        if route in known:
            who, path, marker = known[route]
        elif route.startswith("/admin/"):
            who, path, marker = ADMIN_ROLE, route, by_testid("admin-nav")
        else:
            raise AssertionError(f"{route} has no screenshot plan: add one to tests/e2e/test_screenshots.py")
        plans.append(Plan(route=route, name=_file_name(route), who=who, path=path, marker=marker))
    return plans


@pytest.fixture(scope="module")
def leader_id(db) -> int:
    """The demo season's leader: a racer with a long race history."""
    view = standings.season_standings(uow=db)
    assert view is not None, "the demo has an active season"
    if not view.rows:
        seasons.rebuild_standings(view.season.season_id, uow=db)
        standings.clear_standings_cache()
        view = standings.season_standings(uow=db)
    return view.rows[0].racer_id


@pytest.fixture(scope="module")
def dj_with_a_payout_waiting(served_app, db) -> Racer:
    """The demo DJ, Rosa: race winnings on hold, an older tip she may cash out, and a payout request.

    The demo's own money is all still on hold, so without this the payout queue
    and the wallet's cash-out would only ever be pictured empty. The tip is
    recorded as it was before the league held earnings (hold 0 days): available at once.
    """
    settings = load_settings(served_app.env)
    settings_without_hold = dataclasses.replace(settings, hold_days=0)
    with db:
        rosa = db.session.exec(select(Racer).where(Racer.discord_id == DEMO_DJ_DISCORD_ID)).one()
        db.session.expunge(rosa)
    token = uuid.uuid4().hex[:8]
    ledger.record_tip(
        key=f"screenshots-tip-{token}",
        dj_racer_id=rosa.id,
        tip_cents=OLD_TIP_CENTS,
        tipped_at=datetime.now(UTC) - OLD_TIP_AGE,
        song="Coconut Mall",
        fan_name="Theo",
        message="For the drift kings!",
        uow=UnitOfWork(db.engine, handlers=db.handlers, settings=settings_without_hold),
    )
    payouts.request_payout(
        rosa.id,
        PAYOUT_REQUEST_CENTS,
        key=f"screenshots-payout-{token}",
        uow=UnitOfWork(db.engine, handlers=db.handlers, settings=settings),
    )
    return rosa


@pytest.fixture(scope="module")
def webhooks_in_the_inbox(served_app) -> None:
    """Signed Stripe deliveries through the served app, so the webhook inbox is pictured with what
    a race night leaves there: a sale during the live race, a part refund of it, and a refund of a
    payment the league has not heard of yet (it waits, and is retried)."""
    token = uuid.uuid4().hex[:8]
    now = int(datetime.now(UTC).timestamp())
    events = [
        stripe_payments.checkout_completed_event(
            event_id=f"evt_shot_sale_{token}",
            session_id=f"cs_shot_{token}",
            payment_intent=f"pi_shot_{token}",
            amount_cents=3_500,
            currency="usd",
            created=now,
            metadata={"item": "Cozy-Kart tee"},
            customer_name="Marisol",
        ),
        stripe_payments.charge_refunded_event(
            event_id=f"evt_shot_refund_{token}",
            charge_id=f"ch_shot_{token}",
            payment_intent=f"pi_shot_{token}",
            amount_cents=3_500,
            amount_refunded_cents=1_000,
            currency="usd",
            created=now + 1,
        ),
        stripe_payments.charge_refunded_event(
            event_id=f"evt_shot_unknown_{token}",
            charge_id=f"ch_shot_x_{token}",
            payment_intent=f"pi_shot_unknown_{token}",
            amount_cents=2_000,
            amount_refunded_cents=2_000,
            currency="usd",
            created=now + 2,
        ),
    ]
    statuses = []
    for event in events:
        body = json.dumps(event)
        response = httpx.post(
            served_app.url("/api/webhooks/stripe"),
            content=body,
            timeout=10,
            headers={"Stripe-Signature": stripe_payments.sign(body, STRIPE_WEBHOOK_SECRET)},
        )
        assert response.status_code == 200, response.text
        statuses.append(response.json()["status"])
    assert statuses[:2] == ["applied", "applied"], statuses


@pytest.fixture(scope="module")
def overlay_key(served_app, db) -> str:
    """A fresh overlay key, made by an admin through the service (the admin page shows it once)."""
    settings = Settings(db_url=served_app.db_url, admin_discord_ids=frozenset({E2E_ADMIN_DISCORD_ID}))
    admin = league.get_or_create_racer(E2E_ADMIN_DISCORD_ID, ADMIN.username, ADMIN.global_name, None, uow=db)
    return overlays.regenerate_overlay_key(
        actor_id=admin.racer_id, uow=UnitOfWork(db.engine, handlers=db.handlers, settings=settings)
    )


@pytest.fixture(scope="module")
def pot_goal_set(served_app, db) -> None:
    """The demo's live race plays toward a goal above its pot (unless a test reached one already)."""
    pot = live_pot(uow=db)
    assert pot.race is not None, "the demo has a live race"
    if pot.goal is not None and pot.goal.reached:
        return
    settings = Settings(db_url=served_app.db_url, admin_discord_ids=frozenset({E2E_ADMIN_DISCORD_ID}))
    admin = league.get_or_create_racer(E2E_ADMIN_DISCORD_ID, ADMIN.username, ADMIN.global_name, None, uow=db)
    goal_units = (pot.pot_cents // 5000 + 2) * 50  # a round goal, a bar partly filled
    pot_goals.set_race_goal(
        pot.race.race_id,
        str(goal_units),
        actor_id=admin.racer_id,
        uow=UnitOfWork(db.engine, handlers=db.handlers, settings=settings),
    )


def _set_racer(db: UnitOfWork, racer_id: int, **values) -> None:
    with db:
        row = db.session.exec(select(Racer).where(Racer.id == racer_id)).one()
        for name, value in values.items():
            setattr(row, name, value)
        db.session.add(row)
        db.session.commit()


def _log_in(page: Page, served_app, fake_discord_server, user: FakeUser) -> None:
    page.route(
        CDN_PATTERN, lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)
    )
    fake_discord_server.user = user
    page.goto(served_app.url("/auth/discord/login?next=/me"), timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("account-name")).to_have_text(user.global_name, timeout=PAGE_TIMEOUT_MS)


def _check(page: Page, plan: Plan, suffix: str) -> list[str]:
    """What is wrong with the open page, in words (nothing when it is right)."""
    problems = []
    where = f"{plan.path} ({'phone' if suffix else 'desktop'})"
    if page.get_by_text(ERROR_BOUNDARY_TEXT).count():
        problems.append(f"{where}: the error boundary is showing")
    unlabelled = page.evaluate(UNLABELLED_CONTROLS_JS)
    if unlabelled:
        problems.append(f"{where}: controls without a label: {unlabelled}")
    if not plan.route.startswith("/overlay/"):  # overlays have no header
        nav_color = page.evaluate(MAIN_NAV_COLOR_JS)
        if nav_color != NAV_INK_RGB:
            problems.append(f"{where}: the header's links are {nav_color}, not {NAV_INK_RGB} (styles lost)")
        # One title per page; its sections are h2 (rx.heading is an h1 unless told otherwise).
        titles = page.evaluate(H1_TEXTS_JS)
        if len(titles) != 1:
            problems.append(f"{where}: {len(titles)} h1 headings, not one: {titles}")
        problems.extend(_current_nav_problems(page, plan, where))
    overflow_px = page.evaluate(OVERFLOW_PX_JS)
    if overflow_px > 1:  # the page itself scrolls sideways (wide tables must scroll inside their panel)
        problems.append(f"{where}: the page is {overflow_px}px wider than the screen")
    return problems


def _current_nav_problems(page: Page, plan: Plan, where: str) -> list[str]:
    """The header marks the page's own main link as current (after hydration: it reads the router), no other."""
    current = page.locator(CURRENT_NAV_LINK)
    try:
        if plan.route in {href for _label, href in NAV_LINKS}:
            expect(current).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
            expect(current).to_have_attribute("href", plan.route)
        else:
            expect(current).to_have_count(0)
    except AssertionError as error:
        return [f"{where}: the current main link is wrong: {str(error).splitlines()[0]}"]
    return []


def _around(locator, viewport: dict[str, int]) -> dict[str, float]:
    """The element's box and its glow, inside the screen (it pulses, so it is never "stable")."""
    box = locator.bounding_box()
    x, y = max(box["x"] - GLOW_PX, 0), max(box["y"] - GLOW_PX, 0)
    return {
        "x": x,
        "y": y,
        "width": min(box["width"] + 2 * GLOW_PX, viewport["width"] - x),
        "height": min(box["height"] + 2 * GLOW_PX, viewport["height"] - y),
    }


def _show_a_test_alert(overlay: Page, admin_page: Page, served_app) -> None:
    """The admin sends test alerts until the open overlay shows one (it may still be joining the feed)."""
    admin_page.goto(served_app.url("/admin/overlays"), timeout=PAGE_TIMEOUT_MS)
    for _attempt in range(ALERT_ATTEMPTS_MAX):
        admin_page.get_by_test_id("send-test-alert").click(timeout=PAGE_TIMEOUT_MS)
        try:
            expect(overlay.get_by_test_id("overlay-alert")).to_be_visible(timeout=ALERT_WAIT_MS)
        except AssertionError:
            continue
        # It pops in: wait until it is fully shown before the picture is taken.
        overlay.wait_for_function(ALERT_SHOWN_JS, timeout=ALERT_WAIT_MS)
        return


def test_every_registered_page_has_a_plan_and_the_route_constants_are_registered():
    registered = registered_routes()
    plans = _plans(registered, leader_id=1, overlay_key="k", pot_text="$1.00")

    assert [plan.route for plan in plans] == registered
    constants = {value for name, value in vars(routes).items() if name.isupper() and isinstance(value, str)}
    assert constants <= set(registered), f"route constants with no page: {constants - set(registered)}"
    assert len({plan.name for plan in plans}) == len(plans)  # one screenshot name per page


def test_every_page_renders_its_content_at_desktop_and_phone_width(
    served_app,
    fake_discord_server,
    browser,
    db,
    leader_id,
    overlay_key,
    dj_with_a_payout_waiting,
    webhooks_in_the_inbox,
    pot_goal_set,
    tmp_path,
):
    pot = live_pot(uow=db)
    pot_text = format_cents(pot.pot_cents, pot.currency)
    race_id = last_final_race_id(uow=db)
    assert race_id is not None, "the demo has final races"
    plans = _plans(
        registered_routes(), leader_id=leader_id, overlay_key=overlay_key, pot_text=pot_text, race_id=race_id
    )
    shots = screenshot_dir(tmp_path)
    racer = dj_with_a_payout_waiting
    contexts = {who: browser.new_context(viewport=DESKTOP) for who in (VISITOR, RACER, ADMIN_ROLE)}
    problems: list[str] = []
    try:
        pages = {who: context.new_page() for who, context in contexts.items()}
        # Uncaught errors in the browser (a hydration mismatch is one: React #418), per page.
        page_errors: dict[str, list[str]] = {who: [] for who in pages}
        for who, opened in pages.items():
            opened.on("pageerror", lambda error, who=who: page_errors[who].append(str(error).splitlines()[0]))
        admin_helper = contexts[ADMIN_ROLE].new_page()
        # The racer logs in through (fake) Discord on a borrowed id (demo ids are made up).
        _set_racer(db, racer.id, discord_id=SCREENSHOT_RACER_DISCORD_ID)
        _log_in(
            pages[RACER],
            served_app,
            fake_discord_server,
            FakeUser(
                id=SCREENSHOT_RACER_DISCORD_ID,
                username=racer.username,
                global_name=racer.display_name,
                avatar=None,
            ),
        )
        _set_racer(db, racer.id, avatar_url=racer.avatar_url)  # keep the demo avatar in the pictures
        _log_in(pages[ADMIN_ROLE], served_app, fake_discord_server, ADMIN)

        for plan in plans:
            page = pages[plan.who]
            for suffix, viewport in _viewports(plan.route):
                page.set_viewport_size(viewport)
                page_errors[plan.who].clear()
                page.goto(served_app.url(plan.path), timeout=PAGE_TIMEOUT_MS)
                if plan.route == "/overlay/alerts":
                    _show_a_test_alert(page, admin_helper, served_app)
                try:
                    expect(plan.marker(page)).to_be_visible(timeout=PAGE_TIMEOUT_MS)
                except AssertionError as error:
                    problems.append(f"{plan.path}: its content did not show: {str(error).splitlines()[0]}")
                    continue
                # Pictures only once every image has arrived (avatars, the sponsor's logo).
                page.wait_for_function(IMAGES_LOADED_JS, timeout=PAGE_TIMEOUT_MS)
                if plan.who == ADMIN_ROLE:
                    assert page.get_by_test_id("admin-refusal").count() == 0
                problems.extend(_check(page, plan, suffix))
                problems.extend(
                    f"{plan.path}: the browser reported: {error}" for error in page_errors[plan.who]
                )
                shot = str(shots / f"{plan.name}{suffix}.png")
                if plan.route.startswith("/overlay/"):  # a transparent page: picture just what OBS shows
                    page.screenshot(
                        path=shot, omit_background=True, clip=_around(plan.marker(page), viewport)
                    )
                else:
                    page.screenshot(path=shot, full_page=True)
    finally:
        for context in contexts.values():
            context.close()
        _set_racer(
            db,
            racer.id,
            discord_id=racer.discord_id,
            username=racer.username,
            display_name=racer.display_name,
            avatar_url=racer.avatar_url,
        )
    assert not problems, "\n".join(problems)

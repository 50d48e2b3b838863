"""Every irreversible action asks first, in words from the server, in a real browser.

For each action: the first click opens the dialog and changes nothing (the
database says so), "Cancel" (`confirm-no`) changes nothing, and "Confirm"
(`confirm-yes`) does it. Plus the two results flows of issue 17 item 2:
confirming a race nobody reported (who, DNF, the split, then all DNF), an
unchosen place refused, and a final race's whole table set again as ONE
correction.

Its own served app (production build) on a fresh database with no demo league,
built into COZYKART_E2E_WEB_DIR + "-confirm-dialogs".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cozykart.db.engine import create_db_engine
from cozykart.db.money_settings_tables import MoneySettingChange
from cozykart.db.tables import Racer, ResultFix
from cozykart.db.uow import UnitOfWork
from cozykart.services import identity, league, ledger, outbox, overlays, payouts, seasons, wallet
from cozykart.services.handlers import HANDLERS
from cozykart.settings import PROJECT_ROOT, load_settings
from tests.e2e.conftest import (
    E2E_ADMIN_DISCORD_ID,
    ServedApp,
    _app_env,
    _discord_env,
    _run_cli,
    screenshot_dir,
    serve_production,
)
from tests.fake_discord import FakeUser

pytestmark = pytest.mark.e2e
PAGE_TIMEOUT_MS = 30_000
SETTLE_MS = 600  # long enough for an event that would change something to have reached the server
ADMIN = FakeUser(id=E2E_ADMIN_DISCORD_ID, username="boss", global_name="Boss", avatar=None)


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture(scope="module")
def confirm_app(tmp_path_factory: pytest.TempPathFactory, fake_discord_server) -> Iterator[ServedApp]:
    workdir = tmp_path_factory.mktemp("confirm-dialogs-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-confirm-dialogs"
    env = _app_env(
        db_url, workdir / "states", {**_discord_env(fake_discord_server), "REFLEX_WEB_WORKDIR": web_dir}
    )
    _run_cli(env, "migrate")
    with serve_production(env, db_url, workdir) as app:
        yield app


@pytest.fixture(scope="module")
def db(confirm_app) -> Iterator[UnitOfWork]:
    engine = create_db_engine(confirm_app.db_url)
    try:
        yield UnitOfWork(engine, handlers=HANDLERS, settings=load_settings(confirm_app.env))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def admin_page(browser, confirm_app, fake_discord_server, db):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route("https://cdn.discordapp.com/**", lambda route: route.fulfill(status=404))
    fake_discord_server.user = ADMIN
    page.goto(confirm_app.url("/admin/results"), timeout=PAGE_TIMEOUT_MS)
    _expect()(page.get_by_test_id("admin-nav")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def _uow(db: UnitOfWork) -> UnitOfWork:
    return UnitOfWork(db.engine, handlers=db.handlers, settings=db.base_settings)


def _admin_id(db: UnitOfWork) -> int:
    with db:
        return db.session.execute(
            select(Racer.id).where(Racer.discord_id == E2E_ADMIN_DISCORD_ID)
        ).scalar_one()


def _racers(db: UnitOfWork, *names: str) -> list[int]:
    return [league.get_or_create_racer(f"cd-{n}", n, n.title(), uow=_uow(db)).racer_id for n in names]


def _eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the change did not happen in time"
        time.sleep(0.2)


def _ask_cancel_then_confirm(
    page, open_button, *, says: list[str], unchanged: Callable[[], bool], screenshot: Path | None = None
) -> None:
    """First click: the dialog, with these words, and nothing changed; Cancel: nothing; then Confirm."""
    expect = _expect()
    dialog = page.get_by_test_id("confirm-dialog")
    open_button.click()
    expect(dialog).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    for words in says:
        expect(dialog).to_contain_text(words)
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    page.wait_for_timeout(SETTLE_MS)
    assert unchanged(), "the first click alone changed something"
    page.get_by_test_id("confirm-no").click()
    expect(dialog).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)
    assert unchanged(), "cancel changed something"
    open_button.click()
    expect(dialog).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    page.get_by_test_id("confirm-yes").click()
    expect(dialog).to_have_count(0, timeout=PAGE_TIMEOUT_MS)


def _status(db: UnitOfWork, race_id: int) -> str:
    return league.get_race(race_id, uow=_uow(db)).status


def test_ending_then_confirming_a_race_nobody_reported_says_who_and_the_split_then_all_dnf(
    admin_page, confirm_app, db, tmp_path
):
    expect = _expect()
    admin_id = _admin_id(db)
    ana, ben = _racers(db, "ana", "ben")
    race = league.open_lobby("Silent Circuit", actor_id=admin_id, uow=_uow(db))
    for racer_id in (ana, ben):
        league.join_lobby(race.race_id, actor_id=racer_id, uow=_uow(db))
    league.start_race(race.race_id, actor_id=admin_id, uow=_uow(db))
    ledger.record_sale(
        key="cd-silent",
        gross_cents=3000,
        sold_at=league.get_race(race.race_id, uow=_uow(db)).started_at,
        item="Cozy hoodie",
        uow=_uow(db),
    )
    admin_page.goto(confirm_app.url("/lobby"), timeout=PAGE_TIMEOUT_MS)
    card = admin_page.get_by_test_id("race-card").filter(has_text="Silent Circuit")
    expect(card.get_by_test_id("end-button")).to_be_visible(timeout=PAGE_TIMEOUT_MS)

    _ask_cancel_then_confirm(
        admin_page,
        card.get_by_test_id("end-button"),
        says=["Silent Circuit stops being live now", "The pot so far: $6.00, for 2 racers (Ana, Ben)"],
        unchanged=lambda: _status(db, race.race_id) == "live",
    )
    _eventually(lambda: _status(db, race.race_id) == "ended")

    expect(card.get_by_test_id("confirm-button")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    _ask_cancel_then_confirm(
        admin_page,
        card.get_by_test_id("confirm-button"),
        says=[
            "2 of 2 racers have not reported: Ana, Ben. They will finish DNF (0 points).",
            "DNF Ana: 0 pts, $3.00",
            "DNF Ben: 0 pts, $3.00",
            "The pot of $6.00 is paid into their wallets (split evenly among the racers).",
        ],
        unchanged=lambda: _status(db, race.race_id) == "ended",
        screenshot=screenshot_dir(tmp_path) / "confirm-missing-reports.png",
    )
    expect(admin_page.get_by_test_id("confirm-yes")).to_have_count(0)
    _eventually(lambda: _status(db, race.race_id) == "final")
    final = league.get_race(race.race_id, uow=_uow(db))
    assert {entry.dnf for entry in final.entries} == {True}


def test_the_hosts_table_starts_unchosen_is_refused_so_and_is_set_after_the_dialog(
    admin_page, confirm_app, db
):
    expect = _expect()
    admin_id = _admin_id(db)
    cyd, dot = _racers(db, "cyd", "dot")
    race = league.open_lobby("Choice Cup", actor_id=admin_id, uow=_uow(db))
    for racer_id in (cyd, dot):
        league.join_lobby(race.race_id, actor_id=racer_id, uow=_uow(db))
    league.start_race(race.race_id, actor_id=admin_id, uow=_uow(db))
    league.end_race(race.race_id, actor_id=admin_id, uow=_uow(db))
    admin_page.goto(confirm_app.url("/lobby"), timeout=PAGE_TIMEOUT_MS)
    card = admin_page.get_by_test_id("race-card").filter(has_text="Choice Cup")
    expect(card.get_by_label("Finish of Cyd")).to_have_value("", timeout=PAGE_TIMEOUT_MS)
    expect(card.get_by_label("Finish of Dot")).to_have_value("")

    card.get_by_label("Finish of Cyd").select_option("2")
    card.get_by_test_id("set-table-button").click()
    expect(
        admin_page.locator("[data-sonner-toast]").filter(has_text="Choose a finishing position")
    ).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    expect(admin_page.get_by_test_id("confirm-dialog")).to_have_count(0)
    assert _status(db, race.race_id) == "ended"

    card.get_by_label("Finish of Dot").select_option("1")
    _ask_cancel_then_confirm(
        admin_page,
        card.get_by_test_id("set-table-button"),
        says=["Choice Cup becomes final now", "P1 Dot: 15 pts", "P2 Cyd: 12 pts", "no pot to split"],
        unchanged=lambda: _status(db, race.race_id) == "ended",
    )
    _eventually(lambda: _status(db, race.race_id) == "final")
    final = league.get_race(race.race_id, uow=_uow(db))
    assert {entry.racer.name: entry.position for entry in final.entries} == {"Cyd": 2, "Dot": 1}


def _fix_reasons(db: UnitOfWork, race_id: int) -> list[str]:
    with db:
        return list(
            db.session.execute(select(ResultFix.reason).where(ResultFix.race_id == race_id)).scalars()
        )


def test_an_admin_sets_a_final_races_whole_table_again_as_one_correction(
    admin_page, confirm_app, db, tmp_path
):
    expect = _expect()
    (silent,) = [
        race for race in league.list_races(uow=_uow(db), statuses=("final",)) if race.name == "Silent Circuit"
    ]
    admin_page.goto(confirm_app.url("/admin/results"), timeout=PAGE_TIMEOUT_MS)
    race = admin_page.get_by_test_id("final-race").filter(has_text="Silent Circuit")
    expect(race).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    race.get_by_test_id("table-fix-open").click()
    positions = race.get_by_test_id("table-fix-position")
    expect(positions).to_have_count(2)
    positions.nth(0).fill("1")
    positions.nth(1).fill("2")
    race.get_by_test_id("table-fix-reason").fill("Nobody reported: the stream shows Ana won")

    _ask_cancel_then_confirm(
        admin_page,
        race.get_by_test_id("table-fix-submit"),
        says=[
            "One correction of Silent Circuit, kept with the reason 'Nobody reported: the stream shows Ana won'",
            "Ana: DNF → P1, 0 → 15 pts",
            "Ben: DNF → P2, 0 → 12 pts",
            "Discord is told the corrected results",
        ],
        unchanged=lambda: _fix_reasons(db, silent.race_id) == [],
        screenshot=screenshot_dir(tmp_path) / "confirm-table-correction.png",
    )
    _eventually(lambda: len(_fix_reasons(db, silent.race_id)) == 2)
    assert set(_fix_reasons(db, silent.race_id)) == {"Nobody reported: the stream shows Ana won"}
    fixed = league.get_race(silent.race_id, uow=_uow(db))
    assert sorted((entry.racer.name, entry.position) for entry in fixed.entries) == [("Ana", 1), ("Ben", 2)]
    expect(admin_page.get_by_test_id("fix-outcome-panel")).to_contain_text("Fixed: Silent Circuit")
    corrected = [row for row in outbox.list_outbox(uow=_uow(db)) if row.kind == "race_results_corrected"]
    assert len(corrected) == 1


def test_a_new_overlay_key_asks_and_says_what_breaks(admin_page, confirm_app, db):
    overlays.regenerate_overlay_key(actor_id=_admin_id(db), uow=_uow(db))

    def current() -> str | None:
        with db:
            return db.overlays.current_key_sha256()

    before = current()
    admin_page.goto(confirm_app.url("/admin/overlays"), timeout=PAGE_TIMEOUT_MS)
    _ask_cancel_then_confirm(
        admin_page,
        admin_page.get_by_test_id("regenerate-overlay-key"),
        says=["OBS scenes using the old key stop updating"],
        unchanged=lambda: current() == before,
    )
    _eventually(lambda: current() != before)


def test_paying_rejecting_and_paying_directly_each_ask_with_the_amount_and_the_racer(
    admin_page, confirm_app, db
):
    expect = _expect()
    admin_id = _admin_id(db)
    (eli,) = _racers(db, "eli")
    ledger.adjust_wallet(admin_id, eli, 6000, reason="e2e prize", key="cd-eli-money", uow=_uow(db))
    first = payouts.request_payout(eli, 2500, key="cd-eli-1", uow=_uow(db))
    second = payouts.request_payout(eli, 2000, key="cd-eli-2", uow=_uow(db))

    def status(payout_id) -> str:
        with db:
            return str(db.payouts.by_id(int(payout_id)).status)

    admin_page.goto(confirm_app.url("/admin/payouts"), timeout=PAGE_TIMEOUT_MS)
    row = admin_page.get_by_test_id("pending-payout").filter(has_text=f"#{first}")
    expect(row).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    row.get_by_test_id("pay-method").select_option("paypal")
    row.get_by_test_id("pay-reference").fill("PP-CD-1")
    _ask_cancel_then_confirm(
        admin_page,
        row.get_by_test_id("pay-button"),
        says=[
            f"Payout #{first}: $25.00 to Eli by PayPal, reference 'PP-CD-1'.",
            "Send the money yourself first",
        ],
        unchanged=lambda: status(first) == "pending",
    )
    _eventually(lambda: status(first) == "paid")

    row = admin_page.get_by_test_id("pending-payout").filter(has_text=f"#{second}")
    row.get_by_test_id("reject-reason").fill("Wrong PayPal address")
    _ask_cancel_then_confirm(
        admin_page,
        row.get_by_test_id("reject-button"),
        says=["the $20.00 goes back to Eli's wallet", "'Wrong PayPal address'"],
        unchanged=lambda: status(second) == "pending",
    )
    _eventually(lambda: status(second) == "rejected")

    def paid_out() -> int:
        return wallet.wallet_summary(eli, uow=_uow(db)).available_cents

    admin_page.reload()
    direct = admin_page.get_by_label("Direct payout")
    direct.get_by_test_id("direct-racer").select_option(str(eli))
    direct.get_by_test_id("direct-amount").fill("5.00")
    direct.get_by_test_id("direct-method").select_option("gift_card")
    _ask_cancel_then_confirm(
        admin_page,
        direct.get_by_test_id("direct-pay"),
        says=["$5.00 leaves Eli's wallet now", "Eli's available money: $35.00 → $30.00."],
        unchanged=lambda: paid_out() == 3500,
    )
    _eventually(lambda: paid_out() == 3000)


def _setting_changes(db: UnitOfWork) -> int:
    with db:
        return len(db.session.execute(select(MoneySettingChange.id)).all())


def test_a_money_setting_asks_with_old_and_new(admin_page, confirm_app, db):
    admin_page.goto(confirm_app.url("/admin/settings"), timeout=PAGE_TIMEOUT_MS)
    commission = admin_page.get_by_test_id("setting-commission_rate_bps")
    commission.get_by_test_id("setting-new-value").fill("25")
    commission.get_by_test_id("setting-reason").fill("Bigger pots")
    before = _setting_changes(db)
    _ask_cancel_then_confirm(
        admin_page,
        commission.get_by_test_id("setting-change"),
        says=["Commission rate changes from 20.00% (2000 bps) to 25.00% (2500 bps)"],
        unchanged=lambda: _setting_changes(db) == before,
    )
    _eventually(lambda: _setting_changes(db) == before + 1)


def test_a_role_asks_who_and_what_it_allows(admin_page, confirm_app, db):
    (fay,) = _racers(db, "fay")

    def is_host() -> bool:
        with db:
            return bool(db.session.execute(select(Racer.is_host).where(Racer.id == fay)).scalar_one())

    admin_page.goto(confirm_app.url("/admin/roles"), timeout=PAGE_TIMEOUT_MS)
    row = admin_page.get_by_test_id("role-row").filter(has_text="Fay")
    _expect()(row).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    _ask_cancel_then_confirm(
        admin_page,
        row.get_by_test_id("toggle-host"),
        says=["Fay becomes a host", "may open lobbies, start and end races"],
        unchanged=lambda: not is_host(),
    )
    _eventually(is_host)
    assert identity.roles_overview(_admin_id(db), uow=_uow(db)).history


def test_closing_the_season_asks_and_names_the_champion(admin_page, confirm_app, db):
    active = seasons.active_season(uow=_uow(db))
    assert active is not None
    admin_page.goto(confirm_app.url("/admin/seasons"), timeout=PAGE_TIMEOUT_MS)
    row = admin_page.get_by_test_id("season-row").filter(has_text=active.name)
    _expect()(row.get_by_test_id("season-close")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    _ask_cancel_then_confirm(
        admin_page,
        row.get_by_test_id("season-close"),
        says=[f"{active.name} closes now and its standings freeze for good.", "is crowned champion"],
        unchanged=lambda: seasons.get_season(active.season_id, uow=_uow(db)).status == "active",
    )
    _eventually(lambda: seasons.get_season(active.season_id, uow=_uow(db)).status == "closed")

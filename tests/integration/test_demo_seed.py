"""`seed-demo` builds a living league once, and a second run adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from cozykart.db.tables import Race, RaceEntry, Racer, Season
from cozykart.services.demo import DEMO_RACERS, seed_demo
from cozykart.services.reads.pot import live_pot
from cozykart.services.reads.reconcile import reconcile
from cozykart.services.reads.watch import watch_snapshot


def _counts(database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {
            table.__tablename__: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Racer, Season, Race, RaceEntry)
        }


def test_demo_league_has_an_active_sponsored_season_finished_races_and_one_live_race(database):
    report = seed_demo(uow=database.uow())

    snapshot = watch_snapshot(uow=database.uow())
    assert report.racers_added == len(DEMO_RACERS) == 16
    assert snapshot.season_name and snapshot.sponsor_name
    assert snapshot.race is not None and snapshot.race.status == "live"
    assert len(snapshot.race.racers) == 8
    assert all(card.avatar_url.startswith("/avatars/") for card in snapshot.race.racers)
    assert len(snapshot.leaders) == 5
    assert [row.points for row in snapshot.leaders] == sorted(
        (row.points for row in snapshot.leaders), reverse=True
    )
    with database.engine.connect() as connection:
        final_races = connection.execute(select(func.count()).where(Race.status == "final")).scalar_one()
    assert final_races >= 6
    assert report.payments_added > 0
    pot = live_pot(uow=database.uow())
    assert pot.race is not None and pot.race.race_id == snapshot.race.race_id
    assert pot.pot_cents > 0, "the live race's pot has the demo's sales in it"
    assert {line.kind for line in pot.feed} == {"sale", "tip"}
    assert reconcile(uow=database.uow()).clean


def test_seeding_twice_adds_nothing(database):
    seed_demo(uow=database.uow())
    before = _counts(database)

    report = seed_demo(uow=database.uow())

    assert (report.racers_added, report.seasons_added, report.races_added, report.payments_added) == (
        0,
        0,
        0,
        0,
    )
    assert _counts(database) == before
    assert report.describe() == "demo data already present; nothing added"


def _every_table_count(database) -> dict[str, int]:
    from cozykart.db.schema import metadata

    with database.engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }


def test_a_rerun_a_day_or_a_month_later_adds_no_row_anywhere(database):
    from datetime import UTC, datetime, timedelta

    first_run = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
    seed_demo(uow=database.uow(), now=first_run)
    before = _every_table_count(database)
    assert before["ledger_transaction"] > 0 and before["payout"] == 3

    for later in (timedelta(minutes=20), timedelta(days=1), timedelta(days=31)):
        report = seed_demo(uow=database.uow(), now=first_run + later)
        assert report.describe() == "demo data already present; nothing added"
        assert _every_table_count(database) == before, f"a re-run {later} later added rows"
    assert reconcile(uow=database.uow()).clean


def test_the_demo_shows_the_whole_money_loop(database):
    from cozykart.db.ledger_tables import Payout
    from cozykart.db.types import utc_now
    from cozykart.services import payouts
    from cozykart.services.demo import DEMO_DISCORD_ID_PREFIX, DEMO_PAYOUTS
    from cozykart.services.reads.audit import audit_trail

    seed_demo(uow=database.uow())

    uow = database.uow()
    with uow:
        rows = {
            row.key: (row.racer_id, row.amount_cents, row.status)
            for row in uow.session.scalars(select(Payout).order_by(Payout.id))
        }
        names = {
            racer.id: racer.username
            for racer in uow.session.scalars(
                select(Racer).where(Racer.discord_id.startswith(DEMO_DISCORD_ID_PREFIX))
            )
        }
        available = {
            names[racer_id]: payouts.read_wallet_balances(uow, racer_id, utc_now()).available_cents
            for racer_id in names
        }
    assert [(names[racer_id], cents, status) for racer_id, cents, status in rows.values()] == [
        (username, cents, decision) for username, cents, decision, _ in DEMO_PAYOUTS
    ]
    assert {status for _, _, status in rows.values()} == {"pending", "paid", "rejected"}
    assert sum(1 for cents in available.values() if cents >= 2000) >= 5, "money past its hold, enough to ask"
    assert reconcile(uow=database.uow()).clean
    trail = audit_trail(actor_id=None, uow=database.uow())
    assert [(entry.kind, entry.actor_name) for entry in trail] == [
        ("payout_rejected", "Sam"),
        ("payout_paid", "Sam"),
    ]

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

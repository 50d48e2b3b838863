"""The ledger's Core reads of the league give the league's own answers."""

from __future__ import annotations

from datetime import timedelta

from cozykart.db import ledger_repo
from cozykart.db.league_repo import race_live_at, race_outcome
from tests.integration.ledger_support import T0, finalize_race, make_race, make_racers, make_season


def test_race_at_and_outcome_of_agree_with_the_league_repository(database):
    racers = make_racers(database, 4)
    season = make_season(database, policy="by_points")
    first = make_race(
        database, racers, season_id=season, status="ended", started_at=T0, ended_at=T0 + timedelta(hours=1)
    )
    make_race(database, racers[:2], status="live", started_at=T0 + timedelta(hours=2))
    finalize_race(
        database,
        first,
        {racers[0]: 2, racers[1]: 1, racers[2]: None, racers[3]: 3},
        at=T0 + timedelta(hours=1, minutes=5),
    )

    instants = [
        T0 - timedelta(seconds=1),
        T0,
        T0 + timedelta(minutes=59),
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
        T0 + timedelta(days=3),
    ]
    with database.uow() as uow:
        connection = uow.session.connection()
        for instant in instants:
            expected = race_live_at(uow.session, instant)
            found = ledger_repo.race_at(connection, instant)
            assert (found.window if found else None) == expected, instant
            if expected is not None:
                assert ledger_repo.outcome_of(connection, found, expected.status) == race_outcome(
                    uow.session, expected.race_id
                )

"""A late sale into a final race of a long season is split at once, however many races the season holds.

Before migration 0020 a final race's settle read every final race of its season to
order its odd cents, in one statement binding every race id. Past the database's
limit on bound parameters SQLite refused it ("too many SQL variables"), so every
late sale into that season failed and the provider was answered 500: at 250,000
races (bench/grow.py at 100x) on this machine's SQLite, whose build allows
250,000; SQLite's own default is 32,766, and 999 before 3.32. A settle now binds
its race's racers, never the season's races.

So that a season can cross the limit in a second, the test's connections get the
old default limit (999, `sqlite3.Connection.setlimit`) and bench/grow.py grows a
season of 1,250 final races; then one sale arrives for one of them, late.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from sqlalchemy import event, func, select

from bench import grow
from cozykart.db import ledger_repo
from cozykart.db.engine import create_db_engine
from cozykart.db.tables import Race
from cozykart.db.uow import UnitOfWork
from cozykart.services import ledger
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import reconcile

VARIABLE_LIMIT = 999  # SQLITE_MAX_VARIABLE_NUMBER's default before SQLite 3.32
FACTOR = 0.5  # 1,250 final races in one season


def _limit_bound_parameters(engine) -> None:
    @event.listens_for(engine, "connect")
    def _limit(dbapi_connection, _record) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, VARIABLE_LIMIT)


def test_a_late_sale_into_a_season_of_more_races_than_sqlite_binds_is_split_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'long-season.db'}"
    grown = grow.grow(url, FACTOR)
    assert grown["races"] > VARIABLE_LIMIT
    engine = create_db_engine(url)
    _limit_bound_parameters(engine)
    try:
        race = Race.__table__
        with engine.connect() as connection:
            race_id, started_at = connection.execute(
                select(race.c.id, race.c.started_at)
                .where(race.c.name.like("Grown %"))
                .order_by(race.c.id.desc())
            ).first()
            holdings_before = len(ledger_repo.race_wallet_holdings(connection, race_id))
        receipt = ledger.record_sale(
            key="late-sale-long-season",
            gross_cents=2_499,
            sold_at=started_at + timedelta(minutes=1),
            item="Tee",
            uow=UnitOfWork(engine, handlers=HANDLERS),
        )
        assert receipt.race_id == race_id and receipt.distributed and not receipt.replayed
        assert receipt.pool_cents > 0
        with engine.connect() as connection:
            rows = ledger_repo.race_wallet_holdings(connection, race_id)
            held = sum(row.net_cents for row in rows if row.payment_id == receipt.payment_id)
            payments = connection.execute(
                select(func.count()).select_from(ledger_repo.payment_table)
            ).scalar_one()
        assert len(rows) > holdings_before
        assert held == receipt.pool_cents  # the whole pool went to the race's racers, to the cent
        assert payments == grown["payments"] + 1
        report = reconcile.reconcile(uow=UnitOfWork(engine, handlers=HANDLERS))
        assert report.clean, report.violations
    finally:
        engine.dispose()

"""bench/grow.py: a database grown by bulk SQL keeps every invariant reconcile checks, on SQLite and
PostgreSQL, and grows again on top of what it holds (the webhook benchmark grows a prepared database)."""

from __future__ import annotations

import pytest

from bench import grow
from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import reconcile, standings
from tests.conftest import BACKENDS

FACTOR = 0.02  # 10 racers... the floor is 16; 50 races, 40 payments


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_grow_twice_leaves_reconcile_clean_and_the_standings_built(empty_db_url):
    first = grow.grow(empty_db_url, FACTOR)
    second = grow.grow(empty_db_url, FACTOR)
    engine = create_db_engine(empty_db_url)
    try:
        report = reconcile.reconcile(uow=UnitOfWork(engine, handlers=HANDLERS))
        assert report.clean, report.violations
        totals = second["database_totals"]
        payments = first["payments"] + second["payments"]
        assert totals["payments"] == totals["transactions"] == payments == report.transactions_checked
        sales = sum(1 for n in range(first["payments"]) if n % grow.SALE_EVERY < 3) * 2
        assert totals["postings"] == sales * 10 + (payments - sales) * 3
        assert totals["results"] == (first["races"] + second["races"]) * grow.RACE_SIZE
        assert second["season_id"] == first["season_id"]  # the grown races join the active season
        standings.clear_standings_cache()
        view = standings.season_standings(first["season_id"], uow=UnitOfWork(engine, handlers=HANDLERS))
        assert view is not None and len(view.rows) == second["standing_rows"] == totals["racers"] - 2
    finally:
        engine.dispose()


def test_a_factor_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        grow.grow(f"sqlite:///{tmp_path / 'x.db'}", 0)

"""Pot goals on SQLite and PostgreSQL: set by a host or an admin, reached once per race, announced once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import select as select_models

from cozykart.db.audit_tables import AdminAction
from cozykart.db.pot_goal_tables import PotGoal, PotGoalReached
from cozykart.domain.errors import Conflict, InvalidInput, PermissionDenied
from cozykart.services import league, ledger, outbox, pot_goals
from cozykart.services.reads.pot import live_pot
from tests.integration.webhook_support import live_race, webhook_settings

pytestmark = pytest.mark.usefixtures("reconciled")
THREADS = 2


def _race(database):
    settings = webhook_settings(database)
    return settings, live_race(database, settings, racer_count=2)


def _sale(database, settings, race, key: str, gross_cents: int, *, at_minute: int = 1):
    return ledger.record_sale(
        key=key,
        gross_cents=gross_cents,
        sold_at=race.started_at + timedelta(minutes=at_minute),
        item="Rainbow Road hoodie",
        fan_name="Fiona",
        uow=database.uow(settings),
    )


def _count(database, table, **where) -> int:
    with database.uow() as uow:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table.c, name) == value)
        return uow.session.connection().execute(query).scalar_one()


def _goal_messages(database, settings) -> list:
    return [row for row in outbox.list_outbox(uow=database.uow(settings)) if row.kind == "pot_goal"]


def test_a_host_sets_a_goal_that_the_live_pot_shows_and_the_audit_trail_keeps(database):
    settings, race = _race(database)
    _sale(database, settings, race, "g-1", 5000)  # $10.00 to the pool

    result = pot_goals.set_race_goal(race.race_id, "$40", actor_id=race.host_id, uow=database.uow(settings))

    assert result.goal_cents == 4000 and "$40.00" in result.words
    goal = live_pot(uow=database.uow(settings)).goal
    assert goal is not None
    assert (goal.goal_cents, goal.pool_cents, goal.percent, goal.reached) == (4000, 1000, 25, False)
    with database.uow() as uow:
        (action,) = uow.session.exec(select_models(AdminAction)).all()
        seen = (action.kind, action.race_id, action.old_value, action.new_value)
    assert seen == ("pot_goal", race.race_id, "no goal", "$40.00")


@pytest.mark.parametrize(
    "text", ["abc", "0", "-5", "12.345", "1000000.01", "", "   "], ids=lambda text: repr(text)
)
def test_bad_goal_input_is_refused_with_a_message_and_changes_nothing(database, text):
    settings, race = _race(database)
    pot_goals.set_race_goal(race.race_id, "50", actor_id=race.host_id, uow=database.uow(settings))
    if not text.strip():  # an empty goal clears it: that is not bad input
        pot_goals.set_race_goal(race.race_id, text, actor_id=race.host_id, uow=database.uow(settings))
        assert live_pot(uow=database.uow(settings)).goal is None
        return
    with pytest.raises(InvalidInput) as refused:
        pot_goals.set_race_goal(race.race_id, text, actor_id=race.host_id, uow=database.uow(settings))
    assert str(refused.value)
    goal = live_pot(uow=database.uow(settings)).goal
    assert goal is not None and goal.goal_cents == 5000
    assert _count(database, AdminAction.__table__) == 1


def test_only_the_race_host_or_an_admin_sets_a_race_goal(database):
    settings, race = _race(database)
    with pytest.raises(PermissionDenied):
        pot_goals.set_race_goal(race.race_id, "50", actor_id=race.racer_ids[0], uow=database.uow(settings))
    with pytest.raises(PermissionDenied):
        pot_goals.set_season_goal(1, "50", actor_id=race.racer_ids[0], uow=database.uow(settings))
    assert live_pot(uow=database.uow(settings)).goal is None
    assert _count(database, PotGoal.__table__) == 0


def test_a_goal_the_pot_already_reached_and_a_race_that_is_over_are_refused(database):
    settings, race = _race(database)
    _sale(database, settings, race, "g-over", 5000)  # $10.00
    with pytest.raises(InvalidInput, match=r"already \$10\.00"):
        pot_goals.set_race_goal(race.race_id, "10", actor_id=race.host_id, uow=database.uow(settings))
    league.end_race(race.race_id, actor_id=race.host_id, uow=database.uow(settings))
    with pytest.raises(Conflict):
        pot_goals.set_race_goal(race.race_id, "50", actor_id=race.host_id, uow=database.uow(settings))
    assert _count(database, PotGoal.__table__) == 0


def test_two_sales_past_the_goal_celebrate_and_announce_once_and_a_refund_keeps_it(database):
    settings, race = _race(database)
    pot_goals.set_race_goal(race.race_id, "15", actor_id=race.host_id, uow=database.uow(settings))
    _sale(database, settings, race, "g-a", 5000, at_minute=1)  # pool $10.00: not yet
    assert _count(database, PotGoalReached.__table__) == 0
    _sale(database, settings, race, "g-b", 5000, at_minute=2)  # pool $20.00: reached
    _sale(database, settings, race, "g-c", 5000, at_minute=3)  # pool $30.00: reached already

    assert _count(database, PotGoalReached.__table__, race_id=race.race_id) == 1
    (message,) = _goal_messages(database, settings)
    assert message.message["content"] == "🎉 Pot goal reached in Toad Circuit!"
    assert "$15.00" in message.message["embeds"][0]["description"]
    goal = live_pot(uow=database.uow(settings)).goal
    assert goal is not None and goal.reached and goal.percent == 100

    ledger.refund_payment(
        payment_key="g-b",
        refund_key="r-b",
        refunded_at=race.started_at + timedelta(minutes=4),
        uow=database.uow(settings),
    )
    ledger.refund_payment(
        payment_key="g-c",
        refund_key="r-c",
        refunded_at=race.started_at + timedelta(minutes=4),
        uow=database.uow(settings),
    )
    goal = live_pot(uow=database.uow(settings)).goal
    assert goal is not None and goal.pool_cents == 1000 and goal.reached  # never un-celebrated
    _sale(database, settings, race, "g-d", 10000, at_minute=5)
    assert len(_goal_messages(database, settings)) == 1


def test_a_season_default_goal_applies_to_a_race_without_its_own(database):
    settings, race = _race(database)
    with database.uow() as uow:
        season_id = uow.league.race(race.race_id).season_id
    assert season_id is not None, "a race started with no season opens a default one"
    pot_goals.set_season_goal(season_id, "20", actor_id=race.admin_id, uow=database.uow(settings))
    goal = live_pot(uow=database.uow(settings)).goal
    assert goal is not None and goal.goal_cents == 2000
    pot_goals.set_race_goal(race.race_id, "30", actor_id=race.host_id, uow=database.uow(settings))
    goal = live_pot(uow=database.uow(settings)).goal
    assert goal is not None and goal.goal_cents == 3000  # the race's own wins


def test_concurrent_sales_that_both_cross_the_goal_celebrate_once(database):
    settings, race = _race(database)
    pot_goals.set_race_goal(race.race_id, "15", actor_id=race.host_id, uow=database.uow(settings))
    _sale(database, settings, race, "c-0", 5000)  # $10.00: either next sale reaches $15.00
    start = threading.Barrier(THREADS)

    def sell(index: int) -> None:
        start.wait()
        _sale(database, settings, race, f"c-{index + 1}", 5000, at_minute=2 + index)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(sell, range(THREADS)))

    assert _count(database, PotGoalReached.__table__, race_id=race.race_id) == 1
    assert len(_goal_messages(database, settings)) == 1


def test_of_two_open_transactions_marking_a_race_reached_only_the_first_inserts(database):
    """The guarantee itself: the second waits for the first's row, then inserts nothing (PostgreSQL)."""
    if database.backend != "postgresql":
        pytest.skip("SQLite writers never overlap (BEGIN IMMEDIATE)")
    settings, race = _race(database)
    at = datetime.now(UTC)
    first, second = database.uow(settings), database.uow(settings)
    with first:
        assert first.pot_goals.mark_reached(
            race_id=race.race_id, goal_cents=100, pool_cents=100, payment_id=None, at=at
        )
        with ThreadPoolExecutor(1) as pool:

            def mark_in_second() -> bool:
                with second:
                    done = second.pot_goals.mark_reached(
                        race_id=race.race_id, goal_cents=100, pool_cents=100, payment_id=None, at=at
                    )
                    second.commit()
                    return done

            waiting = pool.submit(mark_in_second)
            with pytest.raises(TimeoutError):
                waiting.result(timeout=0.5)  # blocked on the first's uncommitted row
            first.commit()
            assert waiting.result(timeout=10) is False
    assert _count(database, PotGoalReached.__table__, race_id=race.race_id) == 1


def test_the_seasons_console_reads_each_seasons_default_goal_admins_only(database):
    settings, race = _race(database)
    with database.uow() as uow:
        season_id = uow.league.race(race.race_id).season_id
    assert season_id is not None
    pot_goals.set_season_goal(season_id, "75.50", actor_id=race.admin_id, uow=database.uow(settings))
    assert pot_goals.season_goals(actor_id=race.admin_id, uow=database.uow(settings)) == {season_id: 7550}
    with pytest.raises(PermissionDenied):
        pot_goals.season_goals(actor_id=race.racer_ids[0], uow=database.uow(settings))
    pot_goals.set_season_goal(season_id, "", actor_id=race.admin_id, uow=database.uow(settings))
    assert pot_goals.season_goals(actor_id=race.admin_id, uow=database.uow(settings)) == {}

"""The unit of work: commit once, join an outer transaction, undo a savepoint."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cozykart.db.tables import Racer
from cozykart.db.uow import UnitOfWork, subscribe


def _racer(discord_id: str) -> Racer:
    return Racer(discord_id=discord_id, username=discord_id, display_name=discord_id)


def _racer_count(database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Racer)).scalar_one()


def test_nothing_is_written_without_commit(database):
    uow = database.uow()
    with uow:
        uow.session.add(_racer("a"))
        uow.session.flush()
    assert _racer_count(database) == 0


def test_a_joined_unit_of_work_commits_only_with_the_outer_one(database):
    uow = database.uow()

    def inner_service() -> None:
        with uow:
            uow.session.add(_racer("inner"))
            uow.commit()  # joined: the outer block decides

    with uow:
        inner_service()
        assert uow.is_joined is False
    assert _racer_count(database) == 0

    with uow:
        inner_service()
        uow.commit()
    assert _racer_count(database) == 1


class _Happened:
    def __init__(self, name: str) -> None:
        self.name = name


def test_a_failed_savepoint_undoes_its_writes_and_its_events(database):
    seen: list[str] = []
    subscribe(_Happened, lambda event, uow: seen.append(event.name))
    uow: UnitOfWork = database.uow()
    with uow:
        uow.session.add(_racer("kept"))
        uow.emit(_Happened("kept"))
        with pytest.raises(ValueError), uow.savepoint():
            uow.session.add(_racer("undone"))
            uow.session.flush()
            uow.emit(_Happened("undone"))
            raise ValueError("apply failed")
        uow.commit()

    assert seen == ["kept"]
    with database.engine.connect() as connection:
        names = connection.execute(select(Racer.discord_id)).scalars().all()
    assert names == ["kept"]

"""The unit of work: commit once, join an outer transaction, undo a savepoint, run its handler table."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cozykart.db.tables import Racer
from cozykart.db.uow import EventHandlers, UnitOfWork


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


class _Unplanned:
    pass


def _uow_with(database, *, in_transaction=(), after_commit=()) -> UnitOfWork:
    table = {_Happened: EventHandlers(in_transaction=tuple(in_transaction), after_commit=tuple(after_commit))}
    return UnitOfWork(database.engine, handlers=table)


def test_a_failed_savepoint_undoes_its_writes_and_its_events(database):
    seen: list[str] = []
    uow = _uow_with(database, in_transaction=[lambda event, uow: seen.append(event.name)])
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


def test_after_commit_handlers_run_once_after_the_commit_with_its_writes_visible(database):
    seen: list[tuple[str, int]] = []
    in_transaction: list[str] = []
    uow = _uow_with(
        database,
        in_transaction=[lambda event, uow: in_transaction.append(event.name)],
        after_commit=[lambda event: seen.append((event.name, _racer_count(database)))],
    )
    with uow:
        uow.session.add(_racer("a"))
        uow.emit(_Happened("a"))
        assert seen == []
        uow.commit()
        assert seen == [("a", 1)], "after the commit, and another connection already sees its write"
    assert in_transaction == ["a"]

    with uow:  # the next transaction starts with nothing to run
        uow.commit()
    assert seen == [("a", 1)]


def test_after_commit_handlers_never_run_after_a_rollback(database):
    seen: list[str] = []
    uow = _uow_with(database, after_commit=[lambda event: seen.append(event.name)])
    with uow:
        uow.emit(_Happened("never committed"))
        uow.handle_events()

    def refuse(event, uow) -> None:
        raise ValueError("in-transaction handler failed")

    failing = _uow_with(
        database, in_transaction=[refuse], after_commit=[lambda event: seen.append(event.name)]
    )
    with pytest.raises(ValueError), failing:
        failing.emit(_Happened("commit failed"))
        failing.commit()

    assert seen == []
    with uow:  # nothing left over for a later commit
        uow.commit()
    assert seen == []


def test_a_rolled_back_savepoint_drops_its_after_commit_handlers(database):
    seen: list[str] = []
    uow = _uow_with(database, after_commit=[lambda event: seen.append(event.name)])
    with uow:
        savepoints = (uow.savepoint, lambda: uow.plain_savepoint("t"))
        for name, savepoint in zip(("orm kept", "plain kept"), savepoints, strict=True):
            with savepoint():
                uow.emit(_Happened(name))
                uow.handle_events()
        for savepoint in savepoints:
            with pytest.raises(ValueError), savepoint():
                uow.emit(_Happened("undone"))
                uow.handle_events()  # handled inside the savepoint, as the webhook writer does
                raise ValueError("apply failed")
        uow.commit()
    assert seen == ["orm kept", "plain kept"]


def test_a_joined_unit_of_work_runs_after_commit_handlers_once_at_the_outer_commit(database):
    seen: list[str] = []
    uow = _uow_with(database, after_commit=[lambda event: seen.append(event.name)])
    with uow:
        with uow:
            uow.emit(_Happened("inner"))
            uow.commit()  # joined: nothing yet
        assert seen == []
        uow.commit()
    assert seen == ["inner"]


def test_a_failing_after_commit_handler_is_logged_and_the_commit_stands(database, caplog):
    seen: list[str] = []

    def broken(event) -> None:
        raise RuntimeError("push failed")

    uow = _uow_with(database, after_commit=[broken, lambda event: seen.append(event.name)])
    with uow:
        uow.session.add(_racer("written"))
        uow.emit(_Happened("written"))
        uow.commit()

    assert _racer_count(database) == 1
    assert seen == ["written"], "the next handler still runs"
    assert "push failed" in caplog.text


def test_an_event_without_an_entry_in_the_table_is_a_broken_invariant(database):
    uow = _uow_with(database)
    with pytest.raises(AssertionError, match="_Unplanned has no entry"), uow:
        uow.emit(_Unplanned())
        uow.commit()

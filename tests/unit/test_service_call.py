"""The one helper pages run services with (issue 16, item 5): as the viewer, off the event loop, a refusal kept."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.identity import NotLoggedIn
from cozykart.ui import service_call
from cozykart.ui.service_call import call_service

VIEWER_ID = 42


@pytest.fixture
def viewer(monkeypatch):
    """A session whose racer is VIEWER_ID, or none (set `viewer.logged_in = False`)."""

    class Session:
        logged_in = True

    async def acting_racer_id(_state):
        if not Session.logged_in:
            raise NotLoggedIn("Please log in first (your session may have ended).")
        return VIEWER_ID

    monkeypatch.setattr(service_call, "acting_racer_id", acting_racer_id)
    monkeypatch.setattr(service_call, "default_uow", lambda settings: ("uow", settings.db_url))
    return Session


def test_the_work_runs_in_a_thread_as_the_viewer_and_its_value_is_kept(viewer):
    seen = {}

    def work(actor_id, uow, settings):
        seen.update(actor_id=actor_id, uow=uow, thread=threading.current_thread())
        return "done"

    outcome = asyncio.run(call_service(object(), work))
    assert (outcome.refused, outcome.value, outcome.message) == (False, "done", "")
    assert seen["actor_id"] == VIEWER_ID and seen["uow"][0] == "uow"
    assert seen["thread"] is not threading.main_thread()


def test_a_service_refusal_is_kept_with_its_message_and_shown_as_an_error_toast(viewer):
    def work(actor_id, uow, settings):
        raise InvalidInput("Enter an amount like 20.00.")

    outcome = asyncio.run(call_service(object(), work))
    assert outcome.refused and isinstance(outcome.error, InvalidInput)
    assert outcome.message == "Enter an amount like 20.00."
    assert "Enter an amount like 20.00." in str(outcome.toast())


def test_a_visitor_without_a_session_is_refused_before_the_work_runs(viewer):
    viewer.logged_in = False
    ran = []
    outcome = asyncio.run(call_service(object(), lambda *args: ran.append(args)))
    assert isinstance(outcome.error, NotLoggedIn) and ran == []


def test_a_public_page_runs_the_work_without_a_session_and_no_actor(viewer):
    viewer.logged_in = False
    outcome = asyncio.run(call_service(object(), lambda actor_id, uow, settings: actor_id, anyone=True))
    assert (outcome.refused, outcome.value) == (False, None)
    refused = asyncio.run(
        call_service(
            object(), lambda *_: (_ for _ in ()).throw(NotFound("There is no racer 9.")), anyone=True
        )
    )
    assert refused.message == "There is no racer 9."


def test_a_bug_is_not_turned_into_a_refusal(viewer):
    def work(actor_id, uow, settings):
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(call_service(object(), work))

"""Statuses are StrEnums in the domain whose stored text never changes."""

from __future__ import annotations

import json
from enum import StrEnum

import pytest

from cozykart.domain.discord_messages import OutboxStatus
from cozykart.domain.league import RaceStatus, SeasonStatus
from cozykart.domain.ledger import PayoutStatus
from cozykart.domain.payments import RETRYABLE_INBOX_STATUSES, InboxStatus

STORED_TEXT = {
    RaceStatus: ("open", "live", "ended", "final", "cancelled"),
    SeasonStatus: ("upcoming", "active", "closed"),
    InboxStatus: ("received", "applied", "waiting", "failed", "ignored", "flagged"),
    OutboxStatus: ("pending", "sent", "failed"),
    PayoutStatus: ("pending", "paid", "rejected", "cancelled"),
}


@pytest.mark.parametrize("status_type", list(STORED_TEXT), ids=lambda status_type: status_type.__name__)
def test_each_status_is_stored_as_the_text_it_always_was(status_type):
    assert issubclass(status_type, StrEnum)
    assert tuple(status.value for status in status_type) == STORED_TEXT[status_type]
    for status in status_type:
        assert status == status.value and hash(status) == hash(status.value)
        assert f"{status}" == str(status) == json.loads(json.dumps(status)) == status.value
        assert status_type(status.value) is status


def test_the_inbox_retries_only_waiting_and_failed_events():
    assert RETRYABLE_INBOX_STATUSES == ("waiting", "failed")


def test_the_old_inbox_status_names_of_the_webhook_service_are_gone():
    from cozykart.services import webhooks

    for old_name in ("APPLIED", "WAITING", "FAILED", "IGNORED", "FLAGGED"):
        assert not hasattr(webhooks, old_name)

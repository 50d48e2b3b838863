"""The outbox repository: the Discord outbox: messages waiting, sent and failed."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class OutboxRepository(Repository):
    pass

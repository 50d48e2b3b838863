"""The inbox repository: the webhook inbox: stored provider events, their status and retries."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class InboxRepository(Repository):
    pass

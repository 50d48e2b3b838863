"""The interactions repository: Discord interactions received, for replay."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class InteractionsRepository(Repository):
    pass

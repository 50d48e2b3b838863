"""The overlays repository: the overlay key."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class OverlaysRepository(Repository):
    pass

"""The seasons repository: seasons, their stored standings and their closing."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class SeasonsRepository(Repository):
    pass

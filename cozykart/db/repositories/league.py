"""The league repository: racers, lobbies, races and their entries, seasons, result fixes, standings."""

from __future__ import annotations

from cozykart.db.repositories import Repository
from cozykart.db.tables import Racer


class LeagueRepository(Repository):
    def racer(self, racer_id: int) -> Racer | None:
        return self.session.get(Racer, racer_id)

"""The payouts repository: payout requests and their decisions."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class PayoutsRepository(Repository):
    pass

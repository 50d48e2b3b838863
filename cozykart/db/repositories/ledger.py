"""The ledger repository: accounts, transactions and postings, balances and holds, provider payments."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class LedgerRepository(Repository):
    pass

"""One repository per aggregate, carried by the unit of work (`uow.league`, `uow.ledger`, ...).

A repository holds the queries of its aggregate and what it remembers for the
transaction (account ids, locks taken, the race live at an instant). It is made
for one transaction, on that transaction's session, and thrown away when the
transaction ends; `forget()` drops what it remembered when a savepoint rolls
back, since what it remembered may have been undone with it.

Services speak to repositories in the domain's words; SQL lives here and in the
read models (`cozykart/services/reads/`).
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlmodel import Session


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def connection(self) -> Connection:
        return self.session.connection()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def forget(self) -> None:
        """Drop what this repository remembered in the transaction (a savepoint rolled back)."""

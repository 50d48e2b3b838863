"""The full schema: importing this module registers every table."""

from __future__ import annotations

from sqlmodel import SQLModel

import cozykart.db.identity_tables  # registers login, session and role-audit tables
import cozykart.db.inbox_tables  # noqa: F401  (registers the webhook inbox and product costs)
import cozykart.db.ledger_tables  # noqa: F401  (registers the ledger's tables)
import cozykart.db.outbox_tables  # noqa: F401  (registers the Discord outbox and its sender lease)
from cozykart.db import tables  # noqa: F401  (registers the tables)

metadata = SQLModel.metadata

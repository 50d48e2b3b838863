"""The full schema: importing this module registers every table."""

from __future__ import annotations

from sqlmodel import SQLModel

from cozykart.db import tables  # noqa: F401  (registers the tables)

metadata = SQLModel.metadata

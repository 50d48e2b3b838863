"""The Discord interactions this deployment has taken, so a replayed one is not acted on twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cozykart.db.types import UtcDateTime
from cozykart.domain.ids import SNOWFLAKE_LENGTH_MAX


class DiscordInteraction(SQLModel, table=True):
    """One interaction id, recorded before its command runs; kept only while its timestamp is accepted."""

    __tablename__ = "discord_interaction"

    interaction_id: str = Field(max_length=SNOWFLAKE_LENGTH_MAX, primary_key=True)
    # The request's signed X-Signature-Timestamp: pruning by it is safe, since an older one is refused.
    signed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))

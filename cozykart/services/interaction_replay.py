"""A Discord interaction is acted on once, whichever worker or process receives it.

    if not first_delivery(interaction_id, signed_at, uow=uow):
        ...  # answer "already handled", do nothing

Discord gives every interaction its own id and sends it once; the same id again is
a replay (someone who captured a signed request, or a proxy retrying). The id is
recorded in `discord_interaction` (primary key: the id) in its own transaction,
committed BEFORE the command runs, so two deliveries at the same instant on two
workers cannot both act: the database lets one insert it. If the process dies
after the record and before the command, the command is lost, never doubled;
Discord shows the user "the application did not respond" and they try again with
a new interaction.

The table stays bounded: each insert first deletes the ids whose signed timestamp
is older than `SEEN_KEPT`. Such an interaction can never be replayed, since the
endpoint refuses a timestamp older than `TIMESTAMP_AGE_MAX_S` (`SEEN_KEPT` adds a
margin for a request that is between its timestamp check and its insert).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.ids import SNOWFLAKE_LENGTH_MAX
from cozykart.integrations.discord_interactions import TIMESTAMP_AGE_MAX_S

SEEN_KEPT_MARGIN_S = 60
SEEN_KEPT = timedelta(seconds=TIMESTAMP_AGE_MAX_S + SEEN_KEPT_MARGIN_S)


def is_snowflake(interaction_id: object) -> bool:
    """True for an id as Discord writes one: a string of 1 to 20 ASCII digits."""
    return (
        isinstance(interaction_id, str)
        and 0 < len(interaction_id) <= SNOWFLAKE_LENGTH_MAX
        and interaction_id.isascii()
        and interaction_id.isdigit()
    )


def first_delivery(
    interaction_id: str, signed_at: datetime, *, uow: UnitOfWork, now: datetime | None = None
) -> bool:
    """Record the interaction; True the first time its id is seen, False for a replay."""
    assert is_snowflake(interaction_id), "the endpoint refuses an interaction without a snowflake id"
    now = now or utc_now()
    with uow:
        uow.interactions.forget_signed_before(now - SEEN_KEPT)
        first = uow.interactions.record(interaction_id, signed_at=signed_at, received_at=now)
        uow.commit()
    return first

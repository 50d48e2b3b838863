"""supporters board indexes: a race's raceless payments by time, and a season's race window

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 16:00:00.000000

The race board counts the tips paid inside the live race's window: without an
index on (race_id, occurred_at) that was every tip ever paid, read on each Live
Pot push. The season board's span (first start, last end, any race still live)
reads the season's races from (season_id, started_at, ended_at) alone.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_payment", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_payment_race_occurred", ["race_id", "occurred_at"], unique=False)
    with op.batch_alter_table("race", schema=None) as batch_op:
        batch_op.create_index("ix_race_season_window", ["season_id", "started_at", "ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("race", schema=None) as batch_op:
        batch_op.drop_index("ix_race_season_window")
    with op.batch_alter_table("ledger_payment", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_payment_race_occurred")

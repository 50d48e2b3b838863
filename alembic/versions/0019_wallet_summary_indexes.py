"""wallet summary index: a racer's paid payouts read from an index alone

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 19:00:00.000000

The /wallet summary sums the racer's paid payouts. They were found through the
status index, so through every paid payout of the league (growing with the
league, not the racer); (racer_id, status, amount_cents) reads the racer's
alone, from the index.

Tried and left out: (account_id, available_at, amount_cents) for the held-credit
sum. It made that sum index-only (1M-line SQLite wallet: 85 -> 21 ms), but SQLite
then planned the wallet's other account scans through it, and the page became
slower as a whole (774 -> 990 ms median).
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payout", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payout_racer_status_amount", ["racer_id", "status", "amount_cents"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payout", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_racer_status_amount")

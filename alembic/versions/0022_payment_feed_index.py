"""payment feed index: the Live Pot's feed of the newest payments from an index

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 20:20:00.000000

Every Live Pot read (at most one per 100 ms per worker while money moves) lists
the newest payments, ORDER BY occurred_at DESC, id DESC LIMIT n. Without an index
on those columns each read sorted every payment: 25-51 ms at 200,000 payments
(bench/grow.py at 100x, SQLite and PostgreSQL). (occurred_at, id) gives the first
n rows from the index.
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_payment", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_payment_occurred_id", ["occurred_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_payment", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_payment_occurred_id")

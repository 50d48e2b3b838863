"""posting account order: a wallet's lines newest first, and its sums, from one covering index

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 20:30:00.000000

`ledger_posting (account_id, id, amount_cents)`: a racer's history page is a
keyset read (`account_id = ? AND id < ?` newest first, LIMIT n) and the read-side
check of an account's cached balance sums `amount_cents` over the account; both
are served by this index alone, without visiting the table (bench/wallet.py).
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ledger_posting_account_id_amount', 'ledger_posting',
                    ['account_id', 'id', 'amount_cents'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ledger_posting_account_id_amount', table_name='ledger_posting')

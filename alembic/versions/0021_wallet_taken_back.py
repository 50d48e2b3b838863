"""wallet taken back: what refunds and chargebacks took from each wallet, per payment

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:10:00.000000

The wallet page's "taken back" figure summed every line of the wallet to find the
few that were clawbacks (70 ms at 100,000 lines on SQLite, 0.33 s at 1M). A
refund's, chargeback's or won dispute's transaction now adds its wallet postings
to its payment's row here, beside its postings; the page sums a wallet's rows.
The backfill computes them from the ledger as reconcile does
(`ledger_repo.rebuild_taken_back`).
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cozykart.db import ledger_repo

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_taken_back",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_account.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["ledger_payment.id"]),
        sa.PrimaryKeyConstraint("account_id", "payment_id"),
    )
    ledger_repo.rebuild_taken_back(op.get_bind())


def downgrade() -> None:
    op.drop_table("wallet_taken_back")

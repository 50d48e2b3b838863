"""race rounding share: each final race's rounding per racer, so a settle reads its racers' rows only

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 02:00:00.000000

A settle of a final race (its distribution, a late sale, a refund, a dispute, a
result fix) orders its odd cents by the season's rounding so far. It summed that
by reading every final race of the season with its entries and wallet holdings,
per event: at 250,000 races in a season a late sale stalled the writer for
seconds. The rows here hold each race's rounding (cents held minus the exact
share, as a fraction), set by the transaction that settles the race; the
backfill computes them from the ledger as reconcile does
(`ledger_repo.rebuild_rounding`).
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cozykart.db import ledger_repo

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "race_rounding_share",
        sa.Column("race_id", sa.Integer(), nullable=False),
        sa.Column("racer_id", sa.Integer(), nullable=False),
        sa.Column("season_id", sa.Integer(), nullable=False),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["race_id"], ["race.id"]),
        sa.ForeignKeyConstraint(["racer_id"], ["racer.id"]),
        sa.ForeignKeyConstraint(["season_id"], ["season.id"]),
        sa.PrimaryKeyConstraint("race_id", "racer_id"),
    )
    with op.batch_alter_table("race_rounding_share", schema=None) as batch_op:
        batch_op.create_index("ix_race_rounding_share_season_racer", ["season_id", "racer_id"], unique=False)
    ledger_repo.rebuild_rounding(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("race_rounding_share", schema=None) as batch_op:
        batch_op.drop_index("ix_race_rounding_share_season_racer")
    op.drop_table("race_rounding_share")

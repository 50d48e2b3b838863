"""payout destination: where a racer wants to be paid, audited, and a copy on each request

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:10:00.000000

Existing payouts keep NULL: they were asked for before a racer could say where.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payout_destination_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('actor_racer_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payout_destination_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_destination_change_racer_id'), ['racer_id'], unique=False)
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_column('destination')
    with op.batch_alter_table('payout_destination_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_destination_change_racer_id'))
    op.drop_table('payout_destination_change')

"""stripe connect: which racer is which connected Express account, and whether it can receive transfers

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 13:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_connection',
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('can_receive_transfers', sa.Boolean(), nullable=False),
    sa.Column('payouts_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('racer_id'),
    sa.UniqueConstraint('account_id')
    )


def downgrade() -> None:
    op.drop_table('stripe_connection')

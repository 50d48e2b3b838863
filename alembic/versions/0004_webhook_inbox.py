"""webhook inbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 16:42:15.730422
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('product_cost',
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('cost_cents', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sku')
    )
    op.create_table('webhook_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('payment_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('fact_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('fact', sa.Text(), nullable=False),
    sa.Column('body_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('applied_cents', sa.BigInteger(), nullable=True),
    sa.Column('received_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('next_attempt_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('applied_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'event_id', name='uq_webhook_event_provider_event')
    )
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_event_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_event_payment_key'), ['payment_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_event_payment_key'))
        batch_op.drop_index('ix_webhook_event_due')

    op.drop_table('webhook_event')
    op.drop_table('product_cost')

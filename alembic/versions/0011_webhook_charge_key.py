"""webhook charge key: a Stripe sale's charge, so a refund or dispute naming only the charge finds it

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 09:00:00.000000

Existing rows keep NULL: no sale stored before this knew its charge.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('charge_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_webhook_event_charge_key'), ['charge_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_event_charge_key'))
        batch_op.drop_column('charge_key')

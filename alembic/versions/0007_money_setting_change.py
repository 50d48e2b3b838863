"""money setting change: the admin console's audited money settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 20:25:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('money_setting_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('old_value', sa.Integer(), nullable=False),
    sa.Column('new_value', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('actor_racer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'sequence', name='uq_money_setting_change_name_sequence')
    )


def downgrade() -> None:
    op.drop_table('money_setting_change')

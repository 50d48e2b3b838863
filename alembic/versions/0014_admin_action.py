"""admin action: the audit trail of admin actions that had no record of their own

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:00:00.000000

Append-only: payouts paid, rejected or paid directly, seasons created, activated
or closed, overlay key regenerations, webhook replays, whole-table corrections.
Actions taken before this revision keep no row (their other records stay).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor_racer_id', sa.Integer(), nullable=False),
    sa.Column('race_id', sa.Integer(), nullable=True),
    sa.Column('racer_id', sa.Integer(), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('old_value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('new_value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['race_id'], ['race.id'], ),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('admin_action', schema=None) as batch_op:
        batch_op.create_index('ix_admin_action_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_action_race_id'), ['race_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_action_racer_id'), ['racer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('admin_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_action_racer_id'))
        batch_op.drop_index(batch_op.f('ix_admin_action_race_id'))
        batch_op.drop_index('ix_admin_action_created_at')
    op.drop_table('admin_action')

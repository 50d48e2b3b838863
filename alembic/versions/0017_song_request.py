"""song request: the DJ booth's queue, one row per tip that named a song

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('song_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('dj_racer_id', sa.Integer(), nullable=False),
    sa.Column('fan_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('song', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('tip_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('decided_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('decided_by_racer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['dj_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['ledger_payment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payment_id')
    )
    with op.batch_alter_table('song_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_song_request_dj_racer_id'), ['dj_racer_id'], unique=False)
        batch_op.create_index('ix_song_request_status_id', ['status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('song_request', schema=None) as batch_op:
        batch_op.drop_index('ix_song_request_status_id')
        batch_op.drop_index(batch_op.f('ix_song_request_dj_racer_id'))
    op.drop_table('song_request')

"""overlay key

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 17:06:33.398623
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('overlay_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by_racer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_sha256')
    )


def downgrade() -> None:
    op.drop_table('overlay_key')

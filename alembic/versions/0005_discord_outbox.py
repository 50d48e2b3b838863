"""discord outbox and its sender lease

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 17:00:23.895579
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discord_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('next_attempt_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('sent_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('discord_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_discord_outbox_status_id', ['status', 'id'], unique=False)

    op.create_table('discord_sender_lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('expires_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    # The one sender role; whoever holds its unexpired lease sends the outbox.
    lease = sa.table('discord_sender_lease', sa.column('name', sa.String))
    op.bulk_insert(lease, [{'name': 'announcer'}])


def downgrade() -> None:
    op.drop_table('discord_sender_lease')
    with op.batch_alter_table('discord_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_discord_outbox_status_id')

    op.drop_table('discord_outbox')

"""notices: a racer's private notices, and the outbox's channel (announcements or direct messages)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:10:00.000000

Every message already in the outbox is an announcement: the new column's default.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('seen_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_racer_id_id', ['racer_id', 'id'], unique=False)
    with op.batch_alter_table('discord_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=10), server_default='announce', nullable=False))
        batch_op.create_index('ix_discord_outbox_channel_status_id', ['channel', 'status', 'id'], unique=False)
    op.execute("INSERT INTO discord_sender_lease (name, holder, expires_at) VALUES ('direct-messenger', NULL, NULL)")


def downgrade() -> None:
    op.execute("DELETE FROM discord_sender_lease WHERE name = 'direct-messenger'")
    with op.batch_alter_table('discord_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_discord_outbox_channel_status_id')
        batch_op.drop_column('channel')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_racer_id_id')
    op.drop_table('notice')

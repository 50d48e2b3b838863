"""discord interaction: the interaction ids already taken, so a replay is not acted on twice

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 10:00:00.000000

One row per slash command received, inserted (primary key: Discord's interaction
id) before the command runs; rows are pruned by their signed timestamp once it is
past the window the endpoint accepts (services/interaction_replay.py).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discord_interaction',
    sa.Column('interaction_id', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('signed_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('received_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('interaction_id')
    )
    with op.batch_alter_table('discord_interaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discord_interaction_signed_at'), ['signed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('discord_interaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discord_interaction_signed_at'))

    op.drop_table('discord_interaction')

"""people and league

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 16:19:01.717480
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('racer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('discord_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('avatar_url', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('mkt_name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('is_host', sa.Boolean(), nullable=False),
    sa.Column('is_dj', sa.Boolean(), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('discord_id')
    )
    op.create_table('season',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('sponsor_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('sponsor_logo_url', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('sponsor_url', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
    sa.Column('points_table', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('split_policy', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('winner_bonus_bps', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('champion_racer_id', sa.Integer(), nullable=True),
    sa.Column('standings_version', sa.Integer(), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('activated_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('closed_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['champion_racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('season', schema=None) as batch_op:
        batch_op.create_index('ux_season_one_active', ['status'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('race',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('host_racer_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('disputed', sa.Boolean(), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('started_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('ended_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('finalized_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['host_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['season_id'], ['season.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('race', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_race_season_id'), ['season_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_race_status'), ['status'], unique=False)
        batch_op.create_index('ix_race_window', ['started_at', 'ended_at'], unique=False)
        batch_op.create_index('ux_race_one_live', ['status'], unique=True, sqlite_where=sa.text("status = 'live'"), postgresql_where=sa.text("status = 'live'"))

    op.create_table('race_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('race_id', sa.Integer(), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('reported_position', sa.Integer(), nullable=True),
    sa.Column('reported_dnf', sa.Boolean(), nullable=False),
    sa.Column('reported_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('dnf', sa.Boolean(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['race_id'], ['race.id'], ),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('race_id', 'racer_id', name='uq_race_entry_racer')
    )
    with op.batch_alter_table('race_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_race_entry_race_id'), ['race_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_race_entry_racer_id'), ['racer_id'], unique=False)

    op.create_table('result_fix',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('race_id', sa.Integer(), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('old_position', sa.Integer(), nullable=True),
    sa.Column('new_position', sa.Integer(), nullable=True),
    sa.Column('old_dnf', sa.Boolean(), nullable=False),
    sa.Column('new_dnf', sa.Boolean(), nullable=False),
    sa.Column('actor_racer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['race_id'], ['race.id'], ),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('result_fix', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_fix_race_id'), ['race_id'], unique=False)

    op.create_table('season_standing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('season_id', sa.Integer(), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('wins', sa.Integer(), nullable=False),
    sa.Column('podiums', sa.Integer(), nullable=False),
    sa.Column('races', sa.Integer(), nullable=False),
    sa.Column('finishes', sa.Integer(), nullable=False),
    sa.Column('position_sum', sa.Integer(), nullable=False),
    sa.Column('reached_started_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('reached_race_id', sa.Integer(), nullable=False),
    sa.Column('rank_at_close', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['reached_race_id'], ['race.id'], ),
    sa.ForeignKeyConstraint(['season_id'], ['season.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('season_id', 'racer_id', name='uq_season_standing_racer')
    )
    with op.batch_alter_table('season_standing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_season_standing_racer_id'), ['racer_id'], unique=False)
        batch_op.create_index('ix_season_standing_order', ['season_id', sa.literal_column('points DESC'), sa.literal_column('wins DESC')], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('season_standing', schema=None) as batch_op:
        batch_op.drop_index('ix_season_standing_order')
        batch_op.drop_index(batch_op.f('ix_season_standing_racer_id'))

    op.drop_table('season_standing')
    with op.batch_alter_table('result_fix', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_fix_race_id'))

    op.drop_table('result_fix')
    with op.batch_alter_table('race_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_race_entry_racer_id'))
        batch_op.drop_index(batch_op.f('ix_race_entry_race_id'))

    op.drop_table('race_entry')
    with op.batch_alter_table('race', schema=None) as batch_op:
        batch_op.drop_index('ux_race_one_live', sqlite_where=sa.text("status = 'live'"), postgresql_where=sa.text("status = 'live'"))
        batch_op.drop_index('ix_race_window')
        batch_op.drop_index(batch_op.f('ix_race_status'))
        batch_op.drop_index(batch_op.f('ix_race_season_id'))

    op.drop_table('race')
    with op.batch_alter_table('season', schema=None) as batch_op:
        batch_op.drop_index('ux_season_one_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.drop_table('season')
    op.drop_table('racer')

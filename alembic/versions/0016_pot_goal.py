"""pot goals: a race's own goal or a season's default, and the one row per race that reached its goal

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

import cozykart.db.types
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pot_goal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('race_id', sa.Integer(), nullable=True),
    sa.Column('season_id', sa.Integer(), nullable=True),
    sa.Column('goal_cents', sa.Integer(), nullable=False),
    sa.Column('set_by_racer_id', sa.Integer(), nullable=False),
    sa.Column('set_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.CheckConstraint('(race_id IS NULL) <> (season_id IS NULL)', name='ck_pot_goal_one_owner'),
    sa.CheckConstraint('goal_cents > 0', name='ck_pot_goal_positive'),
    sa.ForeignKeyConstraint(['race_id'], ['race.id'], ),
    sa.ForeignKeyConstraint(['season_id'], ['season.id'], ),
    sa.ForeignKeyConstraint(['set_by_racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('race_id'),
    sa.UniqueConstraint('season_id')
    )
    op.create_table('pot_goal_reached',
    sa.Column('race_id', sa.Integer(), nullable=False),
    sa.Column('goal_cents', sa.Integer(), nullable=False),
    sa.Column('pool_cents', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('reached_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['ledger_payment.id'], ),
    sa.ForeignKeyConstraint(['race_id'], ['race.id'], ),
    sa.PrimaryKeyConstraint('race_id')
    )


def downgrade() -> None:
    op.drop_table('pot_goal_reached')
    op.drop_table('pot_goal')

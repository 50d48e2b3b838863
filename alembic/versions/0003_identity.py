"""identity: login attempts, server-side sessions, role audit

State, PKCE verifier and session ids are stored only as SHA-256 digests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 16:42:10.487361
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import cozykart.db.types
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('verifier_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('next_path', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('expires_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('used_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('state_hash')
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_expires_at'), ['expires_at'], unique=False)

    op.create_table('auth_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('expires_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.Column('revoked_at', cozykart.db.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_session_racer_id'), ['racer_id'], unique=False)

    op.create_table('role_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('racer_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('old_value', sa.Boolean(), nullable=False),
    sa.Column('new_value', sa.Boolean(), nullable=False),
    sa.Column('actor_racer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', cozykart.db.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_racer_id'], ['racer.id'], ),
    sa.ForeignKeyConstraint(['racer_id'], ['racer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('role_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_change_racer_id'), ['racer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('role_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_change_racer_id'))

    op.drop_table('role_change')
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_session_racer_id'))

    op.drop_table('auth_session')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_expires_at'))

    op.drop_table('login_attempt')

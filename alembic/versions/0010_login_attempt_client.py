"""login attempt client: the digest of the address that started a login, to bound them per client

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 10:30:00.000000

Logins under way when this runs are dropped (their users are asked to log in
again): an attempt lives ten minutes, and one without a client could not be
counted against anyone.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text('DELETE FROM login_attempt'))
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False))
        batch_op.create_index(batch_op.f('ix_login_attempt_client_hash'), ['client_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_client_hash'))
        batch_op.drop_column('client_hash')

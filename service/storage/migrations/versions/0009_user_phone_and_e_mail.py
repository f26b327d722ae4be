"""user phone and e-mail

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00.000000

Contact details of a person (docs/people.md); both optional, '' when unknown, so the rows already
there need no value.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('email', sa.String(length=200), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
        batch_op.drop_column('phone')

"""substitutes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 15:00:00.000000

代理 (docs/approval-actions.md): one row per substitute named for a period; and notifications about
no project (the substitute is told), so their project becomes optional (0012 already made the task
optional). Existing rows keep their values.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('substitutes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('substitute', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_substitutes_username', 'substitutes', ['username', 'ends_on'])
    op.create_index('ix_substitutes_substitute', 'substitutes', ['substitute', 'ends_on'])
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE notification_id IN "
               "(SELECT id FROM notifications WHERE project_id IS NULL)")
    op.execute("DELETE FROM notifications WHERE project_id IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_substitutes_substitute', table_name='substitutes')
    op.drop_index('ix_substitutes_username', table_name='substitutes')
    op.drop_table('substitutes')

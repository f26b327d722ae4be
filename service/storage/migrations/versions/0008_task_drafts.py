"""task drafts (暂存)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00.000000

One row per (work item, user): the form a user has saved but not submitted (docs/drafts.md).
A new table only, so no existing row needs a value.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('work_item_id', 'username', name='uq_task_drafts_work_item_user')
    )


def downgrade() -> None:
    op.drop_table('task_drafts')

"""indexes for the paged lists (已办, 我发起的)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:00:00.000000

Each list is one COUNT plus one LIMIT/OFFSET query (docs/lists.md); these let both use an index
instead of scanning every completed work item or every project.
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_work_items_completed_by', 'work_items', ['completed_by', 'completed_at'])
    op.create_index('ix_projects_unit', 'projects', ['unit_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_projects_unit', table_name='projects')
    op.drop_index('ix_work_items_completed_by', table_name='work_items')

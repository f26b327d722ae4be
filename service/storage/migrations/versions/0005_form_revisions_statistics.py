"""form revisions; period indexes for statistics

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:45:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('form_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('schema', sa.JSON(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('saved_by', sa.String(length=100), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'revision', name='uq_form_revisions_name_revision')
    )
    op.create_index('ix_work_items_state_completed', 'work_items', ['state', 'completed_at'], unique=False)
    op.create_index('ix_work_items_project_state', 'work_items', ['project_id', 'state'], unique=False)
    op.create_index('ix_work_items_created_at', 'work_items', ['created_at'], unique=False)
    op.create_index('ix_late_filings_due_date', 'late_filings', ['due_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_late_filings_due_date', table_name='late_filings')
    op.drop_index('ix_work_items_created_at', table_name='work_items')
    op.drop_index('ix_work_items_project_state', table_name='work_items')
    op.drop_index('ix_work_items_state_completed', table_name='work_items')
    op.drop_table('form_revisions')

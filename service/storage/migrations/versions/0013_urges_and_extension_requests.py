"""urges and extension requests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'urges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('work_item_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('working_day', sa.Date(), nullable=False),
        sa.Column('by_user', sa.String(length=100), nullable=False),
        sa.Column('by_unit', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id']),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('work_item_id', 'working_day', name='uq_urges_work_item_day'),
    )
    op.create_index('ix_urges_unit_at', 'urges', ['unit_id', 'at'])
    op.create_index('ix_urges_project', 'urges', ['project_id'])
    op.create_table(
        'extension_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('work_item_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('new_due_date', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id']),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_extension_requests_state', 'extension_requests', ['state', 'requested_at'])
    op.create_index('ix_extension_requests_work_item', 'extension_requests', ['work_item_id'])
    op.create_index('uq_extension_requests_pending', 'extension_requests', ['work_item_id'], unique=True,
                    sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    op.drop_index('uq_extension_requests_pending', table_name='extension_requests',
                  sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))
    op.drop_index('ix_extension_requests_work_item', table_name='extension_requests')
    op.drop_index('ix_extension_requests_state', table_name='extension_requests')
    op.drop_table('extension_requests')
    op.drop_index('ix_urges_project', table_name='urges')
    op.drop_index('ix_urges_unit_at', table_name='urges')
    op.drop_table('urges')

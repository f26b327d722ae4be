"""supervision_measures

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 17:10:00.000000

Supervision measures (docs/supervision-measures.md): project suspensions (暂停建设 第十四条, 暂停运行
第二十六条) with the open one's kind on the project row, and the supervision actions recorded on a
project (第十四、十五、二十二、二十六条). Existing projects are not suspended.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspension', sa.String(length=20), nullable=True))
    op.create_table(
        'project_suspensions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('article', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('work_item_id', sa.Integer(), nullable=True),
        sa.Column('suspended_by', sa.String(length=100), nullable=False),
        sa.Column('suspended_at', sa.DateTime(), nullable=False),
        sa.Column('paused_items', sa.JSON(), nullable=False),
        sa.Column('resumed_by', sa.String(length=100), nullable=True),
        sa.Column('resumed_at', sa.DateTime(), nullable=True),
        sa.Column('resume_note', sa.Text(), nullable=True),
        sa.Column('paused_working_days', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_project_suspensions_project', 'project_suspensions', ['project_id', 'suspended_at'])
    op.create_index('uq_project_suspensions_open', 'project_suspensions', ['project_id'], unique=True,
                    sqlite_where=sa.text("resumed_at IS NULL"), postgresql_where=sa.text("resumed_at IS NULL"))
    op.create_table(
        'supervision_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('article', sa.String(length=40), nullable=False),
        sa.Column('authority', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('work_item_id', sa.Integer(), nullable=True),
        sa.Column('rectification_id', sa.Integer(), nullable=True),
        sa.Column('suspension_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id']),
        sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id']),
        sa.ForeignKeyConstraint(['suspension_id'], ['project_suspensions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_supervision_actions_project', 'supervision_actions', ['project_id', 'decided_at'])
    op.create_index('ix_supervision_actions_kind', 'supervision_actions', ['kind', 'decided_at'])


def downgrade() -> None:
    op.drop_index('ix_supervision_actions_kind', table_name='supervision_actions')
    op.drop_index('ix_supervision_actions_project', table_name='supervision_actions')
    op.drop_table('supervision_actions')
    op.drop_index('uq_project_suspensions_open', table_name='project_suspensions',
                  sqlite_where=sa.text("resumed_at IS NULL"), postgresql_where=sa.text("resumed_at IS NULL"))
    op.drop_index('ix_project_suspensions_project', table_name='project_suspensions')
    op.drop_table('project_suspensions')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('suspension')

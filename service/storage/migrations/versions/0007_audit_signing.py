"""keyed audit records and signed checkpoints

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:46:00.000000

Records written before this revision keep mac/key_id NULL: `govflow audit verify` reports them
as unsigned legacy (not broken) until `govflow audit sign-legacy` signs them (docs/audit.md).
The key is not in the database, so no migration can sign them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_mac', sa.String(length=200), server_default='', nullable=False))
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_mac', sa.String(length=200), server_default='', nullable=False))
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('algorithm', sa.String(length=10), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('mac', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index('ix_audit_checkpoints_project', ['project_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_checkpoints_unit', ['unit_id', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_checkpoints_unit')
        batch_op.drop_index('ix_audit_checkpoints_project')
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('audit_mac')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('audit_mac')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_column('key_id')
        batch_op.drop_column('mac')

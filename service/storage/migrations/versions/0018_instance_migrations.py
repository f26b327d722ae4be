"""instance_migrations

Records of running instances moved from one process version to another (docs/instance-migration.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 17:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instance_migrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('from_version_id', sa.Integer(), nullable=False),
        sa.Column('to_version_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.JSON(), nullable=False),
        sa.Column('migrated_by', sa.String(length=100), nullable=False),
        sa.Column('migrated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id']),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
        sa.ForeignKeyConstraint(['from_version_id'], ['process_versions.id']),
        sa.ForeignKeyConstraint(['to_version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_instance_migrations_project', 'instance_migrations', ['project_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_instance_migrations_project', table_name='instance_migrations')
    op.drop_table('instance_migrations')

"""process_deploys

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 17:10:00.000000

Deploy records (docs/deploy.md): which process version was made the one new declarations start on,
when, by whom, replacing which version, and what changed. The newest record of a process key names
its current version; process_versions stay immutable. Existing versions get one record each, in
version order, so the current version is unchanged by the upgrade.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'process_deploys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=100), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('replaced_version_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['process_versions.id']),
        sa.ForeignKeyConstraint(['replaced_version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_process_deploys_key', 'process_deploys', ['process_key', 'id'])
    versions = sa.table('process_versions', sa.column('id', sa.Integer), sa.column('process_key', sa.String),
                        sa.column('version', sa.Integer), sa.column('deployed_by', sa.String),
                        sa.column('deployed_at', sa.DateTime))
    deploys = sa.table('process_deploys', sa.column('process_key', sa.String), sa.column('version_id', sa.Integer),
                       sa.column('replaced_version_id', sa.Integer), sa.column('action', sa.String),
                       sa.column('actor', sa.String), sa.column('at', sa.DateTime), sa.column('changes', sa.JSON))
    conn = op.get_bind()
    previous: dict[str, int] = {}
    rows = []
    for vid, key, _version, by, at in conn.execute(
            sa.select(versions.c.id, versions.c.process_key, versions.c.version, versions.c.deployed_by,
                      versions.c.deployed_at).order_by(versions.c.process_key, versions.c.version)):
        rows.append({"process_key": key, "version_id": vid, "replaced_version_id": previous.get(key),
                     "action": "deploy", "actor": by, "at": at, "changes": {}})
        previous[key] = vid
    if rows:
        op.bulk_insert(deploys, rows)


def downgrade() -> None:
    op.drop_index('ix_process_deploys_key', table_name='process_deploys')
    op.drop_table('process_deploys')

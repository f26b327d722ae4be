"""carbon copies (抄送)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:00:00.000000

One row per recipient (a unit or a person) of a copied task or project (docs/approval-actions.md).
The in-app message of a project copy concerns no task, so notifications.work_item_id becomes
nullable; every existing row has one, so nothing needs a value.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('carbon_copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=True),
    sa.Column('to_unit_id', sa.Integer(), nullable=True),
    sa.Column('to_user', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('sent_by', sa.String(length=100), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('read_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ),
    sa.ForeignKeyConstraint(['to_unit_id'], ['units.id'], ),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_carbon_copies_to_user', 'carbon_copies', ['to_user', 'sent_at'], unique=False)
    op.create_index('ix_carbon_copies_to_unit', 'carbon_copies', ['to_unit_id', 'sent_at'], unique=False)
    op.create_index('ix_carbon_copies_project', 'carbon_copies', ['project_id'], unique=False)
    # SQLite cannot alter a column in place: batch mode copies the table (constraints kept).
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('work_item_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE notification_id IN "
               "(SELECT id FROM notifications WHERE work_item_id IS NULL)")
    op.execute("DELETE FROM notifications WHERE work_item_id IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('work_item_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_carbon_copies_project', table_name='carbon_copies')
    op.drop_index('ix_carbon_copies_to_unit', table_name='carbon_copies')
    op.drop_index('ix_carbon_copies_to_user', table_name='carbon_copies')
    op.drop_table('carbon_copies')

"""countersign steps (加签)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:00:00.000000

加签 lives outside the BPMN (docs/approval-actions.md): one row per added signer of a host work
item, and the held submission of a host whose 后加签 signers have not all signed yet. New tables
only, so no existing row needs a value.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('countersigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=True),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('signed_by', sa.String(length=100), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_countersigns_work_item', 'countersigns', ['work_item_id', 'state'], unique=False)
    op.create_index('ix_countersigns_unit_state', 'countersigns', ['unit_id', 'state'], unique=False)
    op.create_index('ix_countersigns_project', 'countersigns', ['project_id'], unique=False)
    op.create_table('countersign_holds',
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('held_by', sa.String(length=100), nullable=False),
    sa.Column('held_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], ),
    sa.PrimaryKeyConstraint('work_item_id')
    )


def downgrade() -> None:
    op.drop_table('countersign_holds')
    op.drop_index('ix_countersigns_project', table_name='countersigns')
    op.drop_index('ix_countersigns_unit_state', table_name='countersigns')
    op.drop_index('ix_countersigns_work_item', table_name='countersigns')
    op.drop_table('countersigns')

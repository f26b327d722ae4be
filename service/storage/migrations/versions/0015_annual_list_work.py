"""annual_list_work: 建议清单 compiled by 市大数据局, co-signed by 市财政局, approved by 市政府;
several lists per budget year (主清单 and 追加清单); who set a declaration window / 预算安排完成.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:10:00.000000
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _new_lists_table() -> None:
    op.create_table('annual_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('approved_entries', sa.JSON(), nullable=True),
    sa.Column('compiled_by', sa.String(length=100), nullable=False),
    sa.Column('compiled_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('cosigned_by', sa.String(length=100), nullable=True),
    sa.Column('cosigned_at', sa.DateTime(), nullable=True),
    sa.Column('cosign_opinion', sa.Text(), nullable=True),
    sa.Column('returned_reason', sa.Text(), nullable=True),
    sa.Column('document_no', sa.String(length=100), nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('budget_year', 'seq', name='uq_annual_lists_year_seq')
    )


def upgrade() -> None:
    conn = op.get_bind()
    # A year's approval so far was one row keyed on the year; each becomes that year's approved
    # main list (seq 1). Read first, then drop: PostgreSQL would keep the old primary key's name.
    old = conn.execute(sa.text('SELECT budget_year, document_no, approved_by, approved_at, entries '
                               'FROM annual_lists')).fetchall()
    op.drop_table('annual_lists')
    _new_lists_table()
    # Typed columns: bulk_insert must encode the entries as JSON (psycopg cannot adapt a bare list of dicts).
    json_columns = {'entries', 'approved_entries'}
    table = sa.table('annual_lists', *(sa.column(c, sa.JSON if c in json_columns else None) for c in (
        'budget_year', 'seq', 'status', 'entries', 'approved_entries', 'compiled_by', 'compiled_at',
        'document_no', 'approved_by', 'approved_at', 'revision')))
    rows = []
    for year, doc, by, at, entries in old:
        items = json.loads(entries) if isinstance(entries, str) else (entries or [])
        rows.append({'budget_year': year, 'seq': 1, 'status': 'approved',
                     'entries': [{'project_id': e['project_id'], 'proposed': e.get('amount'), 'priority': None,
                                  'remark': None} for e in items],
                     'approved_entries': [{'project_id': e['project_id'], 'amount': e.get('amount'),
                                           'reason': None} for e in items],
                     'compiled_by': by, 'compiled_at': at, 'document_no': doc, 'approved_by': by,
                     'approved_at': at, 'revision': 1})
    if rows:
        op.bulk_insert(table, rows)
    with op.batch_alter_table('declaration_windows') as batch:
        batch.add_column(sa.Column('updated_by', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('budget_arranged_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('declaration_windows') as batch:
        batch.drop_column('budget_arranged_by')
        batch.drop_column('updated_at')
        batch.drop_column('updated_by')
    op.drop_table('annual_lists')
    op.create_table('annual_lists',
    sa.Column('budget_year', sa.Integer(), nullable=False),
    sa.Column('document_no', sa.String(length=100), nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('budget_year')
    )

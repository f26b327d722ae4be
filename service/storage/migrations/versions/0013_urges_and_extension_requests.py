"""urges and extension requests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled by the helper that owns this revision


def downgrade() -> None:
    pass

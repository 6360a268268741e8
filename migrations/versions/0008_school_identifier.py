"""a school's own identifier (OneRoster orgs.csv `identifier`): per-school settings may name it

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('identifier', sa.String(length=255), server_default='', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('identifier')

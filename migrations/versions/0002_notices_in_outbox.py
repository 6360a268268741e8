"""notices in the outbox: a delivery may carry a notice instead of an announcement

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 00:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The unique constraint on (announcement_id, pupil_id) stays: NULLs are distinct in it on SQLite
# and PostgreSQL, so a person may have several notices; the unique idempotency_key keeps one
# notice from being added twice.


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice', sa.JSON(), nullable=True))
        batch_op.alter_column('announcement_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Notice rows cannot exist without an announcement in the old schema.
    op.execute(
        'DELETE FROM letter_items WHERE delivery_id IN '
        '(SELECT id FROM deliveries WHERE announcement_id IS NULL)'
    )
    op.execute('DELETE FROM deliveries WHERE announcement_id IS NULL')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('announcement_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('notice')

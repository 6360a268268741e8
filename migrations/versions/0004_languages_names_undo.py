"""each person's language and preferred name; withdrawn and corrected announcements

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The language klasbot uses with a person (contacts.csv `language`, `/taal`); NULL = the
    # school's. The name a pupil is called by (OneRoster 1.2 `preferredGivenName`): rule 5
    # looks for it too.
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column(
                'preferred_given_name', sa.String(length=255), nullable=False, server_default=''
            )
        )
    # Undo: a withdrawn announcement keeps its row (the audit and the deliveries refer to it);
    # a correction replaces its text and counts up `revision`.
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('withdraw_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('revision', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('withdraw_reason')
        batch_op.drop_column('withdrawn_by')
        batch_op.drop_column('withdrawn_at')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('preferred_given_name')
        batch_op.drop_column('language')

"""an index on deliveries (status, channel): /metrics counts them at every scrape

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:45:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_deliveries_status_channel', 'deliveries', ['status', 'channel'])


def downgrade() -> None:
    op.drop_index('ix_deliveries_status_channel', table_name='deliveries')

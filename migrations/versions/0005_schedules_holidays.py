"""mentors' schedules, the occurrences that fired, and the school's holidays

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'schedules',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('class_id', sa.String(length=255), nullable=False),
        sa.Column('author_id', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('when', sa.String(length=200), nullable=False),
        sa.Column('rule', sa.String(length=500), nullable=True),
        sa.Column('start', sa.String(length=32), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('exceptions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_run', sa.DateTime(timezone=True), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ['class_id'], ['classes.id'], name=op.f('fk_schedules_class_id_classes')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules')),
    )
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.create_index('ix_schedules_due', ['active', 'next_run'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedules_class_id'), ['class_id'], unique=False)
    op.create_table(
        'schedule_firings',
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('occurrence', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('announcement_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['schedule_id'],
            ['schedules.id'],
            name=op.f('fk_schedule_firings_schedule_id_schedules'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('schedule_id', 'occurrence', name=op.f('pk_schedule_firings')),
    )
    op.create_table(
        'holidays',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('start', sa.Date(), nullable=False),
        sa.Column('end', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_holidays')),
        sa.UniqueConstraint('start', 'end', 'name', name='uq_holidays_period'),
    )


def downgrade() -> None:
    op.drop_table('holidays')
    op.drop_table('schedule_firings')
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedules_class_id'))
        batch_op.drop_index('ix_schedules_due')
    op.drop_table('schedules')

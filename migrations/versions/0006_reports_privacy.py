"""reports and escalations, the classes an audit event concerns, a person's schools and consent

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('school_ids', sa.String(length=1000), server_default='', nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                'share_with_guardians', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    op.create_table(
        'reports',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('reporter_id', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('school_id', sa.String(length=255), nullable=True),
        sa.Column('class_ids', sa.JSON(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('platform', sa.String(length=20), nullable=True),
        sa.Column('forwarded_to', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.String(length=255), nullable=True),
        sa.Column('close_note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_state'), ['state'], unique=False)
    op.create_table(
        'audit_classes',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('class_id', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ['event_id'],
            ['audit_events.id'],
            name=op.f('fk_audit_classes_event_id_audit_events'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('event_id', 'class_id', name=op.f('pk_audit_classes')),
    )
    with op.batch_alter_table('audit_classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_classes_class_id'), ['class_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_classes_class_id'))
    op.drop_table('audit_classes')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_state'))
        batch_op.drop_index(batch_op.f('ix_reports_reporter_id'))
    op.drop_table('reports')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('share_with_guardians')
        batch_op.drop_column('school_ids')

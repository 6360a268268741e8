"""claim tokens on deliveries, several roles per person, link codes stored as hashes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:00:00.000000
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _hash_code(code: str) -> str:
    # The same as bot.codes.hash_code at the time of this migration (a migration does not import
    # the application: it must do what it did when it was written).
    normalized = ''.join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.scrypt(
        normalized.encode(), salt=b'klasbot link code v1', n=2**11, r=8, p=1, dklen=32
    ).hex()


def upgrade() -> None:
    # A claim's token: an outcome is recorded only by the worker whose claim it still is.
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))

    # Every role a person has (OneRoster 1.2 roles.csv: a teacher who is also a parent);
    # `role` stays the primary one.
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('roles', sa.String(length=100), nullable=False, server_default='')
        )
    op.execute("UPDATE persons SET roles = role")

    # Link codes: only their hash is kept.
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_hash', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    invites = sa.table('invites', sa.column('code', sa.String), sa.column('code_hash', sa.String))
    for (code,) in conn.execute(sa.select(invites.c.code)).all():
        conn.execute(
            invites.update().where(invites.c.code == code).values(code_hash=_hash_code(code))
        )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_constraint('pk_invites', type_='primary')
        batch_op.drop_column('code')
        batch_op.alter_column('code_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_primary_key('pk_invites', ['code_hash'])


def downgrade() -> None:
    # The codes cannot be recovered from their hashes: the unused ones are lost (issue new ones).
    op.execute('DELETE FROM invites')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_constraint('pk_invites', type_='primary')
        batch_op.add_column(sa.Column('code', sa.String(length=64), nullable=False))
        batch_op.drop_column('code_hash')
        batch_op.create_primary_key('pk_invites', ['code'])
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('roles')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('claim_token')

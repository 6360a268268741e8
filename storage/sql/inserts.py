"""Inserting many rows and learning their ids, in their order, in few round trips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ids(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` into `table` (a mapped class with an integer `id`); their ids, in `rows`'
    order.

    PostgreSQL returns them from one `INSERT … RETURNING` per batch. SQLite cannot say in which
    order a many-row RETURNING comes back, so SQLAlchemy would send one INSERT per row; there
    the rows go in one `executemany` and their ids are read back after it: every SQLite
    transaction of klasbot holds the write lock from its start (`BEGIN IMMEDIATE`, see
    `storage.store`), so the ids above the largest one before are exactly these rows', in
    order."""
    if not rows:
        return []
    # The Core table, not the mapped class: SQLAlchemy's ORM bulk insert would spend more on
    # its statements' cache keys than the database on the rows.
    core: sa.Table = table.__table__
    id_column = core.c.id
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        inserted = await session.scalars(
            sa.insert(core).returning(id_column, sort_by_parameter_order=True), rows
        )
        return list(inserted.all())
    before = await session.scalar(sa.select(sa.func.max(id_column))) or 0
    await session.execute(sa.insert(core), rows)
    after = sa.select(id_column).where(id_column > before).order_by(id_column)
    ids = list((await session.scalars(after)).all())
    if len(ids) != len(rows):  # another writer in this transaction's table: never under the lock
        raise RuntimeError(f"{core.name}: {len(rows)} rows inserted, {len(ids)} found")
    return ids

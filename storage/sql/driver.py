"""Statements as the database driver takes them, for bulk work (the roster sync): plain SQL in
the driver's parameter style, rows as tuples, `executemany` in batches, stored rows streamed as
the driver returns them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

BATCH = 2000
"""Rows per executemany batch and per fetched partition of a streamed table. An `IN (…)` holds at
most this many ids: well under PostgreSQL's 32,767 parameters of one statement."""


class Driver:
    """The roster sync's statements as the database driver takes them: plain SQL in the driver's
    parameter style, rows as tuples, `executemany` in batches, stored rows streamed as the driver
    returns them. (SQLAlchemy's own per-row parameter and result handling was a fifth of a big
    import.) Values are compared and written in the driver's form: on SQLite a date is its ISO
    text and a boolean 0 or 1."""

    def __init__(self, session: AsyncSession, connection: Any) -> None:
        self.session = session
        self.connection = connection
        dialect = connection.dialect
        self.quote = dialect.identifier_preparer.quote
        self.paramstyle = dialect.paramstyle
        self.date: Callable[[date | None], Any] = _iso_date if dialect.name == "sqlite" else _same

    @classmethod
    async def of(cls, session: AsyncSession) -> Driver:
        return cls(session, await session.connection())

    def _params(self, count: int, start: int = 1) -> list[str]:
        style = self.paramstyle
        if style == "qmark":
            return ["?"] * count
        if style == "numeric_dollar":
            return [f"${n}" for n in range(start, start + count)]
        if style == "numeric":
            return [f":{n}" for n in range(start, start + count)]
        if style in ("format", "pyformat"):
            return ["%s"] * count
        raise NotImplementedError(f"parameter style {style}")

    def _names(self, columns: Sequence[str]) -> list[str]:
        return [self.quote(c) for c in columns]

    def insert(self, table: str, columns: Sequence[str]) -> str:
        return (
            f"INSERT INTO {self.quote(table)} ({', '.join(self._names(columns))}) "
            f"VALUES ({', '.join(self._params(len(columns)))})"
        )

    def update(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        values = self._params(len(columns))
        where = self._params(len(keys), len(columns) + 1)
        return (
            f"UPDATE {self.quote(table)} SET "
            + ", ".join(f"{c} = {v}" for c, v in zip(self._names(columns), values, strict=True))
            + " WHERE "
            + " AND ".join(f"{c} = {v}" for c, v in zip(self._names(keys), where, strict=True))
        )

    def delete(self, table: str, keys: Sequence[str]) -> str:
        where = self._params(len(keys))
        return f"DELETE FROM {self.quote(table)} WHERE " + " AND ".join(
            f"{c} = {v}" for c, v in zip(self._names(keys), where, strict=True)
        )

    async def stream(self, table: str, columns: Sequence[str]) -> AsyncIterator[Sequence[Any]]:
        """The stored rows of `table`, `BATCH` at a time (a whole table is never held)."""
        sql = f"SELECT {', '.join(self._names(columns))} FROM {self.quote(table)}"
        result = await self.session.stream(sa.text(sql))
        async for rows in result.partitions(BATCH):
            yield rows

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """`sql` once per row of `rows`, as the driver's executemany in batches."""
        remaining = iter(rows)
        while batch := list(islice(remaining, BATCH)):
            await self.connection.exec_driver_sql(sql, batch)


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _same(value: date | None) -> date | None:
    return value

"""The database engine and its transactions.

`Database.transaction()` yields the repositories of `bot.repositories` (`SqlRepositories`) bound
to one transaction: everything done through them commits together or not at all (the outbox: an
announcement and its deliveries are one write).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.sql import SqlRepositories


class Database:
    """Owns the engine. One per process; pass it in, never a module-level global."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            # One writer at a time on SQLite; wait for the lock instead of failing at once.
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlRepositories]:
        """One transaction: commits when the block ends normally, rolls back when it raises."""
        async with self._sessions() as session, session.begin():
            yield SqlRepositories(session)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()

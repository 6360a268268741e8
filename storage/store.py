"""The database engine and its transactions.

`Database.transaction()` yields the repositories of `bot.repositories` (`SqlRepositories`) bound
to one transaction: everything done through them commits together or not at all (the outbox: an
announcement and its deliveries are one write).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.sql import SqlRepositories

# Whether this task is inside `Database.transaction()`.
_open: ContextVar[bool] = ContextVar("klasbot_transaction_open", default=False)


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
            sa.event.listen(self.engine.sync_engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlRepositories]:
        """One transaction: commits when the block ends normally, rolls back when it raises."""
        if _open.get() and self.dialect == "sqlite":
            # The inner transaction would wait for the write lock the outer one holds (BEGIN
            # IMMEDIATE) until the busy timeout: say so at once instead.
            raise RuntimeError("a transaction was begun inside another one in the same task")
        token = _open.set(True)
        try:
            async with self._sessions() as session, session.begin():
                yield SqlRepositories(session)
        finally:
            _open.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own BEGIN is deferred: a transaction that reads, then writes, may find that
    # another process wrote in between (two dispatchers claiming the same rows, or SQLITE_BUSY
    # that no timeout cures). Every transaction begins IMMEDIATE instead (`_sqlite_begin`): it
    # takes the write lock before its first read, so any number of processes on one file take
    # turns, waiting up to the busy timeout.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    if conn.get_execution_options().get(OUTSIDE_TRANSACTION):
        return  # statements that SQLite ignores inside a transaction (PRAGMA foreign_keys)
    conn.exec_driver_sql("BEGIN IMMEDIATE")


# An execution option: on SQLite, run this connection's statements outside any transaction.
OUTSIDE_TRANSACTION = "klasbot_outside_transaction"

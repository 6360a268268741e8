"""The database engine and its transactions.

`Database.transaction()` yields the repositories of `bot.repositories` (`SqlRepositories`) bound
to one transaction: everything done through them commits together or not at all (the outbox: an
announcement and its deliveries are one write).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
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
        self._turns = _Turns.for_url(self.engine.url) if url.startswith("sqlite") else None

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
            if self._turns is None:
                async with self._sessions() as session, session.begin():
                    yield SqlRepositories(session)
            else:
                async with self._turns, self._sessions() as session, session.begin():
                    yield SqlRepositories(session)
        finally:
            _open.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()


class _Turns:
    """First come, first served between every process and task that writes one SQLite file.

    SQLite's own wait for the write lock (the busy timeout) polls with growing sleeps: a process
    that waits while others run short transactions back to back may not get a turn for longer
    than the timeout, and fails with "database is locked" (seen with three `klasbot dispatch`
    processes recording e-mails one by one). A blocking `flock` on a file beside the database
    wakes a waiter as soon as the lock is free instead. Within a process an asyncio lock comes
    first, so at most one thread per process waits in `flock`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = asyncio.Lock()
        self._fd: int | None = None

    @classmethod
    def for_url(cls, url: sa.URL) -> _Turns | None:
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(Path(database).with_name(Path(database).name + ".lock"))

    async def __aenter__(self) -> None:
        await self._local.acquire()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
            try:
                await asyncio.shield(waiting)
            except BaseException:
                # Cancelled while the thread waits: let it finish, then give the lock back.
                with contextlib.suppress(BaseException):
                    await waiting
                os.close(fd)  # closing the file releases the lock
                raise
            self._fd = fd
        except BaseException:
            self._local.release()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        fd, self._fd = self._fd, None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        finally:
            self._local.release()


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

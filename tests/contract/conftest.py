"""The contract suite runs every test over each implementation of `bot.repositories`: in memory,
on a migrated SQLite file and on a fresh migrated PostgreSQL database (skipped without
KLASBOT_TEST_POSTGRES_URL)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy.exc

from bot.repositories import UnitOfWork
from storage.memory import DuplicateKeyError, InMemoryUnitOfWork
from storage.migrate import upgrade
from storage.store import Database
from tests.conftest import POSTGRES_ENV, _postgres_admin_url
from tests.support.postgres import create_database, drop_database

# What adding a key twice raises: the database's integrity error, or the in-memory one.
DUPLICATE = (sqlalchemy.exc.IntegrityError, DuplicateKeyError)

_template: dict[str, Path] = {}


async def _sqlite_file(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied from one migrated once per session."""
    if "sqlite" not in _template:
        template = tmp_path_factory.mktemp("contract") / "template.db"
        db = Database(f"sqlite+aiosqlite:///{template}")
        try:
            await upgrade(db.engine)
        finally:
            await db.dispose()
        _template["sqlite"] = template
    path = tmp_path / "klasbot.db"
    shutil.copyfile(_template["sqlite"], path)
    return path


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def uow(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[UnitOfWork]:
    if request.param == "memory":
        yield InMemoryUnitOfWork()
        return
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{await _sqlite_file(tmp_path, tmp_path_factory)}")
        try:
            yield db
        finally:
            await db.dispose()
        return
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL contract tests need {POSTGRES_ENV}")
    name, url = await create_database(admin)
    db = Database(url)
    try:
        await upgrade(db.engine)
        yield db
    finally:
        await db.dispose()
        await drop_database(admin, name)

"""Apply and inspect Alembic migrations from inside the application (`klasbot db upgrade`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.store import OUTSIDE_TRANSACTION

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        if sqlite:
            # A batch migration re-creates a table and drops the old one; with foreign keys on,
            # that DROP deletes (ON DELETE CASCADE) every row that refers to it. The pragma only
            # takes effect outside a transaction, so it is set before the migration begins.
            await _outside_transaction(conn, "PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(run)
        finally:
            if sqlite:
                await _outside_transaction(conn, "PRAGMA foreign_keys=ON")


async def _outside_transaction(conn: AsyncConnection, statement: str) -> None:
    await conn.execution_options(**{OUTSIDE_TRANSACTION: True})
    try:
        await conn.exec_driver_sql(statement)
        await conn.commit()
    finally:
        await conn.execution_options(**{OUTSIDE_TRANSACTION: False})


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def revisions() -> tuple[str, frozenset[str]]:
    """The latest revision of the migrations (`upgrade head` leads there) and every revision
    they know, without a database."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None, "the migrations have one head"
    return head, frozenset(r.revision for r in script.walk_revisions())

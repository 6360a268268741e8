"""Alembic environment (async). The URL comes from the caller (`klasbot db upgrade`) or
KLASBOT_DATABASE_URL; SQLite uses batch mode because it cannot ALTER most things in place."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("KLASBOT_DATABASE_URL")
        or "sqlite+aiosqlite:///./klasbot-data/klasbot.db"
    )


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations must not import application code, so the decorated type is written as its impl.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection | None = None) -> None:
    url = _url()
    context.configure(
        connection=connection,
        url=None if connection is not None else url,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        render_item=_render_item,
        literal_binds=connection is None,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run_sync)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    _configure()
    with context.begin_transaction():
        context.run_migrations()
elif (handed_in := config.attributes.get("connection")) is not None:
    # storage.migrate hands in a sync Connection from inside its own event loop.
    _run_sync(handed_in)
else:
    asyncio.run(_run_async())

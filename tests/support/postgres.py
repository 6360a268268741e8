"""Throw-away PostgreSQL databases for tests and benchmarks (created and dropped through the
admin URL in KLASBOT_TEST_POSTGRES_URL)."""

from __future__ import annotations

import uuid

import asyncpg


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def create_database(admin_url: str, prefix: str = "klasbot_test") -> tuple[str, str]:
    """Create an empty database; returns (its name, its SQLAlchemy URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin_url.rpartition("/")[0]
    if not base.startswith("postgresql+asyncpg://"):
        base = base.replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()

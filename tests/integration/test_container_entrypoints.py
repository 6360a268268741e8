"""The image's entry points as plain processes on PostgreSQL (no Docker here): `klasbot run`
never migrates by itself, `klasbot db upgrade` does, and then `klasbot run` answers the
Dockerfile's own HEALTHCHECK command on KLASBOT_HTTP__PORT."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import POSTGRES_ENV
from tests.support.postgres import create_database, drop_database
from tests.support.processes import process_env, run_klasbot, start_bot
from tests.support.smtp import free_port
from tests.unit.test_container import env_defaults, healthcheck_command

pytestmark = pytest.mark.postgres


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"the image's entry points run on PostgreSQL: set {POSTGRES_ENV}")
    name, url = await create_database(admin, "klasbot_container")
    try:
        yield url
    finally:
        await drop_database(admin, name)


def image_env(tmp_path: Path, database_url: str, port: int) -> dict[str, str]:
    """The environment the image gives a worker (its ENV defaults, the data directories under
    `tmp_path` instead of /data), with the compose file's database URL and port."""
    image = {
        k: v
        for k, v in env_defaults().items()
        if k.startswith("KLASBOT_") and not v.startswith("/data")
    }
    return process_env(tmp_path, database_url, **{**image, "KLASBOT_HTTP__PORT": str(port)})


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def healthcheck(port: int) -> int:
    """The Dockerfile's HEALTHCHECK command, as it is written there, against `port`."""
    command = healthcheck_command()
    assert command[0] == "python"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:],
        env={**os.environ, "KLASBOT_HTTP__PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await proc.wait()


async def test_run_never_migrates_a_fresh_database_by_itself(
    tmp_path: Path, postgres_url: str
) -> None:
    env = image_env(tmp_path, postgres_url, free_port())
    bot = await start_bot(env)
    try:
        async with asyncio.timeout(60):
            _, err = await bot.communicate()
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            await bot.wait()
    assert bot.returncode != 0
    assert "klasbot db upgrade" in err.decode()
    assert await tables(postgres_url) == set()


async def test_db_upgrade_then_run_answers_the_images_health_check(
    tmp_path: Path, postgres_url: str
) -> None:
    if importlib.util.find_spec("adapters.http") is None:
        pytest.skip("`klasbot run` does not serve /healthz yet (no adapters.http module)")
    port = free_port()
    env = image_env(tmp_path, postgres_url, port)
    upgraded = run_klasbot(env, "db", "upgrade", cwd=tmp_path)
    assert "alembic_version" in await tables(postgres_url), upgraded.stdout
    # Before the bot is up the check fails, as Docker would see a starting container.
    assert await healthcheck(port) != 0
    bot = await start_bot(env)
    try:
        status = 1
        async with asyncio.timeout(60):
            while status != 0:
                assert bot.returncode is None, "klasbot run exited before it was healthy"
                await asyncio.sleep(0.3)
                status = await healthcheck(port)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()

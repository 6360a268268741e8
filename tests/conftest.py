"""Shared fixtures. Storage tests run on SQLite and, when KLASBOT_TEST_POSTGRES_URL is set
(`.ci/run` sets it), on PostgreSQL too; each test gets a database of its own."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from config.settings import Settings, load_settings
from tests.support.environ import local_environ
from tests.support.postgres import create_database, drop_database
from tests.support.processes import DEMO_ROSTER as DEMO_ROSTER  # the tests' one name for it

POSTGRES_ENV = "KLASBOT_TEST_POSTGRES_URL"
# 10:00 in Amsterdam on a Monday: outside quiet hours.
DEMO_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests talk only to loopback: a connection anywhere else is a bug in the test."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not host.startswith("127.")
        ):
            raise RuntimeError(f"test tried to reach {address!r}; only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'klasbot.db'}"
        return
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)"
        )
    name, url = await create_database(admin)
    try:
        yield url
    finally:
        await drop_database(admin, name)


def make_settings(tmp_path: Path, database_url: str, **env: str) -> Settings:
    return load_settings(environ=local_environ(tmp_path, database_url, **env))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DEMO_NOW)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`scripts/test`: `--dist loadgroup`) the tests of one file run in one
    worker, so that its module fixtures are made once, and every Matrix test runs in the same
    worker, so that one worker starts Synapse."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        path = item.path
        group = "synapse" if "matrix" in path.parts else str(path)
        item.add_marker(pytest.mark.xdist_group(group))

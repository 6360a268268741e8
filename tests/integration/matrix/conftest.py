"""Fixtures for the Matrix tests: real Synapse homeservers started by the test session.

`synapse` is parametrized over room versions 11 and 12 (the server's `default_room_version`) with
relaxed rate limits, for the end-to-end tests; `synapse_default_limits` keeps Synapse's own
defaults, for the broadcast test. Servers start on first use and stop at the end of the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.matrix.platform import MatrixPlatform
from bot import bootstrap
from tests.integration.matrix.helpers import MatrixUser, matrix_settings, running_klasbot, unique
from tests.integration.matrix.synapse import RegisteredUser, Synapse, start_synapse

ROOM_VERSIONS = ("11", "12")


@pytest.fixture(scope="session")
def synapse_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str, bool], Synapse]]:
    servers: dict[tuple[str, bool], Synapse] = {}

    def get(room_version: str, relaxed: bool) -> Synapse:
        key = (room_version, relaxed)
        if key not in servers:
            name = f"synapse-v{room_version}-{'relaxed' if relaxed else 'default'}"
            servers[key] = start_synapse(
                tmp_path_factory.mktemp(name), room_version=room_version, relaxed=relaxed
            )
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session", params=ROOM_VERSIONS, ids=lambda v: f"room-v{v}")
def synapse(
    request: pytest.FixtureRequest, synapse_servers: Callable[[str, bool], Synapse]
) -> Synapse:
    """A homeserver with relaxed rate limits whose rooms are of version 11 or 12 by default."""
    server = synapse_servers(request.param, True)
    probe = server.register(unique("probe"))
    if not server.supports_room_version(probe.access_token, request.param):
        pytest.skip(f"Synapse {server.version} does not offer room version {request.param}")
    return server


@pytest.fixture(scope="session")
def synapse_default_limits(synapse_servers: Callable[[str, bool], Synapse]) -> Synapse:
    """A homeserver with Synapse's default rate limits (rc_message 0.2/s, burst 10, …)."""
    return synapse_servers("12", False)


@dataclass
class Klasbot:
    app: bootstrap.App
    platform: MatrixPlatform
    bot: RegisteredUser
    server: Synapse

    @property
    def bot_id(self) -> str:
        return self.bot.user_id


@pytest.fixture
async def bot_user(synapse: Synapse) -> RegisteredUser:
    return synapse.register(unique("klasbot"), displayname="klasbot")


@pytest.fixture
async def klasbot(
    tmp_path: Path, synapse: Synapse, bot_user: RegisteredUser
) -> AsyncIterator[Klasbot]:
    """klasbot on a fresh database with the demo school, logged in to `synapse` and syncing."""
    settings = matrix_settings(tmp_path, synapse, bot_user)
    await bootstrap.migrate(settings)
    async with running_klasbot(settings) as (app, platform):
        yield Klasbot(app, platform, bot_user, synapse)


@pytest.fixture
async def matrix_users(synapse: Synapse) -> AsyncIterator[Callable[[str], Awaitable[MatrixUser]]]:
    """Makes people with their own matrix-nio client on `synapse`; closes them afterwards."""
    made: list[MatrixUser] = []

    async def make(name: str) -> MatrixUser:
        user = MatrixUser(synapse, synapse.register(unique(name), displayname=name))
        made.append(user)
        await user.sync(0)
        return user

    yield make
    for user in made:
        await user.close()

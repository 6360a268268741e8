"""Matrix test helpers: real matrix-nio clients for pupils and staff, and a klasbot on Matrix."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomMemberEvent,
    RoomMessage,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

from adapters.matrix.platform import MatrixPlatform, matrix_platform_from_settings
from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import Group
from bot.ports import Clock
from bot.usecases import roster as roster_uc
from config.settings import Settings, load_settings
from tests.integration.matrix.synapse import RegisteredUser, Synapse
from tests.support.environ import local_environ

ROOT = Path(__file__).resolve().parents[3]
DEMO_ROSTER = ROOT / "config" / "demo" / "roster"
# Monday 23 November 2026, 11:00 in Amsterdam: outside quiet hours.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SCHOOL = "De Passie Utrecht"


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 20.0, what: str = "a condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


class MatrixUser:
    """A person on the homeserver with a real matrix-nio client (a pupil, a teacher, a stranger)."""

    def __init__(self, server: Synapse, user: RegisteredUser) -> None:
        self.user = user
        self.user_id = user.user_id
        self.client = AsyncClient(
            server.base_url,
            user.user_id,
            device_id=user.device_id,
            config=AsyncClientConfig(encryption_enabled=False, request_timeout=30),
        )
        self.client.restore_login(user.user_id, user.device_id, user.access_token)
        self.timeline: dict[str, list[Any]] = defaultdict(list)
        self.invites: set[str] = set()

    async def sync(self, timeout_ms: int = 250) -> None:
        response = await self.client.sync(
            timeout=timeout_ms, sync_filter={"presence": {"not_types": ["*"]}}
        )
        assert isinstance(response, SyncResponse), response
        self.invites.update(response.rooms.invite)
        for room_id, info in response.rooms.join.items():
            self.timeline[room_id].extend(info.timeline.events)
        for room_id, info in response.rooms.leave.items():
            self.timeline[room_id].extend(info.timeline.events)

    async def until(
        self, predicate: Callable[[], bool], *, within: float = 20.0, what: str = ""
    ) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.user_id}: timed out waiting for {what or 'an event'}")
            await self.sync()

    def messages(self, room_id: str, sender: str | None = None) -> list[RoomMessage]:
        return [
            e
            for e in self.timeline[room_id]
            if isinstance(e, RoomMessage) and (sender is None or e.sender == sender)
        ]

    def texts(self, room_id: str, sender: str | None = None) -> list[str]:
        return [getattr(e, "body", "") for e in self.messages(room_id, sender)]

    def membership(self, room_id: str, user_id: str | None = None) -> RoomMemberEvent | None:
        """The latest membership event of `user_id` (default: this user) seen in the room."""
        user_id = user_id or self.user_id
        events = [
            e
            for e in self.timeline[room_id]
            if isinstance(e, RoomMemberEvent) and e.state_key == user_id
        ]
        return events[-1] if events else None

    async def open_direct_chat(self, bot_id: str) -> str:
        created = await self.client.room_create(
            is_direct=True, invite=[bot_id], preset=RoomPreset.trusted_private_chat
        )
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        await self.until(
            lambda: (m := self.membership(room_id, bot_id)) is not None and m.membership == "join",
            what="the bot to accept the direct chat",
        )
        return room_id

    async def say(self, room_id: str, text: str) -> RoomSendResponse:
        sent = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        assert isinstance(sent, RoomSendResponse), sent
        return sent

    async def ask(self, room_id: str, text: str, bot_id: str, *, within: float = 20.0) -> str:
        """Send `text` and return the bot's next message in that room."""
        before = len(self.texts(room_id, bot_id))
        await self.say(room_id, text)
        await self.until(
            lambda: len(self.texts(room_id, bot_id)) > before,
            within=within,
            what=f"an answer to {text!r}",
        )
        return "\n".join(self.texts(room_id, bot_id)[before:])

    async def close(self) -> None:
        await self.client.close()


def matrix_settings(directory: Path, server: Synapse, bot: RegisteredUser, **env: str) -> Settings:
    environ = local_environ(
        directory,
        **{
            "KLASBOT_SCHOOL__NAME": SCHOOL,
            "KLASBOT_MATRIX__HOMESERVER": server.base_url,
            "KLASBOT_MATRIX__USER_ID": bot.user_id,
            "KLASBOT_MATRIX__PASSWORD": bot.password,
            **env,  # a test may override any of these
        },
    )
    return load_settings(environ=environ)


@asynccontextmanager
async def running_klasbot(
    settings: Settings, clock: Clock | None = None, *, roster: Path | None = DEMO_ROSTER
) -> AsyncIterator[tuple[bootstrap.App, MatrixPlatform]]:
    """A klasbot with the Matrix platform running (logged in, first sync handled)."""
    platform = matrix_platform_from_settings(settings.matrix, settings.data_dir)
    assert platform is not None
    async with bootstrap.build(
        settings, clock=clock or FrozenClock(NOW), extra_platforms={"matrix": platform}
    ) as app:
        if roster is not None:
            await roster_uc.import_roster(app.ctx, read_roster(roster))
        async with platform.running(app.chat):
            await asyncio.wait_for(platform.synced.wait(), 30)
            yield app, platform


async def member_state(app: bootstrap.App, group: Group, person_id: str) -> str:
    async with app.db.transaction() as store:
        membership = (await store.groups.members(group.id)).get(person_id)
    return membership.state.value if membership else ""


async def wait_member(
    app: bootstrap.App, group: Group, person_id: str, state: str = "member"
) -> None:
    async def check() -> bool:
        return await member_state(app, group, person_id) == state

    await eventually(check, what=f"{person_id} to be {state} of {group.chat_id}")

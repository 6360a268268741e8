"""Matrix through matrix-nio: the bot owns one private, invite-only room per class.

Lifecycle (explicit, STYLE lesson 4): `connect(core)` logs in; `start(core)` logs in and runs
the sync loop as a task; `stop()` ends it and closes the client; `running(core, receive=...)` does
either as an async context manager. `create_group`, `post`, `admit` and `remove` only need a
connection.

The parts: `session` (login, device, transaction ids, the state kept in the core), `transport`
(every request: pacing, error translation, retries), `groups` (class rooms and their power
levels), `sync` (the sync loop and the events it brings), `direct` (direct chats and replies).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from nio import AsyncClient, RoomPreset, RoomVisibility

from adapters.matrix import rooms
from adapters.matrix.capabilities import capabilities as matrix_capabilities
from adapters.matrix.direct import DirectChats
from adapters.matrix.groups import ClassRooms
from adapters.matrix.session import NAME, MatrixSession, MatrixStats
from adapters.matrix.sync import SyncLoop
from adapters.matrix.texts import M_KICK_REASON, M_REMOVED_AGE, M_TOPIC
from adapters.matrix.transport import Transport
from bot.domain import ClassRoster
from bot.errors import DeliveryError, PermanentDeliveryError
from bot.ports import ChatCore, GroupMessage, PlatformCapabilities
from bot.ratelimit import Rate, RateLimiter
from bot.rules.age import effective_minimum
from config.settings import MatrixSettings

__all__ = ["MatrixPlatform", "MatrixStats", "matrix_platform_from_settings"]

logger = logging.getLogger(__name__)

_AGE_VERDICTS = {"under-13", "age-unknown", "platform-age"}


class MatrixPlatform:
    """The ChatPlatform for Matrix (name "matrix")."""

    name = NAME

    def __init__(
        self,
        *,
        homeserver: str,
        user_id: str,
        password: str | None = None,
        access_token: str | None = None,
        device_id: str | None = None,
        staff_can_post: bool = False,
        room_version: str | None = None,
        capabilities: PlatformCapabilities | None = None,
        rate: Rate | None = None,
        sync_timeout: float = 30.0,
        store_path: Path | None = None,
        max_inline_wait: float = 30.0,
        request_retries: int = 4,
    ) -> None:
        self._session = MatrixSession(
            homeserver=homeserver,
            user_id=user_id,
            password=password,
            access_token=access_token,
            device_id=device_id,
            store_path=store_path,
            stats=MatrixStats(),
        )
        self.room_version = room_version
        self.capabilities = capabilities or matrix_capabilities(MatrixSettings())
        # Always a global bucket, so the homeserver's "slow down" pauses every sender.
        self._transport = Transport(
            self._session,
            RateLimiter(rate or Rate(1000.0, burst=1000.0)),
            max_inline_wait=max_inline_wait,
            retries=request_retries,
        )
        self._groups = ClassRooms(self._session, self._transport)
        self._direct = DirectChats(self._session, self._transport)
        self._sync = SyncLoop(
            self._session,
            self._transport,
            self._groups,
            self._direct,
            staff_can_post=staff_can_post,
            sync_timeout=sync_timeout,
        )
        self.synced = self._sync.synced  # set after the first sync answer has been handled

    @property
    def client(self) -> AsyncClient | None:
        return self._session.client

    @property
    def core(self) -> ChatCore | None:
        return self._session.core

    @property
    def user_id(self) -> str:
        return self._session.user_id

    @property
    def stats(self) -> MatrixStats:
        return self._session.stats

    @property
    def limiter(self) -> RateLimiter:
        return self._transport.limiter

    @limiter.setter
    def limiter(self, limiter: RateLimiter) -> None:
        self._transport.limiter = limiter

    @property
    def next_batch(self) -> str | None:
        """The stored sync token the loop goes on from."""
        return self._sync.next_batch

    # ------------------------------------------------------------------------ lifecycle

    def attach(self, core: ChatCore) -> None:
        """Give the platform the core it reports to and keeps its state in; the first request
        then logs in by itself (a CLI command that only posts needs nothing more)."""
        self._session.core = core

    async def connect(self, core: ChatCore | None = None) -> None:
        """Log in, reusing the stored session and device. Idempotent."""
        if core is not None:
            self.attach(core)
        await self._session.connect()

    async def start(self, core: ChatCore) -> None:
        """Log in and start the sync loop in the background."""
        await self.connect(core)
        await self._sync.start()

    async def stop(self) -> None:
        """End the sync loop (after the answer being handled, if any) and close the client."""
        await self._sync.stop()
        await self._session.close()

    @property
    def exclusive_receiving(self) -> bool:
        """One sync loop per account: two would both answer every direct message."""
        return True

    async def start_receiving(self) -> None:
        """Start the sync loop on the connected platform, from the stored sync token (where the
        process that synced before left off)."""
        await self._session.connect()
        await self._sync.start()

    async def stop_receiving(self) -> None:
        """End the sync loop; sending goes on."""
        await self._sync.stop()

    @asynccontextmanager
    async def running(
        self, core: ChatCore, *, receive: bool = True
    ) -> AsyncIterator[MatrixPlatform]:
        """Connected for the block: receiving (the sync loop) or, with `receive=False`, only to
        send (a CLI command beside a running bot)."""
        if receive:
            await self.start(core)
        else:
            await self.connect(core)
        try:
            yield self
        finally:
            await self.stop()

    # ------------------------------------------------------------------------ the port

    async def create_group(self, roster: ClassRoster) -> str:
        """Create the class room and apply the class-room power levels; returns the room id."""
        response = await self._transport.request(
            "create room",
            lambda client: client.room_create(
                visibility=RoomVisibility.private,
                name=rooms.room_name(roster),
                topic=M_TOPIC(self._session.lang(), klas=roster.school_class.code),
                room_version=self.room_version,
                preset=RoomPreset.private_chat,
                initial_state=rooms.initial_state(),
            ),
        )
        room_id: str = response.room_id
        self._groups.add(room_id)
        await self._groups.apply_class_levels(room_id)
        logger.info("matrix: created room %s for class %s", room_id, roster.school_class.id)
        return room_id

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        """Send the announcement as m.text with an HTML `formatted_body`, or a `silent` one as
        m.notice (A.1: the default push rule `.m.rule.suppress_notices` keeps members' devices
        quiet; clients still show it in the room); the idempotency key is the transaction id, so
        the homeserver drops a resend. Never waits long, never retries."""
        msgtype = "m.notice" if silent else "m.text"
        content: dict[str, Any] = {"msgtype": msgtype, "body": message.text}
        if message.html:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = message.html
        key = message.idempotency_key
        response = await self._transport.request(
            "post",
            lambda client: client.room_send(
                message.chat_id,
                "m.room.message",
                content,
                tx_id=self._session.txn(f"post-{key}") if key else None,
            ),
            retries=0,
            forbidden_reason="group-lost",
        )
        self.stats.posts += 1
        return str(response.event_id)

    async def edit(self, chat_id: str, message_id: str, message: GroupMessage) -> None:
        """An `m.replace` edit of the bot's own post (clients show the new text, marked as
        edited); the transaction id makes a resend a no-op, like `post`."""
        new: dict[str, Any] = {"msgtype": "m.text", "body": message.text}
        if message.html:
            new["format"] = "org.matrix.custom.html"
            new["formatted_body"] = message.html
        # Clients that do not know edits show the fallback: the new text marked with "* ".
        content: dict[str, Any] = {
            **{k: f"* {v}" if k in ("body", "formatted_body") else v for k, v in new.items()},
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": message_id},
        }
        key = message.idempotency_key
        await self._transport.request(
            "edit",
            lambda client: client.room_send(
                chat_id,
                "m.room.message",
                content,
                tx_id=self._session.txn(f"edit-{key}") if key else None,
            ),
            retries=0,
            forbidden_reason="group-lost",
        )
        self.stats.posts += 1

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """Invite the person; their join is reported later (→ `ChatCore.member_joined`)."""
        try:
            await self._transport.request(
                "invite", lambda client: client.room_invite(chat_id, account_id)
            )
        except PermanentDeliveryError as error:
            if "already in the room" in str(error):
                return True
            raise
        return False

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        """Kick with a reason that names no personal detail; someone refused for their age hears
        why privately. Never raises for someone who is already gone."""
        try:
            await self._transport.request(
                "kick",
                lambda client: client.room_kick(
                    chat_id, account_id, reason=M_KICK_REASON(self._session.lang())
                ),
            )
        except PermanentDeliveryError as error:
            logger.info("matrix: %s not kicked from %s: %s", account_id, chat_id, error)
            return
        logger.info("matrix: kicked %s from %s (%s)", account_id, chat_id, reason)
        if reason in _AGE_VERDICTS:
            try:
                await self._direct.tell(
                    account_id,
                    M_REMOVED_AGE(
                        self._session.lang(), age=effective_minimum(self.capabilities.min_age)
                    ),
                )
            except DeliveryError as error:  # the removal stands; the fallback reaches them anyway
                logger.warning(
                    "matrix: could not tell %s why they were removed: %s", account_id, error
                )


def matrix_platform_from_settings(
    settings: MatrixSettings, data_dir: Path
) -> MatrixPlatform | None:
    """The configured Matrix platform, or None when Matrix is not configured (no homeserver,
    user or secret). `data_dir/matrix` is nio's store directory."""
    if (
        not settings.homeserver
        or not settings.user_id
        or not (settings.password or settings.access_token)
    ):
        return None
    rate = (
        Rate(settings.rate_per_second, burst=float(settings.rate_burst))
        if settings.rate_per_second
        else None
    )
    return MatrixPlatform(
        homeserver=settings.homeserver,
        user_id=settings.user_id,
        password=settings.password,
        access_token=settings.access_token,
        device_id=settings.device_id,
        staff_can_post=settings.staff_can_post,
        room_version=settings.room_version,
        capabilities=matrix_capabilities(settings),
        rate=rate,
        sync_timeout=settings.sync_timeout,
        store_path=data_dir / "matrix",
    )

"""The sync loop and what the bot does with what it hears: invitations (it joins direct chats and
declines the rest), membership in class rooms (reported to the core, which decides who may stay),
and posts in class rooms that must be redacted (rule 3); messages in direct chats go to `direct`.

Restarts: the sync token (`next_batch`) is stored in the core's platform state after each sync
answer has been handled, and the next start syncs from it, so old events are neither replayed nor
answered twice. The very first start (no token) syncs once and ignores that timeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextlib import suppress
from typing import Any

from nio import RoomMemberEvent, RoomMessage, RoomMessageText, SyncResponse

from adapters.matrix import rooms
from adapters.matrix.direct import DirectChats
from adapters.matrix.errors import NETWORK_ERRORS
from adapters.matrix.groups import ClassRooms
from adapters.matrix.session import NAME, MatrixSession
from adapters.matrix.texts import M_REDACT_REASON
from adapters.matrix.transport import Transport
from bot.errors import DeliveryError

logger = logging.getLogger(__name__)

# Only what the bot needs: room events and membership; no presence, receipts or typing.
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": 100},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
}


class SyncLoop:
    """Runs `/sync` as a task between `start` and `stop`; `synced` is set after the first answer
    of a run has been handled."""

    def __init__(
        self,
        session: MatrixSession,
        transport: Transport,
        groups: ClassRooms,
        direct: DirectChats,
        *,
        staff_can_post: bool,
        sync_timeout: float,
    ) -> None:
        self._session = session
        self._transport = transport
        self._groups = groups
        self._direct = direct
        self.staff_can_post = staff_can_post
        self.sync_timeout = sync_timeout
        self.next_batch: str | None = None
        self.synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = False

    async def start(self) -> None:
        """Start syncing from the stored token (the session must be attached)."""
        self.next_batch = await self._session.state("next_batch") or None
        self._stopping = False
        self.synced.clear()
        self._task = asyncio.create_task(self._run(), name="matrix-sync")

    async def stop(self) -> None:
        """End the loop after the answer being handled, if any."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            if self._idle:
                # Waiting on the long-poll or a back-off: nothing is half handled.
                task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            wait = 0.0
            try:
                wait = await self._sync_once()
            except Exception:  # a bad answer or a database hiccup must not end the bot
                logger.exception("matrix: sync round failed")
                wait = 1.0
            if wait:
                failures += 1
                self._idle = True
                try:
                    await asyncio.sleep(max(wait, min(60.0, 0.5 * 2**failures)))
                finally:
                    self._idle = False
            else:
                failures = 0

    async def _sync_once(self) -> float:
        """One /sync and its handling; returns seconds to wait before the next (0: none)."""
        client = await self._session.connected()
        first = self.next_batch is None
        self._idle = True
        try:
            response = await client.sync(
                # The first round of a run only catches up; later rounds long-poll.
                timeout=int(self.sync_timeout * 1000) if self.synced.is_set() else 0,
                sync_filter=SYNC_FILTER,
                since=self.next_batch,
            )
        except NETWORK_ERRORS as exc:
            logger.warning("matrix: sync failed: %s", exc)
            return 1.0
        finally:
            self._idle = False
        if not isinstance(response, SyncResponse):
            logger.warning("matrix: sync answered %s", response)
            retry_ms = getattr(response, "retry_after_ms", None)
            return retry_ms / 1000 if retry_ms else 1.0
        await self._handle(response, first=first)
        # Only now: a crash while handling means this answer is handled again after a restart,
        # never that it is skipped.
        self.next_batch = response.next_batch
        await self._session.set_state("next_batch", response.next_batch)
        self.synced.set()
        return 0.0

    async def _handle(self, response: SyncResponse, *, first: bool) -> None:
        for room_id, invite in response.rooms.invite.items():
            await self._guarded(self._on_invite(room_id, invite.invite_state))
        for room_id in response.rooms.leave:
            await self._guarded(self._on_left(room_id))
        if first:
            return  # the history before the bot's first start is not answered
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                await self._guarded(self._on_event(room_id, event))

    async def _guarded(self, work: Awaitable[None]) -> None:
        """One event's trouble must not stop the bot or make it skip the rest of the answer."""
        try:
            await work
        except DeliveryError as error:
            logger.warning("matrix: could not finish handling an event: %s", error)
        except Exception:
            logger.exception("matrix: handling an event failed")

    # ------------------------------------------------------------------------ event handlers

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        direct = any(
            getattr(e, "source", {}).get("type") == "m.room.member"
            and getattr(e, "state_key", None) == self._session.user_id
            and (getattr(e, "content", None) or {}).get("is_direct")
            for e in invite_state
        )
        if direct:
            await self._transport.request("join", lambda client: client.join(room_id))
            logger.info("matrix: joined direct chat %s", room_id)
        else:
            # The bot only talks privately and only lives in the class rooms it creates.
            await self._transport.request(
                "decline invite", lambda client: client.room_leave(room_id)
            )

    async def _on_left(self, room_id: str) -> None:
        if await self._groups.is_group(room_id):
            assert self._session.core is not None
            await self._session.core.group_lost(NAME, room_id)

    async def _on_event(self, room_id: str, event: Any) -> None:
        if isinstance(event, RoomMemberEvent):
            await self._on_member(room_id, event)
            return
        source: dict[str, Any] = getattr(event, "source", {}) or {}
        sender = getattr(event, "sender", None)
        if sender is None or sender == self._session.user_id or "state_key" in source:
            return
        if await self._groups.is_group(room_id):
            if source.get("type") != "m.room.redaction":
                await self._on_group_post(room_id, event, sender)
        elif isinstance(event, RoomMessageText):
            await self._direct.on_message(room_id, event)

    async def _on_member(self, room_id: str, event: RoomMemberEvent) -> None:
        core = self._session.core
        assert core is not None
        target = event.state_key
        if target == self._session.user_id:
            if event.membership in ("leave", "ban"):
                await self._on_left(room_id)
            return
        if not await self._groups.is_group(room_id):
            return
        if event.membership == "join" and event.prev_membership != "join":
            allowed = await core.member_joined(NAME, room_id, target)
            if allowed and self.staff_can_post:
                await self._groups.grant_staff(room_id, target)
        elif event.membership in ("leave", "ban") and event.prev_membership == "join":
            await core.member_left(NAME, room_id, target)

    async def _on_group_post(self, room_id: str, event: Any, sender: str) -> None:
        """Rule 3: power levels keep members from posting; whatever gets through anyway (a level
        changed by hand, an old room) is handed to the core and, as it says, redacted."""
        core = self._session.core
        assert core is not None
        text = event.body if isinstance(event, RoomMessageText) else ""
        if self.staff_can_post and text and not text.lstrip().startswith(("/", "!")):
            levels = await self._groups.power_levels(room_id)
            if rooms.user_level(levels, sender) >= int(levels.get("events_default", 0)):
                return  # staff speaking in their own class room, as the school allows
        reply = await core.handle(NAME, sender, text, chat_id=room_id, in_group=True, preview=False)
        if reply.delete_original or not isinstance(event, RoomMessage):
            await self._transport.request(
                "redact",
                lambda client: client.room_redact(
                    room_id, event.event_id, reason=M_REDACT_REASON(self._session.lang())
                ),
            )
        if reply.texts:
            await self._direct.tell(sender, "\n\n".join(reply.texts), key=event.event_id)

"""The class rooms on the homeserver: which rooms are class rooms, and their power levels (what a
class room looks like is `rooms`; this module does the requests)."""

from __future__ import annotations

from typing import Any

from adapters.matrix import rooms
from adapters.matrix.session import NAME, MatrixSession
from adapters.matrix.transport import Transport


class ClassRooms:
    def __init__(self, session: MatrixSession, transport: Transport) -> None:
        self._session = session
        self._transport = transport
        self._known: set[str] = set()

    def add(self, room_id: str) -> None:
        """A class room the bot has just created (the core learns of it afterwards)."""
        self._known.add(room_id)

    async def is_group(self, room_id: str) -> bool:
        # Only a yes is remembered: a room may become a class room while we look (create_group).
        if room_id not in self._known:
            assert self._session.core is not None
            if await self._session.core.is_class_group(NAME, room_id):
                self._known.add(room_id)
        return room_id in self._known

    async def power_levels(self, room_id: str) -> dict[str, Any]:
        """The content of the room's `m.room.power_levels` event."""
        current = await self._transport.request(
            "read power levels",
            lambda client: client.room_get_state_event(room_id, "m.room.power_levels"),
            paced=False,
        )
        content: dict[str, Any] = current.content
        return content

    async def apply_class_levels(self, room_id: str) -> None:
        """Edit the new room's power levels to the class-room policy (`rooms`)."""
        create = await self._transport.request(
            "read m.room.create",
            lambda client: client.room_get_state_event(room_id, "m.room.create"),
            paced=False,
        )
        version = str(create.content.get("room_version", "1"))
        levels = rooms.class_room_power_levels(
            await self.power_levels(room_id), bot=self._session.user_id, room_version=version
        )
        await self._set_power_levels(room_id, levels)

    async def grant_staff(self, room_id: str, account_id: str) -> None:
        """With `staff_can_post`, the class's staff may post, invite and kick (level 50)."""
        assert self._session.core is not None
        if not await self._session.core.is_staff_of_group(NAME, room_id, account_id):
            return
        levels = rooms.with_user_level(await self.power_levels(room_id), account_id, rooms.STAFF)
        if levels is not None:
            await self._set_power_levels(room_id, levels)

    async def _set_power_levels(self, room_id: str, levels: dict[str, Any]) -> None:
        await self._transport.request(
            "set power levels",
            lambda client: client.room_put_state(room_id, "m.room.power_levels", levels),
        )

"""Direct chats with the bot: the commands people send there (a preview, then `!ja` / `!nee`),
the bot's private answers, and which direct chat each person has with the bot.

Answers are private (invitation codes, previews), so a room with more than the person and the
bot in it gets none. Replies to commands carry a transaction id derived from the command's event
id, so a command handled again after a crash is not answered twice.
"""

from __future__ import annotations

import logging

from nio import RoomMessageText, RoomPreset, RoomVisibility

from adapters.matrix.session import NAME, MatrixSession
from adapters.matrix.texts import M_CONFIRM, M_TRY_LATER
from adapters.matrix.transport import Transport
from bot.errors import DeliveryError

logger = logging.getLogger(__name__)

CONFIRM_WORDS = {"!ja": "nl", "/ja": "nl", "!yes": "en", "/yes": "en"}
CANCEL_WORDS = {"!nee": "nl", "/nee": "nl", "!no": "en", "/no": "en"}


def _dm_key(user_id: str) -> str:
    """The platform-state key of the person's direct chat with the bot."""
    return f"dm:{user_id}"


class DirectChats:
    def __init__(self, session: MatrixSession, transport: Transport) -> None:
        self._session = session
        self._transport = transport

    async def on_message(self, room_id: str, event: RoomMessageText) -> None:
        """A message in a room that is no class room: a command, a confirmation or a cancel."""
        core = self._session.core
        assert core is not None
        sender, text = event.sender, event.body.strip()
        room = (await self._session.connected()).rooms.get(room_id)
        if room is not None and room.joined_count > 2:
            logger.info("matrix: not answering %s in %s, a room with others in it", sender, room_id)
            return
        self._session.stats.commands += 1
        await self._remember(sender, room_id)
        word = text.lower()
        texts: list[str]
        if word in CONFIRM_WORDS:
            texts = (await core.confirm(NAME, sender, lang=CONFIRM_WORDS[word])).texts
        elif word in CANCEL_WORDS:
            texts = (await core.cancel(NAME, sender, lang=CANCEL_WORDS[word])).texts
        else:
            try:
                reply = await core.handle(
                    NAME, sender, text, chat_id=None, in_group=False, preview=True
                )
            except DeliveryError:
                texts = [M_TRY_LATER(await core.language_of(NAME, sender))]
            else:
                texts = list(reply.texts)
                if reply.confirmation is not None:
                    texts.append(M_CONFIRM(await core.language_of(NAME, sender)))
        if texts:
            await self._notice(room_id, "\n\n".join(texts), key=event.event_id)

    async def tell(self, user_id: str, text: str, *, key: str | None = None) -> None:
        """A private message, in the direct chat the person has with the bot or a new one."""
        room_id = await self._session.state(_dm_key(user_id))
        if not room_id:
            created = await self._transport.request(
                "create direct chat",
                lambda client: client.room_create(
                    visibility=RoomVisibility.private,
                    is_direct=True,
                    preset=RoomPreset.private_chat,
                    invite=[user_id],
                ),
            )
            room_id = str(created.room_id)
            await self._session.set_state(_dm_key(user_id), room_id)
        await self._notice(room_id, text, key=key)

    async def _remember(self, user_id: str, room_id: str) -> None:
        if await self._session.state(_dm_key(user_id)) != room_id:
            await self._session.set_state(_dm_key(user_id), room_id)

    async def _notice(self, room_id: str, text: str, *, key: str | None = None) -> None:
        await self._transport.request(
            "reply",
            lambda client: client.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.notice", "body": text},
                tx_id=self._session.txn(f"reply-{key}") if key else None,
            ),
        )

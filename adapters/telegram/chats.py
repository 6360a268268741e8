"""Talking to Telegram's chats: what the port (`platform`), the update handlers (`updates`) and
/koppel (`binding`) share.

Every message the bot sends waits for the adapter's rate limiter (overall and per chat), so a
broadcast stays inside Telegram's limits instead of collecting 429s. A message or an
administrative call for a group that became a supergroup (`ChatMigrated`) updates the binding
(`ChatCore.chat_migrated`) and goes again to the new id. Failures become the core's delivery
errors (`adapters.telegram.errors`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import ChatMember, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import MessageLimit
from telegram.error import ChatMigrated, RetryAfter, TelegramError
from telegram.ext import Application

from adapters.telegram.errors import delivery_error, is_group, retry_after
from bot.errors import DeliveryError, PermanentDeliveryError
from bot.ports import ChatCore
from bot.ratelimit import Rate, RateLimiter, Window
from config.settings import TelegramSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

_MEMBER_STATUSES = (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)


def is_member(member: ChatMember) -> bool:
    if member.status in _MEMBER_STATUSES:
        return True
    return member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))


def chunks(text: str, size: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split a text longer than one Telegram message at paragraph or line boundaries."""
    if len(text) <= size:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > size:
        cut = max(rest.rfind("\n\n", 0, size), rest.rfind("\n", 0, size))
        if cut <= 0:
            cut = rest.rfind(" ", 0, size)
        if cut <= 0:
            cut = size
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def limits(settings: TelegramSettings) -> RateLimiter:
    """The limits that keep the bot inside Telegram's, counted the way Telegram counts them: at
    most N messages in any window (`Window`: overall N per second, per group N per minute), each
    counted from when its answer came back, so jitter on the way cannot squeeze one more into a
    window of Telegram's. A full window's worth may go at once, which lets a broadcast reach the
    limit itself (500 messages at 30/s: 16 s, not 16.7). Private chats: a token bucket of 1/s
    with a burst of 3 (an answer and an invite may go out together)."""
    group = _window(settings.rate_group_per_minute, 60.0)
    private_rate = Rate(settings.rate_private_per_second, 1.0, burst=3)
    return RateLimiter(
        _window(settings.rate_global_per_second, 1.0),
        per_chat=lambda chat: group if is_group(chat) else private_rate,
    )


def _window(rate: float, per: float) -> Window:
    """`rate` per `per` seconds as a window of whole messages, never allowing more than `rate`:
    29.5/s → 29 in any second, 0.5/s → 1 in any two seconds."""
    if rate >= 1:
        return Window(math.floor(rate), per)
    return Window(1, per / rate)


def _link_key(chat_id: str) -> str:
    # Where the core keeps a group's join-request link (`ChatCore.platform_state`).
    return f"invite-link:{chat_id}"


class TelegramChats:
    """The connection to Telegram and the chats it reaches; `TelegramPlatform` connects it."""

    name = "telegram"

    def __init__(self, settings: TelegramSettings, limiter: RateLimiter) -> None:
        self.settings = settings
        self.limiter = limiter
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._core: ChatCore | None = None
        self._links: dict[str, str] = {}
        self._titles: dict[str, str] = {}
        self._lost: set[str] = set()

    @property
    def bot(self) -> Any:
        if self.application is None:
            raise RuntimeError("the Telegram platform is not started")
        return self.application.bot

    @property
    def core(self) -> ChatCore:
        if self._core is None:
            raise RuntimeError("the Telegram platform is not started")
        return self._core

    @property
    def lang(self) -> str:
        return self.core.language

    # ------------------------------------------------------------------------ sending

    async def _send(
        self,
        chat_id: str,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        preview: bool = True,
        silent: bool = False,
    ) -> tuple[Message, str]:
        """Send one message through the rate limiter; returns it and the chat id it went to
        (a new one when the group migrated); a `silent` one arrives without a notification.
        Raises the core's delivery errors."""
        for _ in range(3):
            try:
                # Several sends may be in flight at once (a broadcast); each holds its place in
                # the limits until its answer is back.
                async with self.limiter.slot(chat_id):
                    sent = await self.bot.send_message(
                        int(chat_id),
                        text,
                        reply_markup=markup,
                        link_preview_options=(
                            None if preview else LinkPreviewOptions(is_disabled=True)
                        ),
                        disable_notification=silent,
                    )
                return sent, chat_id
            except ChatMigrated as error:
                new = str(error.new_chat_id)
                await self._migrated(chat_id, new)
                chat_id = new
            except TelegramError as error:
                if isinstance(error, RetryAfter):
                    # Every sender pauses, not only this chat's: a 429 does not say whether the
                    # chat's limit or the bot's was hit.
                    self.limiter.penalise(retry_after(error))
                raise delivery_error(error, chat_id) from error
        raise PermanentDeliveryError(f"telegram: chat {chat_id} keeps migrating")

    async def _say(
        self, chat_id: str | int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Send an answer; a failure is logged (the person asked, nobody is owed a delivery)."""
        try:
            sent, _ = await self._send(str(chat_id), text, markup)
            return sent
        except DeliveryError as error:
            logger.warning("telegram: answer to %s not sent: %s", chat_id, error)
            return None

    async def _in_chat(self, chat_id: str, action: Callable[[int], Awaitable[T]]) -> T:
        """Run an administrative call for a chat, following it when it migrated."""
        try:
            return await action(int(chat_id))
        except ChatMigrated as error:
            new = str(error.new_chat_id)
            await self._migrated(chat_id, new)
            return await action(int(new))

    async def _delete(self, message: Message) -> None:
        try:
            await message.delete()
        except TelegramError as error:
            logger.error(
                "telegram: could not delete message %s in %s: %s",
                message.message_id,
                message.chat_id,
                error.message,
            )

    # ------------------------------------------------------------------------ groups

    async def _invite_link(self, chat_id: str) -> str:
        link = self._links.get(chat_id) or await self.core.platform_state(
            self.name, _link_key(chat_id)
        )
        if link is None:
            created = await self._in_chat(
                chat_id,
                lambda c: self.bot.create_chat_invite_link(
                    c, name="klasbot", creates_join_request=True
                ),
            )
            link = created.invite_link
            await self.core.set_platform_state(self.name, _link_key(chat_id), link)
        self._links[chat_id] = link
        return link

    async def _forget_link(self, chat_id: str) -> None:
        self._links.pop(chat_id, None)
        await self.core.set_platform_state(self.name, _link_key(chat_id), "")

    async def _title(self, chat_id: str) -> str | None:
        if chat_id not in self._titles:
            try:
                chat = await self._in_chat(chat_id, lambda c: self.bot.get_chat(c))
            except TelegramError:
                return None
            self._titles[chat_id] = chat.title or ""
        return self._titles[chat_id] or None

    async def _group_lost(self, chat_id: str) -> None:
        if chat_id in self._lost:
            return
        self._lost.add(chat_id)
        await self._forget_link(chat_id)
        await self.core.group_lost(self.name, chat_id)

    async def _migrated(self, old: str, new: str) -> None:
        logger.info("telegram: group %s is now supergroup %s", old, new)
        await self._forget_link(old)
        await self.core.chat_migrated(self.name, old, new)

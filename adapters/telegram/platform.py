"""Telegram: class groups run by the bot through python-telegram-bot v22.

`TelegramPlatform` implements the core's `ChatPlatform` port (post, admit, remove) and turns
Telegram's updates into the core's use cases (`adapters.telegram.updates`, with /koppel in
`adapters.telegram.binding`). Sending, the rate limiter and following migrated groups are in
`adapters.telegram.chats`, the translation of Telegram's errors in `adapters.telegram.errors`,
the command menus in `adapters.telegram.menu`.

Lifecycle (python-telegram-bot's advice for running inside another application): `start` calls
`initialize → start → updater.start_polling` (or `start_webhook`), `stop` undoes them in
reverse; never `run_polling`. Use `async with platform.running(front, service): ...`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatJoinRequestHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from adapters.telegram import menu, texts
from adapters.telegram.capabilities import capabilities
from adapters.telegram.chats import chunks, is_member, limits
from adapters.telegram.errors import GONE, delivery_error, says
from adapters.telegram.updates import UpdateHandlers
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import ChatCore, GroupMessage
from bot.ratelimit import RateLimiter
from config.settings import TelegramSettings

__all__ = ["ALLOWED_UPDATES", "TelegramPlatform", "delivery_error", "limits"]

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_JOIN_REQUEST,
    Update.CHAT_MEMBER,  # not sent unless asked for: how the bot sees who joins a group
    Update.MY_CHAT_MEMBER,
]
_MAX_POSTED = 10_000


class TelegramPlatform(UpdateHandlers):
    """The `ChatPlatform` for Telegram (see the module docstring)."""

    def __init__(self, settings: TelegramSettings, *, limiter: RateLimiter | None = None) -> None:
        if not settings.token:
            raise ValueError("Telegram needs a bot token: set KLASBOT_TELEGRAM__TOKEN")
        super().__init__(settings, limiter or limits(settings))
        self.capabilities = capabilities(settings)
        self.errors: list[BaseException] = []  # handler failures (logged too), for tests
        self._posted: OrderedDict[str, str] = OrderedDict()
        self._handled = 0
        self._handled_changed = asyncio.Event()

    # ------------------------------------------------------------------------ lifecycle

    async def start(self, core: ChatCore, *, receive: bool = True) -> None:
        """Connect, register the command menus and start receiving updates. With
        `receive=False` only connect, to send (`klasbot dispatch` beside a running bot: two
        processes must not both poll)."""
        s = self.settings
        if receive and s.mode == "webhook":
            if not s.webhook_url:
                raise ValueError("webhook mode needs KLASBOT_TELEGRAM__WEBHOOK_URL")
            if importlib.util.find_spec("tornado") is None:
                raise RuntimeError("webhook mode needs python-telegram-bot[webhooks] (tornado)")
        self._core = core
        application = (
            Application.builder()
            .token(s.token or "")
            .base_url(s.base_url)
            .base_file_url(s.base_file_url)
            .build()
        )
        self._add_handlers(application)
        await application.initialize()
        self.application = application
        await self._remember_username()
        if not receive:
            return
        try:
            await self.start_receiving()
        except BaseException:
            await self.stop()
            raise

    @property
    def exclusive_receiving(self) -> bool:
        """Long polling is one process's at a time (Telegram answers a second poller with 409
        Conflict); a webhook reaches whichever process the proxy sends it to."""
        return self.settings.mode == "polling"

    async def start_receiving(self) -> None:
        """Register the command menus and start receiving updates (polling or the webhook) on
        the connected application; `stop_receiving` undoes it, and it may start again."""
        application = self.application
        if application is None:
            raise RuntimeError("telegram: start_receiving needs a connected platform")
        s = self.settings
        try:
            await menu.register(self.bot, self.core, self.name)
            await application.start()
            assert application.updater is not None
            if s.mode == "polling":
                await application.updater.start_polling(
                    timeout=timedelta(seconds=s.poll_timeout), allowed_updates=ALLOWED_UPDATES
                )
            else:
                assert s.webhook_url is not None
                await application.updater.start_webhook(
                    listen=s.webhook_listen,
                    port=s.webhook_port,
                    url_path=urlsplit(s.webhook_url).path.lstrip("/"),
                    webhook_url=s.webhook_url,
                    secret_token=s.webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
        except BaseException:
            await self.stop_receiving()
            raise
        logger.info("telegram: receiving as @%s (%s)", self.bot.username, s.mode)

    async def stop_receiving(self) -> None:
        """Stop receiving (the updates fetched so far are handled and confirmed); sending goes
        on."""
        application = self.application
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
            logger.info("telegram: not receiving any more")

    async def _remember_username(self) -> None:
        """Keep the bot's username (getMe, read by `initialize`) in the platform state: the
        invitations another process makes (`klasbot invites create`) link to it."""
        username = self.bot.username
        if username and await self.core.platform_state(self.name, "username") != username:
            await self.core.set_platform_state(self.name, "username", username)

    async def stop(self) -> None:
        application = self.application
        if application is None:
            return
        try:
            await self.stop_receiving()
        finally:
            self.application = None
        await application.shutdown()

    @asynccontextmanager
    async def running(
        self, core: ChatCore, *, receive: bool = True
    ) -> AsyncIterator[TelegramPlatform]:
        await self.start(core, receive=receive)
        try:
            yield self
        finally:
            await self.stop()

    async def wait_handled(self, update_id: int) -> None:
        """Wait until every update up to `update_id` has been handled (for tests and tools;
        bound it with `asyncio.timeout`)."""
        while self._handled < update_id:
            self._handled_changed.clear()
            await self._handled_changed.wait()

    def _add_handlers(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        application.add_handler(ChatJoinRequestHandler(self._on_join_request))
        application.add_handler(
            ChatMemberHandler(self._on_chat_member, ChatMemberHandler.CHAT_MEMBER)
        )
        application.add_handler(
            ChatMemberHandler(self._on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        application.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & filters.TEXT, self._on_private)
        )
        application.add_handler(
            MessageHandler(
                filters.ChatType.GROUPS & ~filters.StatusUpdate.ALL, self._on_group_message
            )
        )
        # A later group runs after the handler above, also when it failed.
        application.add_handler(TypeHandler(Update, self._on_handled), group=1)
        application.add_error_handler(self._on_error)

    async def _on_handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self._handled = max(self._handled, update.update_id)
        self._handled_changed.set()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if error is None:
            return
        self.errors.append(error)
        # Only the update's id: its text may be `/start CODE`, and a code is never logged.
        update_id = update.update_id if isinstance(update, Update) else type(update).__name__
        logger.error("telegram: handling update %s failed", update_id, exc_info=error)

    # ------------------------------------------------------------------------ the port

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        """Post an announcement in a group (see `ChatPlatform.post`); every part of a `silent`
        one goes with `disable_notification` (A.1: members get it without a sound)."""
        if self.application is None:
            raise TransientDeliveryError("the Telegram platform is not running in this process")
        key = message.idempotency_key
        if key and key in self._posted:
            # Posted before and the outcome was not recorded: do not post it twice.
            return self._posted[key]
        chat_id = message.chat_id
        first: Message | None = None
        for part in chunks(message.text):
            try:
                sent, chat_id = await self._send(chat_id, part, preview=False, silent=silent)
            except PermanentDeliveryError as error:
                if error.reason == "group-lost":
                    await self._group_lost(chat_id)
                raise
            first = first or sent
        assert first is not None
        message_id = str(first.message_id)
        if key:
            self._posted[key] = message_id
            while len(self._posted) > _MAX_POSTED:
                self._posted.popitem(last=False)
        return message_id

    async def edit(self, chat_id: str, message_id: str, message: GroupMessage) -> None:
        """Edit the post's first part (a long announcement was posted in several; the first
        carries the message id and now says what happened to it)."""
        if self.application is None:
            raise TransientDeliveryError("the Telegram platform is not running in this process")
        text = chunks(message.text)[0]
        try:
            async with self.limiter.slot(chat_id):
                await self.bot.edit_message_text(
                    text, chat_id=int(chat_id), message_id=int(message_id)
                )
        except BadRequest as error:
            if says(error, ("message is not modified",)):
                return  # edited before, and the outcome was not recorded
            raise delivery_error(error, chat_id) from error
        except TelegramError as error:
            raise delivery_error(error, chat_id) from error

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """A member already is one; anyone else gets the group's join-request link privately and
        joins later (their request is approved in `_on_join_request`)."""
        if self.application is None:
            logger.warning(
                "telegram: not running here; %s is not invited to %s", account_id, chat_id
            )
            return False
        try:
            member = await self._in_chat(
                chat_id, lambda c: self.bot.get_chat_member(c, int(account_id))
            )
        except TelegramError as error:
            logger.info(
                "telegram: %s in %s unknown (%s); inviting", account_id, chat_id, error.message
            )
        else:
            if is_member(member):
                return True
        try:
            link = await self._invite_link(chat_id)
        except TelegramError as error:
            logger.warning("telegram: no invite link for %s: %s", chat_id, error.message)
            return False
        title = await self._title(chat_id)
        lang = await self.core.language_of(self.name, account_id)
        text = texts.INVITE(lang, title=f" {title}" if title else "", link=link)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(texts.INVITE_BUTTON(lang), url=link)]])
        await self._invite(account_id, text, markup)
        return False

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        """Kick: ban (removes them now) and, in a supergroup, unban at once so that a person who
        becomes eligible later can still join with the link."""
        if self.application is None:
            logger.error(
                "telegram: not running here; %s stays in %s (%s)", account_id, chat_id, reason
            )
            return
        user = int(account_id)
        try:
            await self._in_chat(chat_id, lambda c: self.bot.ban_chat_member(c, user))
            if chat_id.startswith("-100"):
                await self._in_chat(
                    chat_id, lambda c: self.bot.unban_chat_member(c, user, only_if_banned=True)
                )
        except TelegramError as error:
            if isinstance(error, BadRequest) and says(error, GONE):
                return
            logger.error(
                "telegram: could not remove %s from %s (%s): %s",
                account_id,
                chat_id,
                reason,
                error.message,
            )
        else:
            logger.info("telegram: removed %s from %s (%s)", account_id, chat_id, reason)

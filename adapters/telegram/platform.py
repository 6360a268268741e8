"""Telegram: class groups run by the bot through python-telegram-bot v22.

`TelegramPlatform` implements the core's `ChatPlatform` port (post, admit, remove) and turns
Telegram's updates into the core's use cases:

- `/start CODE` in a private chat (also what the deep link `t.me/<bot>?start=CODE` sends) links
  the account; the pupil then gets the group's join-request link privately (`admit`).
- `/koppel KLAS` in a group: the bot first checks its own administrator rights and names exactly
  the one it lacks; then the core checks that the sender is staff of the class and binds the
  group; the bot makes members read-only and creates an invite link that creates join requests.
- A join request is approved only when rules 1 and 2 allow it (`Klasbot.join_requested`), else
  declined; someone who appears in the group anyway is reported to the core
  (`Klasbot.member_joined`), which removes them through `remove` (ban + unban: a kick).
- A member's message in a bound group is deleted (rule 3); a staff command there is deleted and
  answered privately.
- Announcement commands are previewed with their signature and sent only after the author
  presses "Versturen" (inline keyboard → callback query → `ChatFrontEnd.confirm`).
- The bot removed from a group → `Klasbot.group_lost`; a group that became a supergroup →
  `Klasbot.chat_migrated`, and the message is sent again to the new id.

Errors are translated at this boundary: `RetryAfter` → `TransientDeliveryError(retry_after)`,
network errors and time-outs → transient, `Forbidden` → `PermanentDeliveryError` ("group-lost"
for a group, "blocked" for a private chat), `ChatMigrated` → binding updated and resent,
`BadRequest: chat not found` → group-lost. Every message the bot sends waits for the adapter's
rate limiter (overall and per chat), so a broadcast stays inside Telegram's limits instead of
collecting 429s.

Lifecycle (python-telegram-bot's advice for running inside another application): `start` calls
`initialize → start → updater.start_polling` (or `start_webhook`), `stop` undoes them in
reverse; never `run_polling`. Use `async with platform.running(front, service): ...`.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from babel.lists import format_list
from telegram import (
    ChatMember,
    ChatMemberUpdated,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
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
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram import menu, texts
from adapters.telegram.capabilities import capabilities
from bot import commands as cmd
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.messages import M_GROUP_ONLY_BOT, M_PREVIEW_EXPIRED
from bot.ports import ChatCore, GroupMessage
from bot.ratelimit import Rate, RateLimiter
from config.settings import TelegramSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.CHAT_JOIN_REQUEST,
    Update.CHAT_MEMBER,  # not sent unless asked for: how the bot sees who joins a group
    Update.MY_CHAT_MEMBER,
]
_GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)
_MEMBER_STATUSES = (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)
# Answers that mean the person is not in the chat (any more): removing them is done.
_GONE = ("user not found", "participant_id_invalid", "user_not_participant", "member not found")
# Answers that mean the bot can no longer post in the group.
_GROUP_GONE = (
    "chat not found",
    "not enough rights to send",
    "bot is not a member",
    "chat_write_forbidden",
)
_MAX_POSTED = 10_000

# Set while a private message is handled: `admit` then queues the invite after the reply
# (so the pupil reads "Gelukt!" before the link) instead of sending it first.
_deferred: contextvars.ContextVar[
    tuple[str, list[tuple[str, InlineKeyboardMarkup | None]]] | None
] = contextvars.ContextVar("telegram_deferred_invites", default=None)


def _seconds(error: RetryAfter) -> float:
    # v22 gives an int, or a timedelta once PTB_TIMEDELTA is set; reading it as an int warns.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _is_group(chat_id: str) -> bool:
    # Telegram's group and supergroup ids are negative; a private chat's id is the user's id.
    return chat_id.startswith("-")


def _is_member(member: ChatMember) -> bool:
    if member.status in _MEMBER_STATUSES:
        return True
    return member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))


def delivery_error(error: TelegramError, chat_id: str) -> DeliveryError:
    """Translate a python-telegram-bot error into the core's delivery errors."""
    where = "group-lost" if _is_group(chat_id) else "blocked"
    text = f"telegram: {error.message}"
    if isinstance(error, RetryAfter):
        return TransientDeliveryError(text, retry_after=_seconds(error))
    if isinstance(error, Forbidden):
        # The bot was kicked from the group, or the person blocked the bot.
        return PermanentDeliveryError(text, reason=where)
    if isinstance(error, BadRequest):
        if any(part in error.message.lower() for part in _GROUP_GONE):
            return PermanentDeliveryError(text, reason=where)
        return PermanentDeliveryError(text)
    if isinstance(error, InvalidToken):
        logger.error("Telegram refuses the bot token; check KLASBOT_TELEGRAM__TOKEN")
        return TransientDeliveryError(text)
    if isinstance(error, NetworkError):  # also TimedOut
        return TransientDeliveryError(text)
    return TransientDeliveryError(text)


def _chunks(text: str, size: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
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
    """Token buckets that keep the bot inside Telegram's limits however they are counted.

    A bucket of `burst` tokens refilled at `r` per second sends at most `burst + r·W` messages in
    any window of W seconds, so a limit of N per W holds when `burst + r·W ≤ N`. Overall: bursts
    of 1 at N−1 per second (the one spare message absorbs network jitter). Per group: a burst of
    a quarter of the limit and the rest spread over the minute, so a few announcements in a row
    go out at once and a long series never exceeds the minute's count. Private chats: 1/s with a
    burst of 3 (an answer and an invite may go out together)."""
    overall = settings.rate_global_per_second
    group = settings.rate_group_per_minute
    private = settings.rate_private_per_second
    group_burst = max(1.0, group // 4)
    group_rate = Rate(max(1.0, group - group_burst - 1), 60.0, burst=group_burst)
    private_rate = Rate(private, 1.0, burst=3)
    return RateLimiter(
        Rate(max(1.0, overall - 1), 1.0, burst=1),
        per_chat=lambda chat: group_rate if _is_group(chat) else private_rate,
    )


class TelegramPlatform:
    """The `ChatPlatform` for Telegram (see the module docstring)."""

    name = "telegram"

    def __init__(self, settings: TelegramSettings, *, limiter: RateLimiter | None = None) -> None:
        if not settings.token:
            raise ValueError("Telegram needs a bot token: set KLASBOT_TELEGRAM__TOKEN")
        self.settings = settings
        self.capabilities = capabilities(settings)
        self.limiter = limiter or limits(settings)
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.errors: list[BaseException] = []  # handler failures (logged too), for tests
        self._core: ChatCore | None = None
        self._posted: OrderedDict[str, str] = OrderedDict()
        self._links: dict[str, str] = {}
        self._titles: dict[str, str] = {}
        self._lost: set[str] = set()
        self._told: set[tuple[str, str]] = set()
        self._handled = 0
        self._handled_changed = asyncio.Event()

    # ------------------------------------------------------------------------ lifecycle

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
        if not receive:
            return
        try:
            await self._register_menus()
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
            await self.stop()
            raise
        logger.info("telegram: running as @%s (%s)", self.bot.username, s.mode)

    async def stop(self) -> None:
        application, self.application = self.application, None
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
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
        logger.error("telegram: handling %s failed", update, exc_info=error)

    # ------------------------------------------------------------------------ the port

    async def post(self, message: GroupMessage) -> str:
        """Post an announcement in a group (see `ChatPlatform.post`)."""
        if self.application is None:
            raise TransientDeliveryError("the Telegram platform is not running in this process")
        key = message.idempotency_key
        if key and key in self._posted:
            # Posted before and the outcome was not recorded: do not post it twice.
            return self._posted[key]
        chat_id = message.chat_id
        first: Message | None = None
        for part in _chunks(message.text):
            try:
                sent, chat_id = await self._send(chat_id, part, preview=False)
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
            if _is_member(member):
                return True
        try:
            link = await self._invite_link(chat_id)
        except TelegramError as error:
            logger.warning("telegram: no invite link for %s: %s", chat_id, error.message)
            return False
        title = await self._title(chat_id)
        text = texts.INVITE(self.lang, title=f" {title}" if title else "", link=link)
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(texts.INVITE_BUTTON(self.lang), url=link)]]
        )
        deferred = _deferred.get()
        if deferred is not None and deferred[0] == account_id:
            deferred[1].append((text, markup))
        else:
            await self._say(account_id, text, markup)
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
        except BadRequest as error:
            if any(part in error.message.lower() for part in _GONE):
                return
            logger.error(
                "telegram: could not remove %s from %s (%s): %s",
                account_id,
                chat_id,
                reason,
                error.message,
            )
        except TelegramError as error:
            logger.error(
                "telegram: could not remove %s from %s (%s): %s",
                account_id,
                chat_id,
                reason,
                error.message,
            )
        else:
            logger.info("telegram: removed %s from %s (%s)", account_id, chat_id, reason)

    # ------------------------------------------------------------------------ sending

    async def _send(
        self,
        chat_id: str,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        preview: bool = True,
    ) -> tuple[Message, str]:
        """Send one message through the rate limiter; returns it and the chat id it went to
        (a new one when the group migrated). Raises the core's delivery errors."""
        for _ in range(3):
            await self.limiter.acquire(chat_id)
            try:
                sent = await self.bot.send_message(
                    int(chat_id),
                    text,
                    reply_markup=markup,
                    link_preview_options=None if preview else LinkPreviewOptions(is_disabled=True),
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
                    self.limiter.penalise(_seconds(error))
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

    async def _state(self, key: str) -> str | None:
        return await self.core.platform_state(self.name, key)

    async def _set_state(self, key: str, value: str) -> None:
        await self.core.set_platform_state(self.name, key, value)

    async def _invite_link(self, chat_id: str) -> str:
        link = self._links.get(chat_id) or await self._state(f"invite-link:{chat_id}")
        if link is None:
            created = await self._in_chat(
                chat_id,
                lambda c: self.bot.create_chat_invite_link(
                    c, name="klasbot", creates_join_request=True
                ),
            )
            link = created.invite_link
            await self._set_state(f"invite-link:{chat_id}", link)
        self._links[chat_id] = link
        return link

    async def _forget_link(self, chat_id: str) -> None:
        self._links.pop(chat_id, None)
        await self._set_state(f"invite-link:{chat_id}", "")

    async def _title(self, chat_id: str) -> str | None:
        if chat_id not in self._titles:
            try:
                chat = await self._in_chat(chat_id, lambda c: self.bot.get_chat(c))
            except TelegramError:
                return None
            self._titles[chat_id] = chat.title or ""
        return self._titles[chat_id] or None

    async def _missing_rights(self, chat_id: str) -> tuple[bool, list[str]]:
        """(is administrator, the rights it lacks)."""
        member = await self._in_chat(chat_id, lambda c: self.bot.get_chat_member(c, self.bot.id))
        if member.status == ChatMember.OWNER:
            return True, []
        if member.status != ChatMember.ADMINISTRATOR:
            return False, list(texts.RIGHTS)
        return True, [right for right in texts.RIGHTS if not getattr(member, right, False)]

    @staticmethod
    def _rights_text(rights: list[str], lang: str) -> str:
        names = [f"“{texts.RIGHTS[r](lang)}” ({r})" for r in rights]
        if len(names) == 1:
            return names[0]
        return format_list(names, locale=lang)

    async def _bind(self, message: Message, account_id: str, text: str) -> None:
        """`/koppel KLAS`: check the bot's rights, let the core bind, make the group read-only and
        create the join-request link; tell the teacher what was done or what is missing."""
        chat_id = str(message.chat_id)
        lang = cmd.command_language(text)
        words = text.split()
        klas = words[1] if len(words) > 1 else ""
        command = " ".join([words[0].split("@")[0], *words[1:2]])
        try:
            admin, missing = await self._missing_rights(chat_id)
        except TelegramError as error:
            logger.error("telegram: cannot read my rights in %s: %s", chat_id, error.message)
            return
        if missing:
            # Binding a group the bot cannot keep inside the protocol would give pupils a group
            # that is not announcement-only (rule 3) and keeps strangers in (rule 2).
            msg = texts.MISSING_RIGHTS if admin else texts.NOT_ADMIN
            await self._say(
                chat_id, msg(lang, rights=self._rights_text(missing, lang), command=command)
            )
            return
        reply = await self.core.handle(
            self.name, account_id, text, chat_id=chat_id, in_group=True, preview=True
        )
        if reply.delete_original:
            await self._delete(message)
        if reply.group is None:
            if reply.texts:
                # In a bound group only the bot posts: the answer goes to the sender privately.
                await self._say(
                    account_id if reply.delete_original else chat_id, "\n\n".join(reply.texts)
                )
            return
        chat_id = reply.group.chat_id
        self._lost.discard(chat_id)
        answer = list(reply.texts)
        try:
            await self._in_chat(
                chat_id,
                lambda c: self.bot.set_chat_permissions(
                    c, ChatPermissions.no_permissions(), use_independent_chat_permissions=True
                ),
            )
        except TelegramError as error:
            answer.append(
                texts.BOUND_PROBLEM(
                    lang, what=texts.WHAT_READ_ONLY(lang), error=error.message, command=command
                )
            )
        try:
            link = await self._invite_link(chat_id)
        except TelegramError as error:
            answer.append(
                texts.BOUND_PROBLEM(
                    lang, what=texts.WHAT_INVITE_LINK(lang), error=error.message, command=command
                )
            )
        else:
            answer.append(texts.BOUND_DONE(lang, link=link, klas=klas))
        await self._say(chat_id, "\n\n".join(answer))

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

    # ------------------------------------------------------------------------ update handlers

    async def _on_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        text = message.text or ""
        account_id = str(user.id)
        invites: list[tuple[str, InlineKeyboardMarkup | None]] = []
        token = _deferred.set((account_id, invites))
        try:
            reply = await self.core.handle(self.name, account_id, text, preview=True)
        finally:
            _deferred.reset(token)
        lang = cmd.command_language(text)
        if reply.confirmation is not None:
            await self._preview(message.chat_id, reply.confirmation, reply.texts, lang)
        elif reply.texts:
            await self._say(message.chat_id, "\n\n".join(reply.texts))
        for invite, markup in invites:
            await self._say(message.chat_id, invite, markup)
        if _command_word(text, self.bot.username) in cmd.Start.words():
            await self._staff_menu(account_id)

    async def _preview(self, chat_id: int, token: str, lines: list[str], lang: str) -> None:
        """Show a previewed announcement with the buttons that confirm or cancel it (the draft
        itself is kept by the core, so the buttons still work after a restart)."""
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(texts.SEND_BUTTON(lang), callback_data=f"send:{token}"),
                    InlineKeyboardButton(
                        texts.CANCEL_BUTTON(lang), callback_data=f"cancel:{token}"
                    ),
                ]
            ]
        )
        await self._say(chat_id, texts.PREVIEW(lang, text="\n\n".join(lines)), keyboard)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        action, _, token = (query.data or "").partition(":")
        account_id = str(query.from_user.id)
        if action == "send" and token:
            reply = await self.core.confirm(self.name, account_id, token)
        elif action == "cancel" and token:
            reply = await self.core.cancel(self.name, account_id, token)
        else:
            await query.answer(M_PREVIEW_EXPIRED(self.lang), show_alert=True)
            return
        if reply.refused:
            await query.answer("\n".join(reply.texts), show_alert=True)
            return
        await query.answer()
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        if query.message is not None:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError as error:
                logger.info("telegram: could not remove the buttons: %s", error.message)
        if reply.texts:
            await self._say(chat_id, "\n\n".join(reply.texts))

    async def _on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        chat_id = str(chat.id)
        if chat.title:
            self._titles[chat_id] = chat.title
        sender = message.from_user
        if sender is None or message.sender_chat is not None:
            # Posted as a channel or an anonymous admin: nobody the roster knows.
            account_id = f"chat:{message.sender_chat.id if message.sender_chat else chat_id}"
        else:
            account_id = str(sender.id)
        text = message.text or message.caption or ""
        word = _command_word(text, self.bot.username)
        if word in cmd.Bind.words():
            await self._bind(message, account_id, text)
            return
        reply = await self.core.handle(
            self.name, account_id, text, chat_id=chat_id, in_group=True, preview=True
        )
        if not reply.delete_original:
            # Not a bound group: answer only what was said to klasbot (other bots may be here).
            if word is not None and word in cmd.COMMAND_WORDS and reply.texts:
                await self._say(chat_id, "\n\n".join(reply.texts))
            return
        await self._delete(message)
        lang = cmd.command_language(text)
        if reply.confirmation is not None:
            await self._preview(int(account_id), reply.confirmation, reply.texts, lang)
        elif reply.texts:
            await self._say(account_id, "\n\n".join(reply.texts))
        elif account_id.isdigit() and (chat_id, account_id) not in self._told:
            # Say once why the message disappeared.
            self._told.add((chat_id, account_id))
            await self._say(account_id, M_GROUP_ONLY_BOT(self.lang))

    async def _on_join_request(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        request = update.chat_join_request
        if request is None:
            return
        chat_id = str(request.chat.id)
        user_id = request.from_user.id
        verdict = await self.core.join_requested(self.name, chat_id, str(user_id))
        if verdict is None:
            return  # not a class group: its own administrators decide
        try:
            if verdict:
                await self._in_chat(
                    chat_id, lambda c: self.bot.approve_chat_join_request(c, user_id)
                )
                return
            await self._in_chat(chat_id, lambda c: self.bot.decline_chat_join_request(c, user_id))
        except BadRequest as error:
            # Answered already (by another administrator, or twice): nothing left to do.
            logger.info("telegram: join request of %s in %s: %s", user_id, chat_id, error.message)
            return
        await self._say(
            request.user_chat_id,
            texts.JOIN_DECLINED(self.lang, title=request.chat.title or "de groep"),
        )

    async def _on_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change: ChatMemberUpdated | None = update.chat_member
        if change is None or change.new_chat_member.user.id == self.bot.id:
            return
        chat_id = str(change.chat.id)
        account_id = str(change.new_chat_member.user.id)
        was, now = _is_member(change.old_chat_member), _is_member(change.new_chat_member)
        if now and not was:
            # Rule 2: the core removes (through `remove`) anyone who may not be here.
            await self.core.member_joined(self.name, chat_id, account_id)
        elif was and not now:
            await self.core.member_left(self.name, chat_id, account_id)

    async def _on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type not in _GROUP_TYPES:
            return
        chat_id = str(change.chat.id)
        old, new = change.old_chat_member.status, change.new_chat_member.status
        if new in (ChatMember.LEFT, ChatMember.BANNED):
            await self._group_lost(chat_id)
        elif old in (ChatMember.LEFT, ChatMember.BANNED):
            # Added to a group: say how to bind it, and which rights that takes.
            self._lost.discard(chat_id)
            member = change.new_chat_member
            if member.status == ChatMember.ADMINISTRATOR:
                missing = [r for r in texts.RIGHTS if not getattr(member, r, False)]
            else:
                missing = list(texts.RIGHTS)
            if missing:
                rights = self._rights_text(missing, self.lang)
                await self._say(chat_id, texts.WELCOME_GROUP(self.lang, rights=rights))
            else:
                await self._say(chat_id, texts.WELCOME_READY(self.lang))

    async def _on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.migrate_to_chat_id:
            await self._migrated(str(message.chat_id), str(message.migrate_to_chat_id))

    # ------------------------------------------------------------------------ command menus

    async def _register_menus(self) -> None:
        for scope, names in menu.scopes():
            for code, lang in menu.LANGUAGES:
                await self.bot.set_my_commands(
                    menu.commands(names, lang), scope=scope, language_code=code
                )
        for account_id in await self._staff_accounts():
            await self._staff_menu(account_id, known_staff=True)

    async def _staff_accounts(self) -> set[str]:
        return await self.core.staff_accounts(self.name)

    async def _staff_menu(self, account_id: str, *, known_staff: bool = False) -> None:
        """Show a linked teacher the announcement commands in their private chat."""
        if not known_staff and not await self.core.is_staff_account(self.name, account_id):
            return
        scope, names = menu.staff_scope(account_id)
        try:
            for code, lang in menu.LANGUAGES:
                await self.bot.set_my_commands(
                    menu.commands(names, lang), scope=scope, language_code=code
                )
        except TelegramError as error:
            logger.info("telegram: no staff menu for %s: %s", account_id, error.message)


_COMMAND = re.compile(r"\s*[/!]([^\W\d_]\w*)(?:@(\w+))?")


def _command_word(text: str, bot_username: str | None) -> str | None:
    """The command word of `text` (lower case) when it is a command for this bot."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    if match[2] and bot_username and match[2].lower() != bot_username.lower():
        return None
    return match[1].lower()

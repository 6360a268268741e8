"""Telegram's updates turned into the core's use cases.

- `/start CODE` in a private chat (also what the deep link `t.me/<bot>?start=CODE` sends) links
  the account; the pupil then gets the group's join-request link privately (`admit`).
- `/koppel KLAS` in a group binds it (see `adapters.telegram.binding`).
- A join request is approved only when rules 1 and 2 allow it (`ChatCore.join_requested`), else
  declined; someone who appears in the group anyway is reported to the core
  (`ChatCore.member_joined`), which removes them through `remove` (ban + unban: a kick).
- A member's message in a bound group is deleted (rule 3); a staff command there is deleted and
  answered privately.
- Announcement commands are previewed with their signature and sent only after the author
  presses "Versturen" (inline keyboard → callback query → `ChatFrontEnd.confirm`).
- The bot removed from a group → `ChatCore.group_lost`; a group that became a supergroup →
  `ChatCore.chat_migrated`, and the message is sent again to the new id.
"""

from __future__ import annotations

import contextvars
import logging
import re

from telegram import (
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from adapters.telegram import menu, texts
from adapters.telegram.binding import GroupBinding, lacking_rights, rights_text
from adapters.telegram.chats import is_member
from bot import commands as cmd
from bot.messages import M_GROUP_ONLY_BOT, M_PREVIEW_EXPIRED
from bot.ratelimit import RateLimiter
from config.settings import TelegramSettings

logger = logging.getLogger(__name__)

_GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)

# Set while a private message is handled: `_invite` then queues the invite after the reply
# (so the pupil reads "Gelukt!" before the link) instead of sending it first.
_deferred: contextvars.ContextVar[
    tuple[str, list[tuple[str, InlineKeyboardMarkup | None]]] | None
] = contextvars.ContextVar("telegram_deferred_invites", default=None)

_COMMAND = re.compile(r"\s*[/!]([^\W\d_]\w*)(?:@(\w+))?")


def _command_word(text: str, bot_username: str | None) -> str | None:
    """The command word of `text` (lower case) when it is a command for this bot."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    if match[2] and bot_username and match[2].lower() != bot_username.lower():
        return None
    return match[1].lower()


class UpdateHandlers(GroupBinding):
    """The handlers `TelegramPlatform` registers, one per kind of update."""

    def __init__(self, settings: TelegramSettings, limiter: RateLimiter) -> None:
        super().__init__(settings, limiter)
        self._told: set[tuple[str, str]] = set()

    async def _invite(self, account_id: str, text: str, markup: InlineKeyboardMarkup) -> None:
        """Send an invite privately; while that person's own message is handled, after the
        answer to it."""
        deferred = _deferred.get()
        if deferred is not None and deferred[0] == account_id:
            deferred[1].append((text, markup))
        else:
            await self._say(account_id, text, markup)

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
        lang = await self.core.language_of(self.name, account_id)
        if reply.confirmation is not None:
            await self._preview(message.chat_id, reply.confirmation, reply.texts, lang)
        elif reply.texts:
            await self._say(message.chat_id, "\n\n".join(reply.texts), _actions(reply.actions))
        for invite, markup in invites:
            await self._say(message.chat_id, invite, markup)
        if _command_word(text, self.bot.username) in cmd.Start.words():
            await menu.show_staff_menu(self.bot, self.core, self.name, account_id)

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
        elif action == "cmd" and token:
            # A button that stands for a command (`/planning 2B annuleer 3`): the same as typing
            # it, with the same checks.
            reply = await self.core.handle(self.name, account_id, token, preview=True)
        else:
            lang = await self.core.language_of(self.name, account_id)
            await query.answer(M_PREVIEW_EXPIRED(lang), show_alert=True)
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
        lang = await self.core.language_of(self.name, account_id)
        if reply.confirmation is not None:
            await self._preview(int(account_id), reply.confirmation, reply.texts, lang)
        elif reply.texts:
            await self._say(account_id, "\n\n".join(reply.texts), _actions(reply.actions))
        elif account_id.isdigit() and (chat_id, account_id) not in self._told:
            # Say once why the message disappeared.
            self._told.add((chat_id, account_id))
            await self._say(account_id, M_GROUP_ONLY_BOT(lang))

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
        was, now = is_member(change.old_chat_member), is_member(change.new_chat_member)
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
            missing = lacking_rights(change.new_chat_member)
            if missing:
                rights = rights_text(missing, self.lang)
                await self._say(chat_id, texts.WELCOME_GROUP(self.lang, rights=rights))
            else:
                await self._say(chat_id, texts.WELCOME_READY(self.lang))

    async def _on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.migrate_to_chat_id:
            await self._migrated(str(message.chat_id), str(message.migrate_to_chat_id))


CALLBACK_DATA_LIMIT = 64
"""Telegram's limit on a button's callback data, in bytes."""


def _actions(actions: list[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    """One button per follow-up command of a reply (`Reply.actions`), each on its own row; a
    command too long for a button's callback data is left to be typed."""
    rows = [
        [InlineKeyboardButton(label, callback_data=f"cmd:{command}")]
        for label, command in actions
        if len(f"cmd:{command}".encode()) <= CALLBACK_DATA_LIMIT
    ]
    return InlineKeyboardMarkup(rows) if rows else None

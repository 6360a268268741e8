"""`/koppel KLAS` in a group: binding a Telegram group to a class.

The bot first checks its own administrator rights and names exactly the one it lacks; then the
core checks that the sender is staff of the class and binds the group; the bot makes members
read-only and creates an invite link that creates join requests.
"""

from __future__ import annotations

import logging

from babel.lists import format_list
from telegram import ChatMember, ChatPermissions, Message
from telegram.error import TelegramError

from adapters.telegram import texts
from adapters.telegram.chats import TelegramChats

logger = logging.getLogger(__name__)


def lacking_rights(member: ChatMember) -> list[str]:
    """The administrator rights (`texts.RIGHTS`) the bot lacks as this member of a group."""
    if member.status == ChatMember.OWNER:
        return []
    if member.status != ChatMember.ADMINISTRATOR:
        return list(texts.RIGHTS)
    return [right for right in texts.RIGHTS if not getattr(member, right, False)]


def rights_text(rights: list[str], lang: str) -> str:
    names = [f"“{texts.RIGHTS[r](lang)}” ({r})" for r in rights]
    if len(names) == 1:
        return names[0]
    return format_list(names, locale=lang)


class GroupBinding(TelegramChats):
    """`/koppel` (the update handlers call `_bind`)."""

    async def _bind(self, message: Message, account_id: str, text: str) -> None:
        """`/koppel KLAS`: check the bot's rights, let the core bind, make the group read-only and
        create the join-request link; tell the teacher what was done or what is missing."""
        chat_id = str(message.chat_id)
        lang = await self.core.language_of(self.name, account_id)
        words = text.split()
        klas = words[1] if len(words) > 1 else ""
        command = " ".join([words[0].split("@")[0], *words[1:2]])
        try:
            me = await self._in_chat(chat_id, lambda c: self.bot.get_chat_member(c, self.bot.id))
        except TelegramError as error:
            logger.error("telegram: cannot read my rights in %s: %s", chat_id, error.message)
            return
        missing = lacking_rights(me)
        if missing:
            # Binding a group the bot cannot keep inside the protocol would give pupils a group
            # that is not announcement-only (rule 3) and keeps strangers in (rule 2).
            admin = me.status == ChatMember.ADMINISTRATOR
            msg = texts.MISSING_RIGHTS if admin else texts.NOT_ADMIN
            await self._say(chat_id, msg(lang, rights=rights_text(missing, lang), command=command))
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

"""The command menus Telegram shows (`setMyCommands`), in Dutch and English, scoped by role.

Rule 7 (`bot.rules.authorization.menu`) decides what each menu shows: every private chat, the
private chat of each linked staff member, group administrators (the teacher who binds the group)
and group members (nothing: only the bot posts, rule 3). This module only maps those audiences
onto Telegram's command scopes.
Dutch is the default language and is also registered under `nl`; English under `en`, with the
English command names (which the grammar accepts as aliases).
"""

from __future__ import annotations

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.commands import COMMANDS
from bot.rules.authorization import Audience, menu

# (language_code, language): the default (no code) is Dutch.
LANGUAGES = ((None, "nl"), ("nl", "nl"), ("en", "en"))


def commands(names: tuple[str, ...], lang: str) -> list[BotCommand]:
    out = []
    for name in names:
        cls = COMMANDS[name]
        out.append(BotCommand(cls.english if lang == "en" else cls.name, cls.summary(lang)))
    return out


def scopes() -> list[tuple[BotCommandScope, tuple[str, ...]]]:
    """The scopes that do not depend on who is linked."""
    return [
        (BotCommandScopeDefault(), menu(Audience.PRIVATE_CHAT)),
        (BotCommandScopeAllPrivateChats(), menu(Audience.PRIVATE_CHAT)),
        (BotCommandScopeAllGroupChats(), menu(Audience.GROUP_MEMBER)),
        (BotCommandScopeAllChatAdministrators(), menu(Audience.GROUP_ADMIN)),
    ]


def staff_scope(account_id: str) -> tuple[BotCommandScope, tuple[str, ...]]:
    # A private chat's id is the person's user id.
    return BotCommandScopeChat(int(account_id)), menu(Audience.STAFF_CHAT)

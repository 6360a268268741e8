"""The command menus Telegram shows (`setMyCommands`), in Dutch and English, scoped by role.

Rule 7 decides who may do what; the menu only shows each person what they may use, so that a
pupil is not invited to try a teacher's command:
- every private chat (pupils, guardians, anyone not yet linked): start, help, melden;
- the private chat of each linked staff member: the announcement commands as well;
- group administrators (the teacher who binds the group): /koppel and the announcement commands;
- members of a group: nothing — in a class group only the bot posts (rule 3).
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

PUPIL = ("start", "help", "melden")
STAFF = (
    "lesuitval",
    "huiswerk",
    "herinnering",
    "uitje",
    "planning",
    "melden",
    "escaleren",
    "help",
    "start",
)
GROUP_ADMIN = ("koppel", "lesuitval", "huiswerk", "herinnering", "uitje", "help")

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
        (BotCommandScopeDefault(), PUPIL),
        (BotCommandScopeAllPrivateChats(), PUPIL),
        (BotCommandScopeAllGroupChats(), ()),
        (BotCommandScopeAllChatAdministrators(), GROUP_ADMIN),
    ]


def staff_scope(account_id: str) -> tuple[BotCommandScope, tuple[str, ...]]:
    # A private chat's id is the person's user id.
    return BotCommandScopeChat(int(account_id)), STAFF

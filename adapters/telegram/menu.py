"""The command menus Telegram shows (`setMyCommands`), in Dutch and English, scoped by role.

Rule 7 (`bot.rules.authorization.menu`) decides what each menu shows: every private chat, the
private chat of each linked staff member, group administrators (the teacher who binds the group)
and group members (nothing: only the bot posts, rule 3). This module only maps those audiences
onto Telegram's command scopes and registers them: the fixed scopes at start-up, a linked staff
member's own menu at start-up and when they link (`/start`).
Dutch is the default language and is also registered under `nl`; English under `en`, with the
English command names (which the grammar accepts as aliases).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from bot.commands import COMMANDS
from bot.ports import ChatCore
from bot.rules.authorization import Audience, menu

logger = logging.getLogger(__name__)

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


async def _set(bot: Any, scope: BotCommandScope, names: tuple[str, ...]) -> None:
    for code, lang in LANGUAGES:
        await bot.set_my_commands(commands(names, lang), scope=scope, language_code=code)


async def register(bot: Any, core: ChatCore, platform: str) -> None:
    """Register every menu: the fixed scopes and each linked staff member's."""
    for scope, names in scopes():
        await _set(bot, scope, names)
    for account_id in await core.staff_accounts(platform):
        await show_staff_menu(bot, core, platform, account_id, known_staff=True)


async def show_staff_menu(
    bot: Any, core: ChatCore, platform: str, account_id: str, *, known_staff: bool = False
) -> None:
    """Show a linked teacher the announcement commands in their private chat."""
    if not known_staff and not await core.is_staff_account(platform, account_id):
        return
    scope, names = staff_scope(account_id)
    try:
        await _set(bot, scope, names)
    except TelegramError as error:
        logger.info("telegram: no staff menu for %s: %s", account_id, error.message)

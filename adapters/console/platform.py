"""The console platform: class groups that live in the terminal (the demo, trying things out).

Its groups, members and accounts are stored like any platform's; a post is printed and appended
to `<data_dir>/console/<chat>.log`, so a post made by `klasbot dispatch --once` can be read back.
A silent post (A.1, made while lessons run) says so on its first line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from bot.domain import ClassRoster
from bot.i18n import DEFAULT_LANGUAGE, Msg
from bot.ports import GroupMessage, PlatformCapabilities

logger = logging.getLogger(__name__)

M_SILENT = Msg("(silent: lessons are running)")


class ConsolePlatform:
    name = "console"
    capabilities = PlatformCapabilities(
        min_age=13,
        creates_groups=True,
        can_delete_messages=True,
        can_remove_members=True,
        can_edit_posts=True,
    )

    def __init__(
        self,
        log_dir: Path,
        echo: Callable[[str, str], None] | None = None,
        *,
        lang: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.log_dir = log_dir
        self.echo = echo
        self.lang = lang
        """The language of the platform's own words (the silent marker): the school's."""
        self.posted: list[GroupMessage] = []
        self.silent: list[str] = []
        """The idempotency keys of the posts made silently."""
        self.edited: list[tuple[str, GroupMessage]] = []

    def _log_path(self, chat_id: str) -> Path:
        return self.log_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', chat_id)}.log"

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        text = f"{M_SILENT(self.lang)}\n{message.text}" if silent else message.text
        path = self._log_path(message.chat_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"[{message.idempotency_key}]\n{text}\n\n")
        self.posted.append(message)
        if silent:
            self.silent.append(message.idempotency_key)
        if self.echo is not None:
            self.echo(message.chat_id, text)
        return message.idempotency_key

    async def edit(self, chat_id: str, message_id: str, message: GroupMessage) -> None:
        path = self._log_path(chat_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"[{message_id} edited]\n{message.text}\n\n")
        self.edited.append((message_id, message))
        if self.echo is not None:
            self.echo(chat_id, message.text)

    async def create_group(self, roster: ClassRoster) -> str:
        return f"console:{roster.school_class.id}"

    async def admit(self, chat_id: str, account_id: str) -> bool:
        return True

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        logger.info("console: %s removed from %s (%s)", account_id, chat_id, reason)

"""What a Telegram class group can do, declared without connecting (every command reads it)."""

from __future__ import annotations

from bot.ports import PlatformCapabilities
from config.settings import TelegramSettings


def capabilities(settings: TelegramSettings) -> PlatformCapabilities:
    # A Telegram bot cannot create groups: a teacher creates one and binds it with /koppel.
    return PlatformCapabilities(
        min_age=settings.min_age,
        creates_groups=False,
        binds_groups=True,
        can_delete_messages=True,
        can_remove_members=True,
        html=False,
        can_edit_posts=True,
    )

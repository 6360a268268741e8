"""What a Telegram class group can do, declared without connecting (every command reads it)."""

from __future__ import annotations

from bot.ports import PlatformCapabilities
from config.settings import TelegramSettings

POSTS_IN_FLIGHT = 32
"""Group posts out at once without a recorded outcome: a crash repeats at most these."""


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
        # A broadcast keeps Telegram's limits busy (30 messages in any second): a full second's
        # worth may be in flight; the limiter (`chats.limits`) decides when each goes.
        posts_in_flight=POSTS_IN_FLIGHT,
    )

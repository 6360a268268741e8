"""What a Matrix class room can do, declared without connecting (every command reads it)."""

from __future__ import annotations

from bot.ports import PlatformCapabilities
from config.settings import MatrixSettings


def capabilities(settings: MatrixSettings) -> PlatformCapabilities:
    return PlatformCapabilities(
        min_age=settings.min_age,
        creates_groups=True,
        binds_groups=False,
        can_delete_messages=True,
        can_remove_members=True,
        html=True,
        can_edit_posts=True,
    )

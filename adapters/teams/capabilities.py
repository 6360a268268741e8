"""What a Teams class channel can do, declared without the SDK (every command reads it)."""

from __future__ import annotations

from bot.i18n import Msg
from bot.ports import PlatformCapabilities
from config.settings import TeamsSettings

M_BIND_IN_TEAMS = Msg(
    "A Teams channel is bound by the class's teacher: install the klasbot app in the class team "
    "and send @Klasbot /link {klas} in the channel to use. (Or pass an existing channel's id "
    "with --chat.)"
)


def capabilities(settings: TeamsSettings) -> PlatformCapabilities:
    # The school's administration (School Data Sync) or the team's owners manage the team: a bot
    # can neither create teams nor add or remove members, and deletes only its own posts. A
    # member who may not be there is reported to the class's staff instead.
    return PlatformCapabilities(
        min_age=settings.min_age,
        creates_groups=False,
        binds_groups=True,
        can_delete_messages=False,
        can_remove_members=False,
        html=True,
        can_edit_posts=True,
        bind_hint=M_BIND_IN_TEAMS,
    )

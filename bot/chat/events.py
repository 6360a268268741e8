"""What a platform observes in its groups, handed to the use cases, and the small questions
adapters ask (is this chat a class group, is this account staff). Part of `ChatFrontEnd`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import ClassRoster, Group
from bot.usecases import groups, linking, membership, queries
from bot.usecases.context import Context


class PlatformEvents:
    ctx: Context

    async def member_joined(self, platform: str, chat_id: str, account_id: str) -> bool:
        """Someone is in a bound group; False when they may not be (and are being removed)."""
        return await membership.member_joined(self.ctx, platform, chat_id, account_id)

    async def link_school_account(
        self, platform: str, account_id: str, names: Sequence[str], chat_id: str | None = None
    ) -> bool:
        """Link the account by the school account the platform reports for it (its sign-in
        name, e-mail); True when it is linked to the one roster person those name (of the
        school of the class group `chat_id`, when it was seen in one)."""
        person = await linking.link_by_school_account(
            self.ctx, platform, account_id, names, chat_id
        )
        return person is not None

    async def join_requested(self, platform: str, chat_id: str, account_id: str) -> bool | None:
        return await membership.join_requested(self.ctx, platform, chat_id, account_id)

    async def member_left(self, platform: str, chat_id: str, account_id: str) -> None:
        await membership.member_left(self.ctx, platform, chat_id, account_id)

    async def group_lost(self, platform: str, chat_id: str) -> tuple[Group, ClassRoster] | None:
        return await groups.group_lost(self.ctx, platform, chat_id)

    async def chat_migrated(
        self, platform: str, old_chat_id: str, new_chat_id: str
    ) -> Group | None:
        return await groups.chat_migrated(self.ctx, platform, old_chat_id, new_chat_id)

    async def platform_state(self, platform: str, key: str) -> str | None:
        return await queries.platform_state(self.ctx, platform, key)

    async def set_platform_state(self, platform: str, key: str, value: str) -> None:
        await queries.set_platform_state(self.ctx, platform, key, value)

    async def is_class_group(self, platform: str, chat_id: str) -> bool:
        return await queries.is_class_group(self.ctx, platform, chat_id)

    async def is_staff_account(self, platform: str, account_id: str) -> bool:
        return await queries.is_staff_account(self.ctx, platform, account_id)

    async def is_staff_of_group(self, platform: str, chat_id: str, account_id: str) -> bool:
        return await queries.is_staff_of_group(self.ctx, platform, chat_id, account_id)

    async def staff_accounts(self, platform: str) -> set[str]:
        return await queries.staff_accounts(self.ctx, platform)

"""Read-only questions (and the platforms' small state), for the CLI and the adapters."""

from __future__ import annotations

from bot.domain import Announcement, Delivery, LetterRecord, Person
from bot.errors import NotFound
from bot.messages import M_ANNOUNCEMENT_NOT_FOUND
from bot.outbox import letters_posted
from bot.repositories import Repositories
from bot.rules import authorization
from bot.usecases.context import Context, resolve_class


async def announcements(ctx: Context, class_ref: str | None = None) -> list[Announcement]:
    async with ctx.db.transaction() as tx:
        class_id = (await resolve_class(tx, class_ref)).id if class_ref else None
        return await tx.announcements.list(class_id)


async def deliveries(ctx: Context, announcement_id: int) -> list[Delivery]:
    async with ctx.db.transaction() as tx:
        if await tx.announcements.get(announcement_id) is None:
            raise NotFound(M_ANNOUNCEMENT_NOT_FOUND, ref=announcement_id)
        return await tx.outbox.for_announcement(announcement_id)


async def letters(ctx: Context, *, show_all: bool = False) -> list[LetterRecord]:
    async with ctx.db.transaction() as tx:
        return await tx.letters.list(unposted_only=not show_all)


async def mark_posted(
    ctx: Context, keys: list[str], *, every: bool = False
) -> tuple[list[str], list[str]]:
    """(unknown keys, keys marked posted now)."""
    async with ctx.db.transaction() as tx:
        wanted = list(keys)
        if every:
            wanted += [x.key for x in await tx.letters.list(unposted_only=True)]
        known = {x.key for x in await tx.letters.list()}
        unknown = [k for k in wanted if k not in known]
        if unknown:
            return unknown, []
        return [], await letters_posted(tx, wanted, ctx.clock.now())


async def platform_state(ctx: Context, platform: str, key: str) -> str | None:
    """Small state a platform keeps across restarts (a sync token, an invite link)."""
    async with ctx.db.transaction() as tx:
        return await tx.state.get(platform, key) or None


async def set_platform_state(ctx: Context, platform: str, key: str, value: str) -> None:
    async with ctx.db.transaction() as tx:
        await tx.state.set(platform, key, value)


async def is_class_group(ctx: Context, platform: str, chat_id: str) -> bool:
    async with ctx.db.transaction() as tx:
        return await tx.groups.by_chat(platform, chat_id) is not None


async def person_and_staff(
    tx: Repositories, platform: str, account_id: str
) -> tuple[Person | None, bool]:
    """The person linked to the account, and whether they teach any class (rule 7)."""
    person = await tx.accounts.person_of(platform, account_id)
    if person is None:
        return None, False
    return person, authorization.teaches_any(await tx.roster.enrollments_of(person.id))


async def is_staff_account(ctx: Context, platform: str, account_id: str) -> bool:
    """Is this account linked to someone who teaches a class (and so may announce)?"""
    async with ctx.db.transaction() as tx:
        return (await person_and_staff(tx, platform, account_id))[1]


async def is_staff_of_group(ctx: Context, platform: str, chat_id: str, account_id: str) -> bool:
    async with ctx.db.transaction() as tx:
        group = await tx.groups.by_chat(platform, chat_id)
        person = await tx.accounts.person_of(platform, account_id)
        if group is None or person is None:
            return False
        roster = await tx.roster.class_roster(group.class_id)
    return authorization.is_staff_of_class(person.id, roster)


async def staff_accounts(ctx: Context, platform: str) -> set[str]:
    """The platform accounts of everyone who teaches a class."""
    accounts: set[str] = set()
    async with ctx.db.transaction() as tx:
        for school_class, *_ in await tx.roster.classes():
            roster = await tx.roster.class_roster(school_class.id)
            for person in roster.staff:
                accounts.update(
                    a.account_id
                    for a in await tx.accounts.of_person(person.id)
                    if a.platform == platform
                )
    return accounts

"""Class groups: creating or binding one, and the two events a platform reports about a group —
the bot removed from it, the chat moved to a new id. One use case, one audit event and one notice
to staff per event, whichever adapter noticed it first."""

from __future__ import annotations

import uuid

from bot.domain import ClassRoster, Group, GroupState, Person
from bot.errors import InvalidInput, RuleViolation
from bot.messages import (
    M_CHAT_BOUND_ELSEWHERE,
    M_GROUP_EXISTS,
    M_GROUP_LOST_MAIL,
    M_PLATFORM_BINDS_GROUPS,
    M_PLATFORM_NOT_CONFIGURED,
    M_UNKNOWN_PLATFORM,
)
from bot.notices import ReportNotice
from bot.outbox import add_mail_notice, notice_key
from bot.policy import leadership_for
from bot.rules import authorization
from bot.usecases.context import Context, resolve_class
from bot.usecases.membership import admit_everyone


async def create_group(
    ctx: Context,
    class_ref: str,
    platform_name: str,
    *,
    chat_id: str | None = None,
    actor: str | None = None,
) -> Group:
    """The admin creates a class group (or records an existing chat with `chat_id`)."""
    capabilities = ctx.policy.capabilities(platform_name)
    if capabilities is None:
        raise InvalidInput(
            M_UNKNOWN_PLATFORM, platform=platform_name, choices=", ".join(ctx.policy.platforms)
        )
    if not capabilities.creates_groups and chat_id is None:
        hint = capabilities.bind_hint or M_PLATFORM_BINDS_GROUPS
        raise InvalidInput(hint, klas=class_ref, platform=platform_name)
    platform = ctx.platforms.get(platform_name)
    if platform is None and chat_id is None:
        raise InvalidInput(M_PLATFORM_NOT_CONFIGURED, platform=platform_name)
    async with ctx.db.transaction() as tx:
        school_class = await resolve_class(tx, class_ref)
        roster = await tx.roster.class_roster(school_class.id)
        # An archived group belongs to a school year that is over: a new one may be made.
        existing = [
            g
            for g in await tx.groups.list(school_class.id, platform_name)
            if g.state != GroupState.ARCHIVED
        ]
        if chat_id is not None and await tx.groups.by_chat(platform_name, chat_id):
            raise InvalidInput(M_CHAT_BOUND_ELSEWHERE, chat=chat_id)
        if existing and chat_id is None:
            raise InvalidInput(
                M_GROUP_EXISTS,
                klas=school_class.code,
                platform=platform_name,
                chat=existing[0].chat_id,
            )
    if chat_id is None:
        assert platform is not None
        chat_id = await platform.create_group(roster)
    async with ctx.db.transaction() as tx:
        group = await tx.groups.add(
            school_class.id, platform_name, chat_id, GroupState.ACTIVE, ctx.clock.now()
        )
        await ctx.audit(
            tx,
            "group-created",
            actor,
            [],
            class_id=school_class.id,
            platform=platform_name,
            chat=chat_id,
        )
    await admit_everyone(ctx, group)
    return group


async def bind_group(
    ctx: Context, platform_name: str, chat_id: str, class_ref: str, *, actor: Person
) -> Group:
    """A staff member binds an existing platform group to their class (`/koppel KLAS`)."""
    async with ctx.db.transaction() as tx:
        school_class = await resolve_class(tx, class_ref)
        roster = await tx.roster.class_roster(school_class.id)
    try:
        authorization.require_staff_of_class(actor, roster)
    except RuleViolation as error:
        await ctx.audit_refusal(error, actor=actor.id, class_ref=class_ref, command="koppel")
        raise
    async with ctx.db.transaction() as tx:
        existing = await tx.groups.by_chat(platform_name, chat_id)
        if existing is not None:
            if existing.class_id != school_class.id:
                raise InvalidInput(M_CHAT_BOUND_ELSEWHERE, chat=chat_id)
            await tx.groups.update(existing.id, state=GroupState.ACTIVE)
            group = Group(
                existing.id,
                existing.class_id,
                existing.platform,
                existing.chat_id,
                GroupState.ACTIVE,
            )
        else:
            group = await tx.groups.add(
                school_class.id, platform_name, chat_id, GroupState.ACTIVE, ctx.clock.now()
            )
        await ctx.audit(
            tx,
            "group-bound",
            actor.id,
            [actor.id],
            class_id=school_class.id,
            platform=platform_name,
            chat=chat_id,
        )
    await admit_everyone(ctx, group)
    return group


async def group_lost(
    ctx: Context, platform_name: str, chat_id: str
) -> tuple[Group, ClassRoster] | None:
    """The bot was removed from a group: its pupils fall back to e-mail or letter until it is
    bound again, and the class's staff and leadership are told — once, however many adapters or
    failed posts report it. Returns the group and roster (None for no class group)."""
    async with ctx.db.transaction() as tx:
        group = await tx.groups.by_chat(platform_name, chat_id)
        if group is None:
            return None
        roster = await tx.roster.class_roster(group.class_id)
        if group.state == GroupState.LOST:
            return group, roster
        await tx.groups.update(group.id, state=GroupState.LOST)
        now = ctx.clock.now()
        await ctx.audit(
            tx,
            "group-lost",
            None,
            [s.id for s in roster.staff],
            group=group.id,
            platform=platform_name,
        )
        lang = ctx.policy.language
        notice = ReportNotice(
            kind="notice",
            reporter="klasbot",
            text=M_GROUP_LOST_MAIL(lang, klas=roster.school_class.code, platform=group.platform),
            created_at=now.astimezone(ctx.policy.timezone).strftime("%Y-%m-%d %H:%M"),
            school_name=ctx.policy.name_of_school([roster.school], roster.school.id),
            class_code=roster.school_class.code,
        )
        await add_mail_notice(
            tx,
            notice,
            person_id=roster.staff[0].id if roster.staff else "",
            to=[
                *(s.email for s in roster.staff),
                *await leadership_for(tx.roster, ctx.policy, roster.school.id),
            ],
            key=notice_key("group-lost", group.id, uuid.uuid4().hex),
        )
    lost = Group(group.id, group.class_id, group.platform, group.chat_id, GroupState.LOST)
    return lost, roster


async def chat_migrated(
    ctx: Context, platform_name: str, old_chat_id: str, new_chat_id: str
) -> Group | None:
    """The platform moved the group to a new id (a Telegram group became a supergroup)."""
    async with ctx.db.transaction() as tx:
        group = await tx.groups.by_chat(platform_name, old_chat_id)
        if group is None:
            return None
        await tx.groups.update(group.id, chat_id=new_chat_id)
        await ctx.audit(
            tx, "chat-migrated", None, [], group=group.id, old=old_chat_id, new=new_chat_id
        )
        return Group(group.id, group.class_id, group.platform, new_chat_id, group.state)

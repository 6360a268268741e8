"""Who is in a class group (rules 1 and 2): admitting, joins, join requests, leaving."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain import Group, GroupState, MemberState, Person
from bot.errors import DeliveryError
from bot.repositories import Repositories
from bot.rules.membership import Verdict, admission, is_present
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

ADMITTED = (Verdict.PUPIL, Verdict.STAFF)


async def verdict_for(ctx: Context, group: Group, person: Person | None) -> Verdict:
    """Rules 1 and 2: may this person be in this group today (with the platform's minimum age)?"""
    async with ctx.db.transaction() as tx:
        roster = await tx.roster.class_roster(group.class_id)
    archived = group.state == GroupState.ARCHIVED
    return admission(
        person, roster, ctx.today(), ctx.policy.min_age(group.platform), archived=archived
    ).verdict


async def admit(ctx: Context, group: Group, person: Person, account_id: str) -> Verdict:
    """Let a person in when they may be in; record what happened."""
    verdict = await verdict_for(ctx, group, person)
    if verdict not in ADMITTED:
        async with ctx.db.transaction() as tx:
            await ctx.audit(
                tx,
                "admission-refused",
                None,
                [person.id],
                group=group.id,
                class_id=group.class_id,
                verdict=verdict.value,
            )
        return verdict
    platform = ctx.platforms.get(group.platform)
    # Without the platform in this process the running bot admits them; until then: invited.
    try:
        joined = await platform.admit(group.chat_id, account_id) if platform else False
    except DeliveryError as error:
        # They stay "invited" and may send their code again, which admits them without
        # spending a new one.
        logger.warning("could not admit a person to group %s: %s", group.id, error)
        joined = False
    async with ctx.db.transaction() as tx:
        state = MemberState.MEMBER if joined else MemberState.INVITED
        await tx.groups.set_member(group.id, person.id, account_id, state, ctx.clock.now())
        await ctx.audit(
            tx,
            "member-admitted" if joined else "member-invited",
            None,
            [person.id],
            group=group.id,
            class_id=group.class_id,
        )
    return verdict


@dataclass(frozen=True, slots=True)
class Removal:
    """An account the platform must remove from a group (after the transaction that decided it)."""

    group: Group
    account_id: str
    verdict: Verdict


async def account_moved(
    ctx: Context, tx: Repositories, platform: str, account_id: str, old: Person, new: Person
) -> list[Removal]:
    """An account of `old` is now linked to `new` (a shared family phone, a classmate's code).

    Every group membership `old` held through that account ends: `old` no longer counts as in the
    group (so routing reaches them by e-mail or letter, rule 6). Where `new` may be in that group
    (rules 1 and 2) the membership becomes theirs; elsewhere the account must leave the group:
    those removals are returned, for `remove_accounts` once this transaction has committed.
    Each change is an audit event tied to both persons (rule 10)."""
    now = ctx.clock.now()
    removals: list[Removal] = []
    for group_id, membership in (await tx.groups.memberships_of(old.id)).items():
        if membership.account_id != account_id or membership.state not in (
            MemberState.MEMBER,
            MemberState.INVITED,
        ):
            continue
        group = await tx.groups.get(group_id)
        if group is None or group.platform != platform:
            continue
        roster = await tx.roster.class_roster(group.class_id)
        verdict = admission(new, roster, ctx.today(), ctx.policy.min_age(platform)).verdict
        await tx.groups.set_member(group.id, old.id, account_id, MemberState.REMOVED, now)
        if verdict in ADMITTED:
            held = (await tx.groups.members(group.id)).get(new.id)
            if held is None or held.state not in (MemberState.MEMBER, MemberState.INVITED):
                await tx.groups.set_member(group.id, new.id, account_id, membership.state, now)
            await ctx.audit(
                tx,
                "membership-moved",
                None,
                [old.id, new.id],
                group=group.id,
                class_id=group.class_id,
                to=new.id,
            )
        else:
            await ctx.audit(
                tx,
                "member-removed",
                None,
                [old.id, new.id],
                group=group.id,
                class_id=group.class_id,
                reason="account-relinked",
                verdict=verdict.value,
            )
            removals.append(Removal(group, account_id, verdict))
    return removals


async def remove_accounts(ctx: Context, removals: list[Removal]) -> None:
    """Ask the platforms to remove accounts that may no longer be in their groups (rule 2)."""
    for removal in removals:
        platform = ctx.platforms.get(removal.group.platform)
        if platform is None:
            # Accounts are linked through their platform's chat, which is connected then; only a
            # script gets here. The removal is recorded and audited; the admin is told here.
            logger.warning(
                "%s is not connected: remove the re-linked account from group %s by hand",
                removal.group.platform,
                removal.group.id,
            )
            continue
        try:
            await platform.remove(removal.group.chat_id, removal.account_id, removal.verdict.value)
        except DeliveryError as error:
            logger.warning(
                "could not remove a re-linked account from group %s: %s", removal.group.id, error
            )


async def admit_everyone(ctx: Context, group: Group) -> None:
    """Linked, eligible pupils and staff of the class are let in straight away."""
    async with ctx.db.transaction() as tx:
        roster = await tx.roster.class_roster(group.class_id)
        people = [*roster.pupils, *roster.staff]
        accounts = {p.id: await tx.accounts.of_person(p.id) for p in people}
    for person in people:
        for account in accounts[person.id]:
            if account.platform == group.platform:
                await admit(ctx, group, person, account.account_id)


async def _join_verdict(
    ctx: Context, platform: str, chat_id: str, account_id: str
) -> tuple[Group, Person | None, Verdict] | None:
    async with ctx.db.transaction() as tx:
        group = await tx.groups.by_chat(platform, chat_id)
        if group is None:
            return None
        person = await tx.accounts.person_of(platform, account_id)
    return group, person, await verdict_for(ctx, group, person)


async def member_joined(ctx: Context, platform: str, chat_id: str, account_id: str) -> bool:
    """A platform reports someone in a bound group. Returns False (and removes them, rule 2)
    when they may not be there."""
    found = await _join_verdict(ctx, platform, chat_id, account_id)
    if found is None:
        return True
    group, person, verdict = found
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        if verdict in ADMITTED:
            assert person is not None
            await tx.groups.set_member(group.id, person.id, account_id, MemberState.MEMBER, now)
            await ctx.audit(
                tx, "member-joined", None, [person.id], group=group.id, class_id=group.class_id
            )
            return True
        if person is not None:
            await tx.groups.set_member(group.id, person.id, account_id, MemberState.REMOVED, now)
        await ctx.audit(
            tx,
            "member-removed",
            None,
            [person.id] if person else [],
            group=group.id,
            class_id=group.class_id,
            account=account_id if person is None else None,
            verdict=verdict.value,
        )
    live = ctx.platforms.get(platform)
    if live is not None:
        await live.remove(chat_id, account_id, verdict.value)
    return False


async def join_requested(ctx: Context, platform: str, chat_id: str, account_id: str) -> bool | None:
    """Someone asks to join a bound group. True when rules 1 and 2 let them in; False (audited,
    rule 10) when not; None when the chat is no class group. Membership is recorded when the
    platform reports the join (`member_joined`)."""
    found = await _join_verdict(ctx, platform, chat_id, account_id)
    if found is None:
        return None
    group, person, verdict = found
    if verdict in ADMITTED:
        return True
    async with ctx.db.transaction() as tx:
        await ctx.audit(
            tx,
            "join-declined",
            None,
            [person.id] if person else [],
            group=group.id,
            class_id=group.class_id,
            account=account_id if person is None else None,
            verdict=verdict.value,
        )
    return False


async def member_left(ctx: Context, platform: str, chat_id: str, account_id: str) -> None:
    async with ctx.db.transaction() as tx:
        group = await tx.groups.by_chat(platform, chat_id)
        person = await tx.accounts.person_of(platform, account_id)
        if group is None or person is None:
            return
        membership = (await tx.groups.members(group.id)).get(person.id)
        if membership is not None and is_present(membership.state):
            await tx.groups.set_member(
                group.id, person.id, account_id, MemberState.LEFT, ctx.clock.now()
            )
            await ctx.audit(
                tx, "member-left", None, [person.id], group=group.id, class_id=group.class_id
            )

"""Who is in a class group (rules 1 and 2): admitting, joins, join requests, leaving.

A platform whose bot cannot remove members (Teams: the school's administration fills the class
team) declares so (`PlatformCapabilities.can_remove_members`): someone who may not be in the group
is then reported to the class's staff by e-mail and to the audit, once until they leave
(`report_not_allowed`), instead of being removed."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from bot.domain import Group, GroupState, MemberState, Person
from bot.errors import DeliveryError
from bot.i18n import Msg
from bot.notices import ReportNotice
from bot.outbox import STATE_SCOPE, add_mail_notice, notice_key
from bot.policy import leadership_for
from bot.repositories import Repositories
from bot.rules.membership import Verdict, admission, is_present
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

ADMITTED = (Verdict.PUPIL, Verdict.STAFF)

M_NOT_ALLOWED_MAIL = Msg(
    "{who} is in the class group of {klas} on {platform} but may not be there: {reason}. The "
    "bot cannot remove members on {platform}: please remove them from the group yourself."
)
M_UNKNOWN_ACCOUNT = Msg("An account that is not linked to anyone on the roster")
M_NOT_ALLOWED_REASON = {
    Verdict.STRANGER: Msg("they are not in this class"),
    Verdict.UNDER_13: Msg("they are younger than 13"),
    Verdict.AGE_UNKNOWN: Msg("the roster has no birth date for them"),
    Verdict.PLATFORM_AGE: Msg("they are younger than {age}, the minimum age on {platform}"),
}
M_NOT_LINKED_REASON = Msg("nobody on the roster has this account")
M_ARCHIVED_REASON = Msg("the group was archived at the end of the school year")


def cannot_remove(ctx: Context, platform: str) -> bool:
    """Whether the platform declares that its bot cannot remove members from a group."""
    capabilities = ctx.policy.capabilities(platform)
    if capabilities is None:
        live = ctx.platforms.get(platform)
        capabilities = live.capabilities if live is not None else None
    return capabilities is not None and not capabilities.can_remove_members


def _reported_key(group_id: int, account_id: str) -> str:
    return f"not-allowed:{group_id}:{account_id}"


async def report_not_allowed(
    ctx: Context,
    tx: Repositories,
    group: Group,
    person: Person | None,
    account_id: str,
    verdict: Verdict,
) -> bool:
    """Someone who may not be in `group` is there and the platform cannot remove them: tell the
    class's staff (e-mail; leadership when no staff member has an address) and audit
    `member-not-allowed`, once per group and account until they leave (`member_left`). False
    when it was reported already."""
    key = _reported_key(group.id, account_id)
    await tx.state.lock(STATE_SCOPE, key)
    if await tx.state.get(STATE_SCOPE, key):
        return False
    await tx.state.set(STATE_SCOPE, key, "1")
    roster = await tx.roster.class_roster(group.class_id)
    await ctx.audit(
        tx,
        "member-not-allowed",
        None,
        [person.id] if person else [],
        group=group.id,
        class_id=group.class_id,
        platform=group.platform,
        account=account_id if person is None else None,
        verdict=verdict.value,
    )
    lang = ctx.policy.language
    if person is None:
        who, reason = M_UNKNOWN_ACCOUNT(lang), M_NOT_LINKED_REASON(lang)
    else:
        who = person.full_name
        if group.state == GroupState.ARCHIVED:
            reason = M_ARCHIVED_REASON(lang)
        else:
            reason = M_NOT_ALLOWED_REASON.get(verdict, M_NOT_ALLOWED_REASON[Verdict.STRANGER])(
                lang, age=ctx.policy.min_age(group.platform), platform=group.platform
            )
    notice = ReportNotice(
        kind="notice",
        reporter="klasbot",
        text=M_NOT_ALLOWED_MAIL(
            lang, who=who, klas=roster.school_class.code, platform=group.platform, reason=reason
        ),
        created_at=ctx.clock.now().astimezone(ctx.policy.timezone).strftime("%Y-%m-%d %H:%M"),
        school_name=ctx.policy.name_of_school([roster.school], roster.school.id),
        class_code=roster.school_class.code,
        platform=group.platform,
        group=group.chat_id,
    )
    staff = [s.email for s in roster.staff if s.email]
    to = staff or await leadership_for(tx.roster, ctx.policy, roster.school.id)
    if not await add_mail_notice(
        tx,
        notice,
        person_id=person.id if person else "",
        to=to,
        key=notice_key("member-not-allowed", group.id, account_id, uuid.uuid4().hex),
    ):
        logger.warning(
            "group %s: a member who may not be there could not be reported (no staff address)",
            group.id,
        )
    return True


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
    """Ask the platforms to remove accounts that may no longer be in their groups (rule 2); a
    platform that cannot remove members has them reported to the class's staff instead."""
    for removal in removals:
        if cannot_remove(ctx, removal.group.platform):
            async with ctx.db.transaction() as tx:
                person = await tx.accounts.person_of(removal.group.platform, removal.account_id)
                await report_not_allowed(
                    ctx, tx, removal.group, person, removal.account_id, removal.verdict
                )
            continue
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
            if await tx.state.get(STATE_SCOPE, _reported_key(group.id, account_id)):
                await tx.state.set(STATE_SCOPE, _reported_key(group.id, account_id), "")
            return True
        if cannot_remove(ctx, platform):
            # They stay, unrecorded as a member (their messages go by e-mail or letter, rule 6);
            # a person is told about, not removed.
            await report_not_allowed(ctx, tx, group, person, account_id, verdict)
            return False
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
        if group is not None and await tx.state.get(
            STATE_SCOPE, _reported_key(group.id, account_id)
        ):
            # Reported as not allowed: should they come back, they are reported again.
            await tx.state.set(STATE_SCOPE, _reported_key(group.id, account_id), "")
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

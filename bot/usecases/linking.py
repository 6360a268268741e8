"""Linking a platform account to a person with a one-time code, then letting them into their
class groups (rules 1 and 2)."""

from __future__ import annotations

from bot.domain import GroupState, MemberState, Person, Role
from bot.messages import (
    M_ADMIT_PENDING,
    M_ADMITTED,
    M_CODE_EXPIRED,
    M_CODE_UNDER_AGE,
    M_CODE_UNKNOWN,
    M_CODE_USED,
    M_LINKED,
    M_PLATFORM_AGE,
)
from bot.ports import Reply
from bot.rules.age import is_old_enough
from bot.rules.membership import Verdict
from bot.usecases.context import Context
from bot.usecases.membership import ADMITTED, admit


async def _claim_code(
    ctx: Context, platform: str, account_id: str, code: str, lang: str
) -> Person | str:
    """The person the code links (the account linked now), or the refusal to say."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        invite = await tx.invites.get(code.strip().upper())
        if invite is None:
            return M_CODE_UNKNOWN(lang)
        relink = False
        if invite.used_at is not None:
            linked = await tx.accounts.person_of(platform, account_id)
            if linked is None or linked.id != invite.person_id:
                return M_CODE_USED(lang)
            # The same account sends its code again (after an invite that failed): let it into
            # its groups again instead of refusing.
            relink = True
        elif invite.expires_at <= now:
            return M_CODE_EXPIRED(lang)
        person = await tx.roster.person(invite.person_id)
        if person is None:
            return M_CODE_UNKNOWN(lang)
        if person.role == Role.PUPIL and not is_old_enough(person.birth_date, ctx.today()):
            await ctx.audit(
                tx, "link-refused", None, [person.id], platform=platform, reason="under-13"
            )
            return M_CODE_UNDER_AGE(lang)
        if not relink:
            if not await tx.invites.use(invite.code, now):
                return M_CODE_USED(lang)
            await tx.accounts.link(platform, account_id, person.id, now)
            await ctx.audit(tx, "account-linked", person.id, [person.id], platform=platform)
        return person


async def link_account(
    ctx: Context, platform: str, account_id: str, code: str, lang: str | None = None
) -> Reply:
    lang = lang or ctx.policy.language
    claimed = await _claim_code(ctx, platform, account_id, code, lang)
    if isinstance(claimed, str):
        return Reply([claimed])
    person = claimed
    async with ctx.db.transaction() as tx:
        enrollments = await tx.roster.enrollments_of(person.id)
        groups = [g for e in enrollments for g in await tx.groups.list(e.class_id, platform)]
        codes = {g.id: (await tx.roster.class_roster(g.class_id)).school_class.code for g in groups}
    reply = Reply([M_LINKED(lang, name=person.given_name)])
    for group in groups:
        if group.state != GroupState.ACTIVE:
            continue
        verdict = await admit(ctx, group, person, account_id)
        klas = codes[group.id]
        if verdict in ADMITTED:
            async with ctx.db.transaction() as tx:
                membership = (await tx.groups.members(group.id)).get(person.id)
            if membership is not None and membership.state == MemberState.MEMBER:
                reply.texts.append(M_ADMITTED(lang, klas=klas))
                reply.admitted.append(group)
            else:
                reply.texts.append(M_ADMIT_PENDING(lang, klas=klas))
        elif verdict == Verdict.PLATFORM_AGE:
            reply.texts.append(
                M_PLATFORM_AGE(lang, platform=platform, age=ctx.policy.min_age(platform), klas=klas)
            )
        elif verdict in (Verdict.UNDER_13, Verdict.AGE_UNKNOWN):
            reply.texts.append(M_CODE_UNDER_AGE(lang))
    return reply

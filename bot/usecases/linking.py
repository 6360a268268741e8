"""Linking a platform account to a person with a one-time code, then letting them into their
class groups (rules 1 and 2).

A code is looked up by its hash (`bot.codes`), after normalising what the person typed
(`abcd efgh jk` is `ABCD-EFGH-JK`). Wrong codes are audited and counted per account, and an account
that keeps guessing is throttled (`bot.usecases.throttling`). An account already linked to someone
else moves to the new person, and so do its group memberships where the new person may be; the
others end (`bot.usecases.membership.account_moved`).

A platform that knows the school account behind a member (Teams: the user principal name and
e-mail address from the school's directory) links it without a code (`link_by_school_account`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.codes import hash_code, normalize_code
from bot.domain import GroupState, MemberState, Person, Role
from bot.languages import person_language
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
from bot.repositories import Repositories
from bot.rules.age import is_old_enough
from bot.rules.membership import Verdict
from bot.usecases import throttling
from bot.usecases.context import Context
from bot.usecases.membership import ADMITTED, Removal, account_moved, admit, remove_accounts

logger = logging.getLogger(__name__)


@dataclass
class _Claimed:
    person: Person
    removals: list[Removal] = field(default_factory=list)


async def _wrong_code(
    ctx: Context,
    tx: Repositories,
    platform: str,
    account_id: str,
    reason: str,
    refusal: str,
    lang: str,
) -> list[str]:
    """Audit and count a wrong code; the refusal, and the throttle notice if this was one too
    many."""
    throttled = await throttling.record_failure(
        ctx, tx, platform, account_id, "link-refused", lang, reason=reason
    )
    return [refusal] if throttled is None else [refusal, throttled]


async def _claim_code(
    ctx: Context, platform: str, account_id: str, code: str, lang: str
) -> _Claimed | list[str]:
    """The person the code links (the account linked now), or the refusal to say."""
    now = ctx.clock.now()
    # Hashing takes a few milliseconds on purpose (`bot.codes`): done before the transaction.
    code_hash = hash_code(code) if normalize_code(code) else ""
    async with ctx.db.transaction() as tx:
        throttled = await throttling.refuse_if_throttled(
            ctx, tx, platform, account_id, "start", lang
        )
        if throttled is not None:
            # Not even a correct code gets through: a guesser must not learn that it was one.
            return [throttled]
        invite = await tx.invites.get(code_hash) if code_hash else None
        if invite is None:
            return await _wrong_code(
                ctx, tx, platform, account_id, "unknown", M_CODE_UNKNOWN(lang), lang
            )
        linked = await tx.accounts.person_of(platform, account_id)
        relink = False
        if invite.used_at is not None:
            if linked is None or linked.id != invite.person_id:
                return await _wrong_code(
                    ctx, tx, platform, account_id, "used", M_CODE_USED(lang), lang
                )
            # The same account sends its code again (after an invite that failed): let it into
            # its groups again instead of refusing.
            relink = True
        elif invite.expires_at <= now:
            return await _wrong_code(
                ctx, tx, platform, account_id, "expired", M_CODE_EXPIRED(lang), lang
            )
        person = await tx.roster.person(invite.person_id)
        if person is None:
            return await _wrong_code(
                ctx, tx, platform, account_id, "unknown", M_CODE_UNKNOWN(lang), lang
            )
        if person.role == Role.PUPIL and not is_old_enough(person.birth_date, ctx.today()):
            await ctx.audit(
                tx,
                "link-refused",
                None,
                [person.id],
                platform=platform,
                reason="under-13",
                class_ids=await _classes_of(tx, person.id),
            )
            return [M_CODE_UNDER_AGE(lang)]
        claimed = _Claimed(person)
        if not relink:
            if not await tx.invites.use(invite.code_hash, now):
                return await _wrong_code(
                    ctx, tx, platform, account_id, "used", M_CODE_USED(lang), lang
                )
            await tx.accounts.link(platform, account_id, person.id, now)
            classes = await _classes_of(tx, person.id)
            await ctx.audit(
                tx, "account-linked", person.id, [person.id], platform=platform, class_ids=classes
            )
            if linked is not None and linked.id != person.id:
                await ctx.audit(
                    tx,
                    "account-moved",
                    person.id,
                    [linked.id, person.id],
                    platform=platform,
                    previous=linked.id,
                    class_ids=sorted({*classes, *await _classes_of(tx, linked.id)}),
                )
                claimed.removals = await account_moved(
                    ctx, tx, platform, account_id, linked, person
                )
        return claimed


async def _classes_of(tx: Repositories, person_id: str) -> list[str]:
    """The classes a link concerns (rule 10: it is in their dossiers): the person's own."""
    return sorted({e.class_id for e in await tx.roster.enrollments_of(person_id)})


async def link_account(
    ctx: Context, platform: str, account_id: str, code: str, lang: str | None = None
) -> Reply:
    lang = lang or ctx.policy.language
    claimed = await _claim_code(ctx, platform, account_id, code, lang)
    if isinstance(claimed, list):
        return Reply(claimed)
    await remove_accounts(ctx, claimed.removals)
    person = claimed.person
    lang = person_language(person, lang)  # from here on klasbot knows whom it speaks to
    return await _into_groups(ctx, platform, account_id, person, lang)


async def _into_groups(
    ctx: Context, platform: str, account_id: str, person: Person, lang: str
) -> Reply:
    """A freshly linked account: let the person into their class groups on `platform` (rules 1
    and 2), and say how that went."""
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


async def link_by_school_account(
    ctx: Context,
    platform: str,
    account_id: str,
    names: Sequence[str],
    chat_id: str | None = None,
) -> Person | None:
    """Link a platform account by the school account the platform reports for it (`names`:
    Teams' user principal name and e-mail address), matched without regard to case against the
    roster's `username` and e-mail; then let the person into their class groups, as `/start`
    does. Returns the person the account is linked to by their school account, else None.

    The rules of the code path, for a link nobody typed: exactly one person must match; a pupil
    under 13 is not linked (rule 1). A code is an explicit choice and wins: an account already
    linked (by a code) stays as it is, and a person who already has another account on
    `platform` gets no second one without a code of their own (a used code links no second
    account either). Those accounts can still send `/start CODE`.

    Seen in a class group (`chat_id`), only persons of that class's school match: in a board's
    installation two schools may each have a `j.devries`."""
    async with ctx.db.transaction() as tx:

        async def refuse(
            reason: str, persons: Sequence[Person], classes: Sequence[str], **details: Any
        ) -> None:
            """Rule 10: a refused link is audited, tied to whom it would have linked."""
            await ctx.audit(
                tx,
                "link-refused",
                None,
                [p.id for p in persons],
                platform=platform,
                reason=reason,
                class_ids=list(classes),
                **details,
            )

        found = await tx.roster.find_by_account_name(names)
        group = await tx.groups.by_chat(platform, chat_id) if chat_id is not None else None
        if group is not None:
            school = (await tx.roster.class_roster(group.class_id)).school.id
            found = [p for p in found if not p.school_ids or school in p.school_ids]
        linked = await tx.accounts.person_of(platform, account_id)
        if linked is not None:
            # Linked before (by this match, or by a code): nothing changes.
            return linked if any(p.id == linked.id for p in found) else None
        if not found:
            return None
        if len(found) > 1:
            logger.warning(
                "%s account matches %d roster persons by its school account: not linked",
                platform,
                len(found),
            )
            classes = sorted({c for p in found for c in await _classes_of(tx, p.id)})
            await refuse("ambiguous-school-account", found, classes, matches=len(found))
            return None
        [person] = found
        classes = await _classes_of(tx, person.id)
        if person.role == Role.PUPIL and not is_old_enough(person.birth_date, ctx.today()):
            await refuse("under-13", [person], classes, via="school-account")
            return None
        others = [a for a in await tx.accounts.of_person(person.id) if a.platform == platform]
        if others:
            logger.info(
                "person %s has another %s account: the school account links no second one",
                person.id,
                platform,
            )
            await refuse("other-account", [person], classes, via="school-account")
            return None
        await tx.accounts.link(platform, account_id, person.id, ctx.clock.now())
        await ctx.audit(
            tx,
            "account-linked",
            person.id,
            [person.id],
            platform=platform,
            via="school-account",
            class_ids=classes,
        )
    lang = person_language(person, ctx.policy.language)
    await _into_groups(ctx, platform, account_id, person, lang)
    return person

"""Link codes (invites): a personal, single-use code per eligible pupil (and staff, guardians),
sent through the outbox along the route `bot.routing.route_invite` chooses.

One code per person at a time: a new code replaces the person's earlier unused ones, which are
removed (`/start` with one is then refused as unknown) together with their e-mails and letters
that have not gone out yet. Only a code's hash is stored (`bot.codes`): the code itself exists in
this process while its e-mail or letter is queued and is returned to the caller
(`klasbot invites create --json`).

A pupil under 13 gets no code; on their 13th birthday the daily sweep sends one
(`invite_on_birthday`, called by `bot.usecases.sweep`), the same way."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.codes import hash_code
from bot.domain import Channel, ContactPreference, GroupState, Invite, Person, Recipient, Role
from bot.notices import InviteNotice
from bot.outbox import add_notice, forget_codes, notice_key
from bot.policy import SchoolPolicy, policy_of_school, school_name_for
from bot.repositories import Repositories
from bot.routing import guardians_may_receive, route_invite
from bot.rules.age import MINIMUM_AGE, date_turning, is_old_enough, local_today
from bot.usecases.context import Context, require_person, resolve_class

logger = logging.getLogger(__name__)

UNDER_13 = "under-13"
"""A pupil younger than 13 gets no code before their 13th birthday (rule 1, B.1)."""
AGE_UNKNOWN = "age-unknown"
"""A pupil without a birth date on the roster is not known to be 13 (rule 1)."""
CONTACT_NONE = "contact-none"
"""Everyone the code would go to has contact preference `none` (contacts.csv)."""
UNREACHABLE = "unreachable"
"""No e-mail address and no postal address to send the code to."""
ADULT_NO_CONTACT = "adult-no-contact"
"""A pupil of 18 or older without an e-mail address or postal address of their own, who has not
consented that their code goes to a guardian (rule 6, `bot.routing`)."""

PLATFORM_ORDER = ("telegram", "matrix")
"""The chat apps an invitation names, in this order (others after them, by name)."""
NOT_AN_APP = frozenset({"console"})
"""Platforms that are no app a family installs (the terminal demo)."""


@dataclass(frozen=True)
class IssuedInvite:
    person_id: str
    pupil_id: str | None
    code: str
    channel: Channel
    expires_at: datetime
    name: str = ""


@dataclass(frozen=True)
class SkippedInvite:
    """Someone who got no code, and why (`UNDER_13`, `AGE_UNKNOWN`, `CONTACT_NONE`,
    `UNREACHABLE`, `ADULT_NO_CONTACT`); `from_date` is an under-13 pupil's 13th birthday."""

    person_id: str
    pupil_id: str | None
    reason: str
    from_date: date | None = None
    name: str = ""


@dataclass(frozen=True)
class InviteRun:
    """What `issue_invites` did for everyone it was asked for, in the roster's order: a code
    made, or none and why; and how many earlier codes the new ones replaced."""

    results: list[IssuedInvite | SkippedInvite]
    replaced: int = 0

    @property
    def issued(self) -> list[IssuedInvite]:
        return [r for r in self.results if isinstance(r, IssuedInvite)]

    @property
    def skipped(self) -> list[SkippedInvite]:
        return [r for r in self.results if isinstance(r, SkippedInvite)]


@dataclass(frozen=True)
class _Candidate:
    addressee: Person
    pupil: Person | None
    guardians: list[Person]
    class_codes: str
    class_ids: tuple[str, ...]


async def _class_policy(ctx: Context, tx: Repositories, class_ids: tuple[str, ...]) -> SchoolPolicy:
    """The policy of the school of the first of `class_ids` (the board's without one)."""
    if not ctx.policy.own or not class_ids:
        return ctx.policy
    found = await tx.roster.find_classes(class_ids[0])
    return await policy_of_school(tx.roster, ctx.policy, found[0].school_id if found else None)


def new_code() -> str:
    """Ten characters from an alphabet without look-alikes (no 0/O, 1/I/L): easy to type."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _audience(addressee: Person, pupil: Person | None, recipient_id: str) -> str:
    if pupil is None:
        return "person"
    return "pupil" if recipient_id == addressee.id else "guardian"


def _too_young(pupil: Person, today: date) -> SkippedInvite | None:
    if pupil.birth_date is None:
        return SkippedInvite(pupil.id, pupil.id, AGE_UNKNOWN, name=pupil.full_name)
    if not is_old_enough(pupil.birth_date, today):
        birthday = date_turning(pupil.birth_date, MINIMUM_AGE)
        return SkippedInvite(pupil.id, pupil.id, UNDER_13, birthday, name=pupil.full_name)
    return None


def _unreachable(candidate: _Candidate, today: date) -> SkippedInvite:
    pupil = candidate.pupil
    # An adult's code never goes to a guardian without consent: only their own wish counts.
    shared = pupil is None or guardians_may_receive(pupil, today)
    who = [candidate.addressee, *(candidate.guardians if shared else ())]
    opted_out = any(p.preference == ContactPreference.NONE for p in who)
    reason = CONTACT_NONE if opted_out else UNREACHABLE if shared else ADULT_NO_CONTACT
    pupil_id = candidate.pupil.id if candidate.pupil else None
    return SkippedInvite(
        candidate.addressee.id, pupil_id, reason, name=candidate.addressee.full_name
    )


async def _candidates(
    tx: Repositories, class_ref: str | None, person_ref: str | None, with_staff: bool
) -> list[_Candidate]:
    if person_ref is not None:
        person = await require_person(tx, person_ref)
        pupil = person if person.role == Role.PUPIL else None
        guardians = list((await tx.roster.persons(person.guardian_ids)).values())
        classes = [
            c
            for enrollment in await tx.roster.enrollments_of(person.id)
            for c in await tx.roster.find_classes(enrollment.class_id)
        ]
        codes = ", ".join(sorted({c.code for c in classes}))
        ids = tuple(sorted({c.id for c in classes}))
        return [_Candidate(person, pupil, guardians, codes, ids)]
    assert class_ref is not None
    school_class = await resolve_class(tx, class_ref)
    roster = await tx.roster.class_roster(school_class.id)
    found = [
        _Candidate(
            member,
            member,
            [roster.guardians[g] for g in member.guardian_ids if g in roster.guardians],
            school_class.code,
            (school_class.id,),
        )
        for member in roster.pupils
    ]
    if with_staff:
        found += [
            _Candidate(staff, None, [], school_class.code, (school_class.id,))
            for staff in roster.staff
        ]
    return found


async def _platforms(ctx: Context, tx: Repositories, class_ids: Iterable[str]) -> tuple[str, ...]:
    """The chat apps to explain: those the school configured and those the classes have a group
    on (a group a teacher bound on a platform this process has no settings for counts too)."""
    names = set(ctx.policy.chat_bots)
    for class_id in class_ids:
        names.update(
            g.platform
            for g in await tx.groups.list(class_id)
            if g.state not in (GroupState.LOST, GroupState.ARCHIVED)
        )
    names -= NOT_AN_APP
    known = [p for p in PLATFORM_ORDER if p in names]
    return (*known, *sorted(names - set(PLATFORM_ORDER)))


@dataclass
class _Issuing:
    """What every code made in one transaction shares: its moment and lifetime, the bot's
    names, and per set of classes the apps an invitation explains and the school it is from."""

    now: datetime
    today: date
    expires: datetime
    expires_on: str
    telegram_bot: str | None
    matrix_bot: str | None
    platforms_of: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    schools_of: dict[tuple[str, ...], str] = field(default_factory=dict)
    revoked: int = 0

    @classmethod
    async def start(cls, ctx: Context, tx: Repositories, now: datetime) -> _Issuing:
        expires = now + timedelta(days=ctx.policy.invite_valid_days)
        return cls(
            now=now,
            today=local_today(now, ctx.policy.timezone),
            expires=expires,
            expires_on=expires.astimezone(ctx.policy.timezone).date().isoformat(),
            telegram_bot=ctx.policy.chat_bots.get("telegram")
            or await tx.state.get("telegram", "username"),
            matrix_bot=ctx.policy.chat_bots.get("matrix"),
        )


RecipientKey = Callable[[str, Recipient], str]
"""The idempotency key of one recipient's invitation: (code hash, recipient) → key."""


def _code_key(code_hash: str, recipient: Recipient) -> str:
    # The key (a Message-ID, in logs) is derived from the slow hash, never from the code: a fast
    # digest of a 10-character code can be reversed.
    return notice_key("invite", code_hash, recipient.person_id, recipient.email)


async def _issue(
    ctx: Context,
    tx: Repositories,
    candidate: _Candidate,
    issuing: _Issuing,
    code_factory: Callable[[], str],
    key_of: RecipientKey = _code_key,
) -> IssuedInvite | SkippedInvite:
    """One person's code, replacing their earlier unused ones, and its e-mails or letters along
    `route_invite`; or why they get none. In the caller's transaction."""
    addressee, pupil = candidate.addressee, candidate.pupil
    if pupil is not None and (too_young := _too_young(pupil, issuing.today)) is not None:
        return too_young
    route = route_invite(
        addressee,
        pupil,
        today=issuing.today,
        guardians=candidate.guardians,
        pupil_email_from_age=(
            await _class_policy(ctx, tx, candidate.class_ids)
        ).pupil_email_from_age,
    )
    if route.channel == Channel.UNREACHABLE or not route.recipients:
        return _unreachable(candidate, issuing.today)
    classes = candidate.class_ids
    if classes not in issuing.platforms_of:
        issuing.platforms_of[classes] = await _platforms(ctx, tx, classes)
        issuing.schools_of[classes] = await school_name_for(
            tx.roster, ctx.policy, classes[0] if classes else None
        )
    platforms, school = issuing.platforms_of[classes], issuing.schools_of[classes]
    issuing.revoked += await _revoke_earlier(tx, addressee.id, issuing.now)
    code = code_factory()
    code_hash = hash_code(code)
    await tx.invites.add(Invite(code_hash, addressee.id, issuing.now, issuing.expires))
    telegram_bot, matrix_bot = issuing.telegram_bot, issuing.matrix_bot
    # One notice per recipient: each guardian gets a letter or e-mail addressed to them.
    for recipient in route.recipients:
        notice = InviteNotice(
            code=code,
            expires_on=issuing.expires_on,
            class_code=candidate.class_codes,
            school_name=school,
            recipient_name=recipient.name,
            audience=_audience(addressee, pupil, recipient.person_id),
            pupil_name=addressee.given_name if pupil is not None else None,
            pupil_full_name=addressee.full_name if pupil is not None else None,
            platforms=platforms,
            telegram_bot=telegram_bot if "telegram" in platforms else None,
            matrix_bot=matrix_bot if "matrix" in platforms else None,
        )
        await add_notice(
            tx,
            notice,
            person_id=addressee.id,
            route=replace(route, recipients=(recipient,)),
            key=key_of(code_hash, recipient),
        )
    pupil_id = pupil.id if pupil else None
    return IssuedInvite(
        addressee.id, pupil_id, code, route.channel, issuing.expires, addressee.full_name
    )


def _warn_without_telegram_link(issuing: _Issuing) -> None:
    if not issuing.telegram_bot and any("telegram" in p for p in issuing.platforms_of.values()):
        logger.warning(
            "invitations name Telegram without a link: the bot's username is unknown "
            "(set telegram.username, or start `klasbot run` once)"
        )


async def issue_invites(
    ctx: Context,
    *,
    class_ref: str | None = None,
    person_ref: str | None = None,
    with_staff: bool = False,
    actor: str | None = None,
    code_factory: Callable[[], str] = new_code,
) -> InviteRun:
    """Codes for a class's pupils (and its staff), or for one person, each replacing the
    person's earlier unused codes. No code for a pupil under 13 or without a birth date (rule 1),
    nor for anyone it cannot be sent to; they are listed in `InviteRun.skipped`. The codes, their
    letters or e-mails and the removal of the old ones are stored in one transaction."""
    results: list[IssuedInvite | SkippedInvite] = []
    async with ctx.db.transaction() as tx:
        issuing = await _Issuing.start(ctx, tx, ctx.clock.now())
        for candidate in await _candidates(tx, class_ref, person_ref, with_staff):
            results.append(await _issue(ctx, tx, candidate, issuing, code_factory))
        _warn_without_telegram_link(issuing)
        run = InviteRun(results, issuing.revoked)
        await ctx.audit(
            tx,
            "invites-created",
            actor,
            [r.person_id for r in results],
            count=len(run.issued),
            replaced=issuing.revoked,
            skipped={s.person_id: s.reason for s in run.skipped},
        )
    return run


async def current_code(tx: Repositories, person_id: str) -> Invite | None:
    """The latest code made for a person (used, expired or still valid), None when they have
    none. An earlier unused code is removed when a new one is made, so only the latest can be
    unused."""
    found = await tx.invites.of_person(person_id)
    return found[-1] if found else None


async def unused_code(tx: Repositories, person_id: str, now: datetime) -> Invite | None:
    """The pupil's code that is neither used nor expired at `now`, if any."""
    invite = await current_code(tx, person_id)
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    return invite


BIRTHDAY_INVITE = "birthday-invite"
"""The audit event (and outbox key prefix) of a code sent because a pupil turned 13 (B.1)."""


async def invite_on_birthday(
    ctx: Context,
    tx: Repositories,
    pupil_id: str,
    birthday: date,
    now: datetime,
    *,
    code_factory: Callable[[], str] = new_code,
) -> IssuedInvite | SkippedInvite | None:
    """SPEC "Linking accounts": on a pupil's 13th birthday (`birthday`, their
    `date_turning(…, 13)`) they get their code as `issue_invites` would send it for their class,
    in the caller's transaction, audited as `BIRTHDAY_INVITE`. Nothing (None) for a pupil who
    has an account already, holds a code that is neither used nor expired, or whose birthday
    code was queued before (its outbox keys are the pupil's and the birthday's, so running this
    twice sends nothing twice); a `SkippedInvite` when there is nothing to send it by (or they
    are not 13 at `now` after all)."""
    if await tx.accounts.of_person(pupil_id) or await unused_code(tx, pupil_id, now):
        return None
    [candidate] = await _candidates(tx, None, pupil_id, False)

    def birthday_key(_code_hash: str, recipient: Recipient) -> str:
        return notice_key(
            BIRTHDAY_INVITE, pupil_id, birthday.isoformat(), recipient.person_id, recipient.email
        )

    if candidate.pupil is not None:
        route = route_invite(
            candidate.addressee,
            candidate.pupil,
            today=local_today(now, ctx.policy.timezone),
            guardians=candidate.guardians,
            pupil_email_from_age=(
                await _class_policy(ctx, tx, candidate.class_ids)
            ).pupil_email_from_age,
        )
        keys = [birthday_key("", r) for r in route.recipients]
        if keys and await tx.outbox.existing_keys(keys):
            return None
    issuing = await _Issuing.start(ctx, tx, now)
    result = await _issue(ctx, tx, candidate, issuing, code_factory, birthday_key)
    _warn_without_telegram_link(issuing)
    if isinstance(result, IssuedInvite):
        await ctx.audit(
            tx,
            BIRTHDAY_INVITE,
            None,
            [pupil_id],
            birthday=birthday.isoformat(),
            channel=result.channel.value,
            replaced=issuing.revoked,
        )
    else:
        await ctx.audit(
            tx,
            BIRTHDAY_INVITE,
            None,
            [pupil_id],
            birthday=birthday.isoformat(),
            skipped=result.reason,
        )
    return result


async def _revoke_earlier(tx: Repositories, person_id: str, now: datetime) -> int:
    """Remove the person's unused codes, and their e-mails and letters that have not gone out
    yet (a household must not get a code that no longer works); the number of codes removed."""
    removed = await tx.invites.revoke_unused(person_id)
    if removed:
        cancelled = await tx.outbox.cancel_notices(person_id, InviteNotice.template, now)
        await forget_codes(tx, await tx.outbox.get(cancelled))
    return len(removed)


async def create_invites(
    ctx: Context,
    *,
    class_ref: str | None = None,
    person_ref: str | None = None,
    with_staff: bool = False,
    actor: str | None = None,
    code_factory: Callable[[], str] = new_code,
) -> list[IssuedInvite]:
    """The codes `issue_invites` made."""
    run = await issue_invites(
        ctx,
        class_ref=class_ref,
        person_ref=person_ref,
        with_staff=with_staff,
        actor=actor,
        code_factory=code_factory,
    )
    return run.issued

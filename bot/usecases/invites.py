"""Link codes (invites): a personal, single-use code per eligible pupil (and staff, guardians),
sent through the outbox along the route `bot.routing.route_invite` chooses.

Only a code's hash is stored (`bot.codes`): the code itself exists in this process while its
e-mail or letter is queued and is returned to the caller (`klasbot invites create --json`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.codes import hash_code
from bot.domain import Channel, Invite, Person, Role
from bot.notices import InviteNotice
from bot.outbox import add_notice, notice_key
from bot.routing import route_invite
from bot.rules.age import is_old_enough
from bot.usecases.context import Context, require_person, resolve_class


@dataclass(frozen=True)
class IssuedInvite:
    person_id: str
    pupil_id: str | None
    code: str
    channel: Channel
    expires_at: datetime
    error: str | None = None


def new_code() -> str:
    """Ten characters from an alphabet without look-alikes (no 0/O, 1/I/L): easy to type."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _audience(addressee: Person, pupil: Person | None, recipient_id: str) -> str:
    if pupil is None:
        return "person"
    return "pupil" if recipient_id == addressee.id else "guardian"


async def create_invites(
    ctx: Context,
    *,
    class_ref: str | None = None,
    person_ref: str | None = None,
    with_staff: bool = False,
    actor: str | None = None,
    code_factory: Callable[[], str] = new_code,
) -> list[IssuedInvite]:
    """Codes for a class's eligible pupils (and its staff), or for one person. Pupils under 13
    get none (rule 1). The code and its letter or e-mail are stored in one transaction."""
    now = ctx.clock.now()
    today = ctx.today()
    expires = now + timedelta(days=ctx.policy.invite_valid_days)
    expires_on = expires.astimezone(ctx.policy.timezone).date().isoformat()
    issued: list[IssuedInvite] = []
    async with ctx.db.transaction() as tx:
        plan: list[tuple[Person, Person | None, list[Person], str]] = []
        if person_ref is not None:
            person = await require_person(tx, person_ref)
            pupil = person if person.role == Role.PUPIL else None
            if pupil is not None and not is_old_enough(person.birth_date, today):
                return []
            guardians = list((await tx.roster.persons(person.guardian_ids)).values())
            codes = []
            for enrollment in await tx.roster.enrollments_of(person.id):
                codes += [c.code for c in await tx.roster.find_classes(enrollment.class_id)]
            klas = ", ".join(sorted(set(codes)))
            plan.append((person, pupil, guardians, klas))
        else:
            assert class_ref is not None
            school_class = await resolve_class(tx, class_ref)
            roster = await tx.roster.class_roster(school_class.id)
            for member in roster.pupils:
                if is_old_enough(member.birth_date, today):
                    guardians = [
                        roster.guardians[g] for g in member.guardian_ids if g in roster.guardians
                    ]
                    plan.append((member, member, guardians, school_class.code))
            if with_staff:
                plan.extend((staff, None, [], school_class.code) for staff in roster.staff)
        for addressee, pupil, guardians, klas in plan:
            code = code_factory()
            code_hash = hash_code(code)
            await tx.invites.add(Invite(code_hash, addressee.id, now, expires))
            route = route_invite(
                addressee,
                pupil,
                today=today,
                guardians=guardians,
                pupil_email_from_age=ctx.policy.pupil_email_from_age,
            )
            error = None
            if route.channel == Channel.UNREACHABLE:
                error = "unreachable: no e-mail address and no postal address"
            # One notice per recipient: each guardian gets a letter or e-mail addressed to them.
            for recipient in route.recipients:
                notice = InviteNotice(
                    code=code,
                    expires_on=expires_on,
                    class_code=klas,
                    school_name=ctx.policy.school_name,
                    recipient_name=recipient.name,
                    audience=_audience(addressee, pupil, recipient.person_id),
                    pupil_name=addressee.given_name if pupil is not None else None,
                    pupil_full_name=addressee.full_name if pupil is not None else None,
                )
                single = replace(route, recipients=(recipient,))
                await add_notice(
                    tx,
                    notice,
                    person_id=addressee.id,
                    route=single,
                    # The key (a Message-ID, in logs) is derived from the slow hash, never from
                    # the code: a fast digest of a 10-character code can be reversed.
                    key=notice_key("invite", code_hash, recipient.person_id, recipient.email),
                )
            issued.append(
                IssuedInvite(
                    addressee.id,
                    pupil.id if pupil else None,
                    code,
                    route.channel,
                    expires,
                    error,
                )
            )
        await ctx.audit(tx, "invites-created", actor, [p.id for p, *_ in plan], count=len(plan))
    return issued

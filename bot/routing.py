"""Rule 6: every pupil of the class is reached exactly once (protocol B.1, second paragraph).

For each pupil, exactly one `Route`: the class group when they are a linked, eligible member of
it; otherwise a fallback, always with the reason why (a group archived at the end of the school
year counts as no group). Fallback order:
1. e-mail to the pupil's own address when they are at least `pupil_email_from_age` (default 16;
   `None` switches it off);
2. e-mail to every guardian with an address;
3. one printed letter per distinct guardian household, or to the pupil's own address when no
   guardian has one;
4. `unreachable` — reported to the author and the admin, never silently dropped.
`ContactPreference.POST` skips e-mail for that person; `NONE` means never contact that person.

An adult pupil (`bot.rules.age.ADULT_AGE`, 18, on `today`) who has not consented that their
guardians receive it (`Person.share_with_guardians`) has a ladder of their own: their own e-mail
(whatever `pupil_email_from_age` says), else a letter to their own address, else `unreachable`
with the reason `adult-no-contact`. No guardian is ever a recipient of such a route. With consent
the adult has the ladder above. A pupil whose birth date is unknown is not taken for an adult.

This module is the whole ladder: the first route of an announcement (`route_class`), the route
after a channel failed for good (`route_after_failure`) and the route of a link code
(`route_invite`). Nothing else in klasbot chooses a channel for a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from bot.domain import (
    Channel,
    ContactPreference,
    Group,
    GroupState,
    Membership,
    Person,
    Reason,
    Recipient,
    Route,
)
from bot.rules.age import age_on, is_adult
from bot.rules.membership import Verdict, has_departed, is_present, pupil_age_verdict


@dataclass(frozen=True, slots=True)
class GroupView:
    """One of the class's groups, with who is in it (by person id) as the platform last told us."""

    group: Group
    min_age: int = 13
    members: frozenset[str] = field(default_factory=frozenset)
    departed: frozenset[str] = field(default_factory=frozenset)  # left or were removed
    linked: frozenset[str] = field(default_factory=frozenset)  # have an account on the platform


def group_view(
    group: Group, min_age: int, members: Mapping[str, Membership], linked: Iterable[str]
) -> GroupView:
    """The view routing needs of one group, from what the platform told us about its members.

    Only a person who still has an account on the platform counts as in the group (or as having
    left it): when their account was linked to someone else, whoever reads that account now is
    not them (reason `not-linked`)."""
    accounts = frozenset(linked)
    return GroupView(
        group=group,
        min_age=min_age,
        members=frozenset(p for p, m in members.items() if is_present(m.state) and p in accounts),
        departed=frozenset(
            p for p, m in members.items() if has_departed(m.state) and p in accounts
        ),
        linked=accounts,
    )


_AGE_REASONS = {
    Verdict.UNDER_13: Reason.UNDER_13,
    Verdict.AGE_UNKNOWN: Reason.AGE_UNKNOWN,
    Verdict.PLATFORM_AGE: Reason.PLATFORM_AGE,
}


def group_reason(
    pupil: Person, today: date, groups: Sequence[GroupView]
) -> tuple[int | None, Reason | None]:
    """(group id, None) when the pupil is reached in a group, else (None, the reason why not)."""
    base = pupil_age_verdict(pupil, today)
    if base in (Verdict.UNDER_13, Verdict.AGE_UNKNOWN):
        return None, _AGE_REASONS[base]
    # A group archived at the end of the school year is no group at all: its pupils fall back
    # with `no-group`, as before the class had one (not `group-lost`: nothing is broken).
    groups = [g for g in groups if g.group.state != GroupState.ARCHIVED]
    active = [g for g in groups if g.group.state == GroupState.ACTIVE]
    if not active:
        return None, Reason.GROUP_LOST if groups else Reason.NO_GROUP
    reasons: list[Reason] = []
    for view in sorted(active, key=lambda v: v.group.id):
        verdict = pupil_age_verdict(pupil, today, view.min_age)
        if verdict != Verdict.PUPIL:
            reasons.append(_AGE_REASONS[verdict])
        elif pupil.id in view.members:
            return view.group.id, None
        elif pupil.id in view.departed:
            reasons.append(Reason.LEFT_GROUP)
        elif pupil.id in view.linked:
            reasons.append(Reason.NOT_JOINED)
        else:
            reasons.append(Reason.NOT_LINKED)
    # The most telling reason wins when the class has groups on several platforms.
    for preferred in (Reason.LEFT_GROUP, Reason.NOT_JOINED, Reason.NOT_LINKED, Reason.PLATFORM_AGE):
        if preferred in reasons:
            return None, preferred
    return None, reasons[0]


def _recipient(person: Person, *, email: bool) -> Recipient:
    return Recipient(
        person_id=person.id,
        name=person.full_name,
        email=person.email if email else None,
        address=None if email else person.address,
    )


def _may_email(person: Person) -> bool:
    return bool(person.email) and person.preference == ContactPreference.DEFAULT


def _may_post(person: Person) -> bool:
    return person.address is not None and person.preference != ContactPreference.NONE


def guardians_may_receive(pupil: Person, today: date) -> bool:
    """Rule 6: whether what klasbot sends about `pupil` may go to their guardians on `today`:
    always for a minor (or a pupil of unknown age), for an adult only with their consent."""
    return pupil.share_with_guardians or not is_adult(pupil.birth_date, today)


def _own_route(pupil: Person, reason: Reason) -> Route:
    """An adult's route without their guardians: own e-mail, else own address, else nobody."""
    if _may_email(pupil):
        return Route(pupil.id, Channel.EMAIL, reason, (_recipient(pupil, email=True),))
    if _may_post(pupil):
        return Route(pupil.id, Channel.POST, reason, (_recipient(pupil, email=False),))
    return Route(pupil.id, Channel.UNREACHABLE, Reason.ADULT_NO_CONTACT)


def fallback(
    pupil: Person,
    reason: Reason,
    *,
    today: date,
    guardians: Iterable[Person],
    pupil_email_from_age: int | None,
) -> Route:
    """The fallback route for a pupil who is not reached in a group."""
    if not guardians_may_receive(pupil, today):
        return _own_route(pupil, reason)
    guardians = sorted(guardians, key=lambda g: g.id)
    old_enough_for_own_mail = (
        pupil_email_from_age is not None
        and pupil.birth_date is not None
        and age_on(pupil.birth_date, today) >= pupil_email_from_age
    )
    if old_enough_for_own_mail and _may_email(pupil):
        return Route(pupil.id, Channel.EMAIL, reason, (_recipient(pupil, email=True),))
    mailable = [g for g in guardians if _may_email(g)]
    if mailable:
        return Route(
            pupil.id, Channel.EMAIL, reason, tuple(_recipient(g, email=True) for g in mailable)
        )
    households: dict[str, Person] = {}
    for guardian in guardians:
        if _may_post(guardian) and guardian.address is not None:
            households.setdefault(guardian.address.household_key, guardian)
    if households:
        return Route(
            pupil.id,
            Channel.POST,
            reason,
            tuple(_recipient(g, email=False) for g in households.values()),
        )
    if _may_post(pupil):
        return Route(pupil.id, Channel.POST, reason, (_recipient(pupil, email=False),))
    return Route(pupil.id, Channel.UNREACHABLE, reason)


def route_pupil(
    pupil: Person,
    *,
    today: date,
    groups: Sequence[GroupView],
    guardians: Iterable[Person],
    pupil_email_from_age: int | None = 16,
) -> Route:
    group_id, reason = group_reason(pupil, today, groups)
    if group_id is not None:
        return Route(pupil.id, Channel.GROUP, None, group_id=group_id)
    assert reason is not None
    return fallback(
        pupil, reason, today=today, guardians=guardians, pupil_email_from_age=pupil_email_from_age
    )


def route_class(
    pupils: Sequence[Person],
    *,
    today: date,
    groups: Sequence[GroupView],
    guardians: Mapping[str, Person],
    pupil_email_from_age: int | None = 16,
) -> list[Route]:
    """Exactly one route per distinct pupil, in a stable order."""
    routes: dict[str, Route] = {}
    for pupil in sorted(pupils, key=lambda p: p.id):
        if pupil.id in routes:
            continue
        routes[pupil.id] = route_pupil(
            pupil,
            today=today,
            groups=groups,
            guardians=[guardians[g] for g in pupil.guardian_ids if g in guardians],
            pupil_email_from_age=pupil_email_from_age,
        )
    return list(routes.values())


_FAILURE_REASONS = {
    "blocked": Reason.BLOCKED,
    "group-lost": Reason.GROUP_LOST,
    "bounced": Reason.BOUNCED,
}


def failure_reason(why: str | None, reason: Reason | None) -> Reason:
    """The reason a delivery reports after its channel failed for good (`why`: "blocked",
    "group-lost", "bounced"); a failure without a known cause keeps the delivery's own reason."""
    return _FAILURE_REASONS.get(why or "", reason or Reason.BLOCKED)


def route_after_failure(
    person: Person | None,
    *,
    failed: Channel,
    why: str | None,
    reason: Reason | None,
    today: date,
    guardians: Iterable[Person],
    pupil_email_from_age: int | None,
    own_route: bool = False,
) -> Route | None:
    """The next channel for a delivery whose channel `failed` for good (`why`: "blocked",
    "group-lost", "bounced"), still one route per person; None when nothing is left
    (unreachable). After a bounce e-mail is off the table and paper is next; after paper, nothing.
    `own_route` is for notices addressed to the person themselves (an invite to staff)."""
    final_reason = failure_reason(why, reason)
    if person is None or failed == Channel.POST:
        return None
    guardians = list(guardians)
    if failed == Channel.EMAIL:
        person = replace(person, email=None)
        guardians = [replace(g, email=None) for g in guardians]
        pupil_email_from_age = None
    if own_route:
        route = route_invite(person, None, today=today, guardians=(), pupil_email_from_age=None)
    else:
        route = fallback(
            person,
            final_reason,
            today=today,
            guardians=guardians,
            pupil_email_from_age=pupil_email_from_age,
        )
    if route.channel == Channel.UNREACHABLE:
        return None
    return replace(route, reason=final_reason)


def route_invite(
    addressee: Person,
    pupil: Person | None,
    *,
    today: date,
    guardians: Iterable[Person],
    pupil_email_from_age: int | None,
) -> Route:
    """Where a link code goes: a pupil's code where their announcements would go (rule 6: an
    adult's to a guardian only with their consent); staff and guardians get their own code
    themselves, by e-mail when they have an address, else by letter."""
    if pupil is not None:
        return fallback(
            pupil,
            Reason.NOT_LINKED,
            today=today,
            guardians=guardians,
            pupil_email_from_age=pupil_email_from_age,
        )
    if _may_email(addressee):
        return Route(
            addressee.id, Channel.EMAIL, Reason.NOT_LINKED, (_recipient(addressee, email=True),)
        )
    if _may_post(addressee):
        return Route(
            addressee.id, Channel.POST, Reason.NOT_LINKED, (_recipient(addressee, email=False),)
        )
    return Route(addressee.id, Channel.UNREACHABLE, Reason.NOT_LINKED)

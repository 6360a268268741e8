"""Rule 7, who may do what: only a class's own staff announce in its group.

Protocol B.1: it is "een medewerker" who passes on lesson cancellations, homework and the like
through a functional group app for *their* pupils, so only staff enrolled as teacher of the class
may announce or schedule in it. School leadership receives reports (A.9) and escalations (B.3);
leading the school does not make someone a teacher of a class, so leadership announces only in a
class where it is enrolled as teacher. Pupils and guardians may link their account, read help and
report (A.9). A refusal is a `RuleViolation(rule="B.1", code="not-staff")` whose message tells the
person what they are known as, so that a mislinked account is noticed.

A person may hold several roles: staff rights come from any staff role (a teacher who is also a
parent is still staff), and a refusal names the staff role before the others.

All functions are pure.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from bot.domain import ClassRoster, Enrollment, EnrollmentRole, Person, Role
from bot.errors import RuleViolation
from bot.i18n import Msg

RULE = "B.1"

PUBLIC_COMMANDS: frozenset[str] = frozenset({"start", "help"})
"""What anyone may use, linked or not."""
LINKED_COMMANDS: frozenset[str] = PUBLIC_COMMANDS | {"melden", "taal"}
"""What anyone with a linked account may use: reporting is everyone's duty (A.9); choosing the
language the bot uses with them."""
STAFF_MEMBER_COMMANDS: frozenset[str] = LINKED_COMMANDS | {"escaleren"}
"""Escalating derailing communication to one's manager is every staff member's duty (B.3)."""
ALL_COMMANDS: frozenset[str] = STAFF_MEMBER_COMMANDS | {
    "lesuitval",
    "huiswerk",
    "herinnering",
    "uitje",
    "planning",
    "koppel",
    "intrekken",
    "correctie",
}
"""Everything, for staff enrolled as teacher somewhere (each class is still checked on its own)."""

NOT_LINKED = Msg(
    "Only teachers of {cls} may post announcements here, and this account is not linked yet. "
    "Link it first with /start CODE (the code you received from school)."
)
AS_PUPIL = Msg("Only teachers of {cls} may post announcements here; you are known as a pupil.")
AS_GUARDIAN = Msg(
    "Only teachers of {cls} may post announcements here; you are known as a parent/guardian."
)
AS_LEADERSHIP = Msg(
    "Only teachers of {cls} may post announcements here; as school leadership you can do so only "
    "in classes in which you are enrolled as a teacher."
)
AS_OTHER_TEACHER = Msg(
    "Only teachers of {cls} may post announcements here; you are not enrolled as a teacher of "
    "{cls}."
)
AS_OTHER = Msg(
    "Only teachers of {cls} may post announcements here; you are not known as a teacher."
)

_BY_ROLE: dict[Role, Msg] = {
    Role.PUPIL: AS_PUPIL,
    Role.GUARDIAN: AS_GUARDIAN,
    Role.LEADERSHIP: AS_LEADERSHIP,
    Role.TEACHER: AS_OTHER_TEACHER,
    Role.OTHER: AS_OTHER,
}


def is_staff_of_class(person_id: str, roster: ClassRoster) -> bool:
    """Whether the person is enrolled as teacher of the roster's class, or is its mentor."""
    return person_id in roster.mentor_ids or any(m.id == person_id for m in roster.staff)


def require_staff_of_class(person: Person | None, roster: ClassRoster) -> None:
    """Pass staff of the class; else raise `RuleViolation(rule="B.1", code="not-staff")`.

    `person` None means the platform account is linked to nobody. The message differs for an
    unlinked account, a pupil, a guardian, school leadership and staff of another class."""
    cls = roster.school_class.code
    if person is None:
        raise RuleViolation(NOT_LINKED, rule=RULE, code="not-staff", cls=cls, known_as="unlinked")
    if is_staff_of_class(person.id, roster):
        return
    known_as = _known_as(person)
    raise RuleViolation(
        _BY_ROLE[known_as], rule=RULE, code="not-staff", cls=cls, known_as=str(known_as)
    )


def _known_as(person: Person) -> Role:
    """The role a refusal names: a staff role when the person has one (a teacher who is also a
    parent is told they do not teach this class, not that they are a parent), else the main one."""
    if person.role.is_staff or not person.is_staff:
        return person.role
    return Role.TEACHER if person.has_role(Role.TEACHER) else Role.LEADERSHIP


def allowed_commands(person: Person | None, is_staff_anywhere: bool) -> frozenset[str]:
    """The canonical (Dutch) names of the chat commands this person may use at all.

    - nobody linked: `start`, `help`;
    - anyone linked: also `melden` (A.9);
    - staff (a teacher or leadership role, besides any other) not enrolled in any class: also
      `escaleren` (B.3);
    - `is_staff_anywhere` (enrolled as teacher of some class): every command.
    Whether a command may be used *in a given class* is `require_staff_of_class`'s decision."""
    if person is None:
        return PUBLIC_COMMANDS
    if is_staff_anywhere:
        return ALL_COMMANDS
    if person.is_staff:
        return STAFF_MEMBER_COMMANDS
    return LINKED_COMMANDS


def teaches_any(enrollments: Iterable[Enrollment]) -> bool:
    """Whether someone is enrolled as teacher of some class (and so may use the staff commands;
    each class is still checked with `require_staff_of_class`)."""
    return any(e.role == EnrollmentRole.TEACHER for e in enrollments)


def visible_commands(person: Person | None, is_staff_anywhere: bool) -> tuple[str, ...]:
    """What /help lists for this person: the commands they may use, in the grammar's order,
    leaving out what is not offered in chat yet."""
    from bot.commands import COMMANDS

    allowed = allowed_commands(person, is_staff_anywhere)
    return tuple(name for name, c in COMMANDS.items() if name in allowed and c.offered)


class Audience(enum.StrEnum):
    """Whom a platform's command menu is for, as far as the platform can tell them apart."""

    PRIVATE_CHAT = "private-chat"  # anyone, linked or not
    STAFF_CHAT = "staff-chat"  # the private chat of a linked staff member
    GROUP_ADMIN = "group-admin"  # administrators of a group (the teacher who binds it)
    GROUP_MEMBER = "group-member"  # members of a class group: only the bot posts (rule 3)


_MENUS: dict[Audience, tuple[str, ...]] = {
    Audience.PRIVATE_CHAT: ("start", "help", "melden", "taal"),
    Audience.STAFF_CHAT: (
        "lesuitval",
        "huiswerk",
        "herinnering",
        "uitje",
        "intrekken",
        "correctie",
        "planning",
        "melden",
        "escaleren",
        "taal",
        "help",
        "start",
    ),
    Audience.GROUP_ADMIN: ("koppel", "lesuitval", "huiswerk", "herinnering", "uitje", "help"),
    Audience.GROUP_MEMBER: (),
}
_MAY_USE: dict[Audience, frozenset[str]] = {
    Audience.PRIVATE_CHAT: LINKED_COMMANDS,
    Audience.STAFF_CHAT: ALL_COMMANDS,
    Audience.GROUP_ADMIN: ALL_COMMANDS,
    Audience.GROUP_MEMBER: frozenset(),
}


def menu(audience: Audience) -> tuple[str, ...]:
    """The commands a platform's menu shows to `audience`, most used first: never one that
    audience may not use (a pupil is not invited to try a teacher's command) nor one not offered
    yet. A menu cannot know who is linked, so a private chat shows reporting too."""
    from bot.commands import COMMANDS

    return tuple(
        name for name in _MENUS[audience] if name in _MAY_USE[audience] and COMMANDS[name].offered
    )


NOT_YOURS_TO_UNDO = Msg(
    "Only the author of announcement #{id} or a teacher of {cls} may withdraw or correct it."
)


def may_undo(person: Person | None, author_id: str, roster: ClassRoster) -> bool:
    """Whether `person` may withdraw or correct an announcement by `author_id` in the roster's
    class: its author, or staff of the class (a colleague covers for an absent author)."""
    if person is None:
        return False
    return person.id == author_id or is_staff_of_class(person.id, roster)


def require_may_undo(
    person: Person | None, announcement_id: int, author_id: str, roster: ClassRoster
) -> None:
    """Pass who `may_undo`; else raise `RuleViolation(rule="B.1", code="not-allowed")`."""
    if not may_undo(person, author_id, roster):
        raise RuleViolation(
            NOT_YOURS_TO_UNDO,
            rule=RULE,
            code="not-allowed",
            id=announcement_id,
            cls=roster.school_class.code,
        )


NOT_YOURS_TO_CANCEL = Msg(
    "Only the author or a teacher of {cls} may cancel scheduled message {id}."
)


def require_may_cancel_schedule(
    person: Person | None, schedule_id: int, author_id: str, roster: ClassRoster
) -> None:
    """A schedule is cancelled by whoever `may_undo` an announcement of its author in its class
    (the author, or staff of the class); else raise `RuleViolation(code="not-allowed")`."""
    if not may_undo(person, author_id, roster):
        raise RuleViolation(
            NOT_YOURS_TO_CANCEL,
            rule=RULE,
            code="not-allowed",
            id=schedule_id,
            cls=roster.school_class.code,
        )

"""Rule 7, who may do what: only a class's own staff announce in its group.

Protocol B.1: it is "een medewerker" who passes on lesson cancellations, homework and the like
through a functional group app for *their* pupils, so only staff enrolled as teacher of the class
may announce or schedule in it. School leadership receives reports (A.9) and escalations (B.3);
leading the school does not make someone a teacher of a class, so leadership announces only in a
class where it is enrolled as teacher. Pupils and guardians may link their account, read help and
report (A.9). A refusal is a `RuleViolation(rule="B.1", code="not-staff")` whose message tells the
person what they are known as, so that a mislinked account is noticed.

All functions are pure.
"""

from __future__ import annotations

from bot.domain import ClassRoster, Person, Role
from bot.errors import RuleViolation
from bot.i18n import Msg

RULE = "B.1"

PUBLIC_COMMANDS: frozenset[str] = frozenset({"start", "help"})
"""What anyone may use, linked or not."""
LINKED_COMMANDS: frozenset[str] = PUBLIC_COMMANDS | {"melden"}
"""What anyone with a linked account may use: reporting is everyone's duty (A.9)."""
STAFF_MEMBER_COMMANDS: frozenset[str] = LINKED_COMMANDS | {"escaleren"}
"""Escalating derailing communication to one's manager is every staff member's duty (B.3)."""
ALL_COMMANDS: frozenset[str] = STAFF_MEMBER_COMMANDS | {
    "lesuitval",
    "huiswerk",
    "herinnering",
    "uitje",
    "planning",
    "koppel",
}
"""Everything, for staff enrolled as teacher somewhere (each class is still checked on its own)."""

NOT_LINKED = Msg(
    "Alleen docenten van {cls} mogen hier berichten plaatsen, en dit account is nog niet "
    "gekoppeld. Koppel het eerst met /start CODE (de code die u van school kreeg).",
    "Only teachers of {cls} may post announcements here, and this account is not linked yet. "
    "Link it first with /start CODE (the code you received from school).",
)
AS_PUPIL = Msg(
    "Alleen docenten van {cls} mogen hier berichten plaatsen; u bent als leerling bekend.",
    "Only teachers of {cls} may post announcements here; you are known as a pupil.",
)
AS_GUARDIAN = Msg(
    "Alleen docenten van {cls} mogen hier berichten plaatsen; u bent als ouder/verzorger bekend.",
    "Only teachers of {cls} may post announcements here; you are known as a parent/guardian.",
)
AS_LEADERSHIP = Msg(
    "Alleen docenten van {cls} mogen hier berichten plaatsen; als schoolleiding kunt u dat alleen "
    "in klassen waarin u als docent staat ingeschreven.",
    "Only teachers of {cls} may post announcements here; as school leadership you can do so only "
    "in classes in which you are enrolled as a teacher.",
)
AS_OTHER_TEACHER = Msg(
    "Alleen docenten van {cls} mogen hier berichten plaatsen; u staat niet als docent van {cls} "
    "ingeschreven.",
    "Only teachers of {cls} may post announcements here; you are not enrolled as a teacher of "
    "{cls}.",
)
AS_OTHER = Msg(
    "Alleen docenten van {cls} mogen hier berichten plaatsen; u bent niet als docent bekend.",
    "Only teachers of {cls} may post announcements here; you are not known as a teacher.",
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
    raise RuleViolation(
        _BY_ROLE[person.role], rule=RULE, code="not-staff", cls=cls, known_as=str(person.role)
    )


def allowed_commands(person: Person | None, is_staff_anywhere: bool) -> frozenset[str]:
    """The canonical (Dutch) names of the chat commands this person may use at all.

    - nobody linked: `start`, `help`;
    - anyone linked: also `melden` (A.9);
    - staff (teacher or leadership role) not enrolled in any class: also `escaleren` (B.3);
    - `is_staff_anywhere` (enrolled as teacher of some class): every command.
    Whether a command may be used *in a given class* is `require_staff_of_class`'s decision."""
    if person is None:
        return PUBLIC_COMMANDS
    if is_staff_anywhere:
        return ALL_COMMANDS
    if person.role.is_staff:
        return STAFF_MEMBER_COMMANDS
    return LINKED_COMMANDS

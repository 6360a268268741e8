"""Rule 3, the signature: every announcement names its author, their function and the school.

Protocol B.2: "dient de medewerker te vermelden dat hij medewerker is van [naam school] van de
Passie en welke functie hij heeft." The bot posts on the author's behalf, so it signs each
announcement `— J. de Vries, mentor 2B, De Passie Utrecht`: name, function in this class, school.

The function is "mentor" for the class's mentor and "docent" (teacher) for its other staff,
including school leadership enrolled as teacher. All functions are pure.
"""

from __future__ import annotations

from bot.domain import ClassRoster, Person
from bot.i18n import Msg

MENTOR = Msg("mentor {cls}")
TEACHER = Msg("teacher {cls}")


def author_function(author: Person, roster: ClassRoster, lang: str = "nl") -> str:
    """`mentor 2B` or `docent 2B` (`teacher 2B`) for staff of the roster's class.

    Raises ValueError for anyone else: B.2 demands a true function, and only staff of the class
    may announce in it (authorize first, with `bot.rules.authorization`)."""
    cls = roster.school_class.code
    if author.id in roster.mentor_ids:
        return MENTOR(lang, cls=cls)
    if any(member.id == author.id for member in roster.staff):
        return TEACHER(lang, cls=cls)
    raise ValueError(f"{author.id} is not staff of class {cls}; it has no function to sign with")


def signature(
    author: Person, roster: ClassRoster, lang: str = "nl", school_name: str | None = None
) -> str:
    """`— J. de Vries, mentor 2B, De Passie Utrecht` (an em dash, then name, function, school).
    `school_name` is the school's name as configured (`SchoolPolicy.name_of_school`); without
    it, or when blank, the roster's."""
    function = author_function(author, roster, lang)
    school = (school_name or "").strip() or roster.school.name
    return f"\u2014 {author.signature_name}, {function}, {school}"

"""Rule 3 (B.2): announcements are signed with name, function and school."""

from __future__ import annotations

import pytest

from bot.domain import ClassRoster, Person, Role, School, SchoolClass
from bot.rules.signature import author_function, signature

SCHOOL = School("s1", "De Passie Utrecht")
MENTOR = Person("t-mentor", Role.TEACHER, "Jan", "Vries", "de")
TEACHER = Person("t-wis", Role.TEACHER, "Fatima", "Bakker")
LEADER_TEACHING = Person("l-teach", Role.LEADERSHIP, "Ria", "Berg", "van den")
LEADER = Person("l-only", Role.LEADERSHIP, "Piet", "Visser")
PUPIL = Person("p1", Role.PUPIL, "Zoë", "Berg", "van der")

ROSTER = ClassRoster(
    school_class=SchoolClass("c2b", "2B", "Klas 2B", "s1"),
    school=SCHOOL,
    pupils=(PUPIL,),
    staff=(MENTOR, TEACHER, LEADER_TEACHING),
    mentor_ids=frozenset({MENTOR.id}),
    guardians={},
)


@pytest.mark.parametrize(
    ("author", "nl", "en"),
    [
        (MENTOR, "mentor 2B", "mentor 2B"),
        (TEACHER, "docent 2B", "teacher 2B"),
        (LEADER_TEACHING, "docent 2B", "teacher 2B"),
    ],
)
def test_author_function(author: Person, nl: str, en: str) -> None:
    assert author_function(author, ROSTER) == nl
    assert author_function(author, ROSTER, "nl") == nl
    assert author_function(author, ROSTER, "en") == en


@pytest.mark.parametrize(
    ("author", "lang", "expected"),
    [
        (MENTOR, "nl", "\u2014 J. de Vries, mentor 2B, De Passie Utrecht"),
        (MENTOR, "en", "\u2014 J. de Vries, mentor 2B, De Passie Utrecht"),
        (TEACHER, "nl", "\u2014 F. Bakker, docent 2B, De Passie Utrecht"),
        (TEACHER, "en", "\u2014 F. Bakker, teacher 2B, De Passie Utrecht"),
        (LEADER_TEACHING, "nl", "\u2014 R. van den Berg, docent 2B, De Passie Utrecht"),
    ],
)
def test_signature(author: Person, lang: str, expected: str) -> None:
    assert signature(author, ROSTER, lang) == expected


def test_signature_starts_with_an_em_dash() -> None:
    assert signature(MENTOR, ROSTER).startswith("\u2014 ")


def test_a_mentor_of_a_class_is_signed_as_mentor_even_when_also_listed_as_teacher() -> None:
    assert MENTOR in ROSTER.staff
    assert author_function(MENTOR, ROSTER) == "mentor 2B"


@pytest.mark.parametrize("author", [LEADER, PUPIL])
def test_someone_who_is_not_staff_of_the_class_has_no_function(author: Person) -> None:
    with pytest.raises(ValueError, match="not staff"):
        author_function(author, ROSTER)
    with pytest.raises(ValueError, match="not staff"):
        signature(author, ROSTER)

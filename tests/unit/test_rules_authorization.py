"""Rule 7 (B.1, B.3, A.9): who may announce in a class, and which commands each person has."""

from __future__ import annotations

import pytest

from bot.domain import ClassRoster, Person, Role, School, SchoolClass
from bot.errors import RuleViolation
from bot.rules.authorization import (
    ALL_COMMANDS,
    allowed_commands,
    is_staff_of_class,
    require_staff_of_class,
)

SCHOOL = School("s1", "De Passie Utrecht")
MENTOR = Person("t-mentor", Role.TEACHER, "Jan", "Vries", "de")
TEACHER = Person("t-wis", Role.TEACHER, "Fatima", "Bakker")
OTHER_TEACHER = Person("t-other", Role.TEACHER, "Kees", "Smit")
LEADER_TEACHING = Person("l-teach", Role.LEADERSHIP, "Ria", "Mulder")
LEADER = Person("l-only", Role.LEADERSHIP, "Piet", "Visser")
PUPIL = Person("p1", Role.PUPIL, "Zoë", "Berg", "van der")
GUARDIAN = Person("g1", Role.GUARDIAN, "Els", "Berg", "van der")
OTHER = Person("o1", Role.OTHER, "Tom", "Conciërge")

ROSTER_2B = ClassRoster(
    school_class=SchoolClass("c2b", "2B", "Klas 2B", "s1"),
    school=SCHOOL,
    pupils=(PUPIL,),
    staff=(MENTOR, TEACHER, LEADER_TEACHING),
    mentor_ids=frozenset({MENTOR.id}),
    guardians={GUARDIAN.id: GUARDIAN},
)
ROSTER_3A = ClassRoster(
    school_class=SchoolClass("c3a", "3A", "Klas 3A", "s1"),
    school=SCHOOL,
    pupils=(),
    staff=(OTHER_TEACHER,),
    mentor_ids=frozenset({OTHER_TEACHER.id}),
    guardians={},
)


@pytest.mark.parametrize(
    ("person", "roster", "expected"),
    [
        (MENTOR, ROSTER_2B, True),
        (TEACHER, ROSTER_2B, True),
        (LEADER_TEACHING, ROSTER_2B, True),
        (LEADER, ROSTER_2B, False),
        (OTHER_TEACHER, ROSTER_2B, False),
        (OTHER_TEACHER, ROSTER_3A, True),
        (MENTOR, ROSTER_3A, False),
        (PUPIL, ROSTER_2B, False),
        (GUARDIAN, ROSTER_2B, False),
        (OTHER, ROSTER_2B, False),
    ],
)
def test_is_staff_of_class(person: Person, roster: ClassRoster, expected: bool) -> None:
    assert is_staff_of_class(person.id, roster) is expected


def test_a_mentor_marked_only_in_mentor_ids_counts_as_staff() -> None:
    roster = ClassRoster(ROSTER_2B.school_class, SCHOOL, (), (), frozenset({MENTOR.id}), {})
    assert is_staff_of_class(MENTOR.id, roster)
    require_staff_of_class(MENTOR, roster)


@pytest.mark.parametrize("person", [MENTOR, TEACHER, LEADER_TEACHING])
def test_staff_of_the_class_may_announce(person: Person) -> None:
    require_staff_of_class(person, ROSTER_2B)


def refusal(person: Person | None, roster: ClassRoster = ROSTER_2B) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        require_staff_of_class(person, roster)
    assert caught.value.rule == "B.1"
    assert caught.value.code == "not-staff"
    return caught.value


@pytest.mark.parametrize(
    ("person", "nl", "en"),
    [
        (
            None,
            "Alleen docenten van 2B mogen hier berichten plaatsen, en dit account is nog niet "
            "gekoppeld. Koppel het eerst met /start CODE (de code van school).",
            "Only teachers of 2B may post announcements here, and this account is not linked "
            "yet. Link it first with /start CODE (the code you received from school).",
        ),
        (
            PUPIL,
            "Alleen docenten van 2B mogen hier berichten plaatsen; je bent als leerling bekend.",
            "Only teachers of 2B may post announcements here; you are known as a pupil.",
        ),
        (
            GUARDIAN,
            "Alleen docenten van 2B mogen hier berichten plaatsen; u bent als ouder/verzorger "
            "bekend.",
            "Only teachers of 2B may post announcements here; you are known as a parent/guardian.",
        ),
        (
            LEADER,
            "Alleen docenten van 2B mogen hier berichten plaatsen; als schoolleiding kun je dat "
            "alleen in klassen waarin je als docent staat ingeschreven.",
            "Only teachers of 2B may post announcements here; as school leadership you can do "
            "so only in classes in which you are enrolled as a teacher.",
        ),
        (
            OTHER_TEACHER,
            "Alleen docenten van 2B mogen hier berichten plaatsen; je staat niet als docent van 2B "
            "ingeschreven.",
            "Only teachers of 2B may post announcements here; you are not enrolled as a teacher "
            "of 2B.",
        ),
        (
            OTHER,
            "Alleen docenten van 2B mogen hier berichten plaatsen; dit account is niet als docent "
            "bekend.",
            "Only teachers of 2B may post announcements here; you are not known as a teacher.",
        ),
    ],
)
def test_refusals_say_what_the_person_is_known_as(person: Person | None, nl: str, en: str) -> None:
    error = refusal(person)
    assert str(error) == nl
    assert error.render("en") == en


def test_every_kind_of_refusal_reads_differently() -> None:
    people = [None, PUPIL, GUARDIAN, LEADER, OTHER_TEACHER, OTHER]
    assert len({str(refusal(p)) for p in people}) == len(people)


def test_staff_of_one_class_is_refused_in_another() -> None:
    require_staff_of_class(OTHER_TEACHER, ROSTER_3A)
    assert "3A" in str(refusal(MENTOR, ROSTER_3A))


def test_a_pupil_is_refused_even_in_their_own_class() -> None:
    assert PUPIL in ROSTER_2B.pupils
    assert "leerling" in str(refusal(PUPIL))


PUBLIC = {"start", "help"}
LINKED = PUBLIC | {"melden", "taal"}
STAFF_MEMBER = LINKED | {"escaleren"}
EVERYTHING = {
    "start",
    "help",
    "melden",
    "escaleren",
    "lesuitval",
    "huiswerk",
    "herinnering",
    "uitje",
    "planning",
    "koppel",
    "intrekken",
    "correctie",
    "taal",
}


@pytest.mark.parametrize(
    ("person", "is_staff_anywhere", "expected"),
    [
        (None, False, PUBLIC),
        (None, True, PUBLIC),  # an unlinked account is nobody, whatever the caller thinks
        (PUPIL, False, LINKED),
        (GUARDIAN, False, LINKED),
        (OTHER, False, LINKED),
        (LEADER, False, STAFF_MEMBER),
        (TEACHER, False, STAFF_MEMBER),  # a teacher without classes (yet)
        (TEACHER, True, EVERYTHING),
        (MENTOR, True, EVERYTHING),
        (LEADER_TEACHING, True, EVERYTHING),
    ],
)
def test_allowed_commands(
    person: Person | None, is_staff_anywhere: bool, expected: set[str]
) -> None:
    commands = allowed_commands(person, is_staff_anywhere)
    assert isinstance(commands, frozenset)
    assert commands == expected


def test_all_commands_are_the_canonical_dutch_names() -> None:
    assert ALL_COMMANDS == EVERYTHING

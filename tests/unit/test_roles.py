"""A person may hold several roles (issue 9): the import keeps all of them, in OneRoster 1.1 and
1.2, and each rule asks for the role it is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.oneroster import read_roster
from bot.domain import ClassRoster, Person, Role, School, SchoolClass
from bot.errors import RuleViolation
from bot.rules import authorization
from tests.unit.test_oneroster import LINE, add_row, issues_of, make_roster, persons, set_cell

# -- the domain -----------------------------------------------------------------------------------


def test_roles_always_hold_the_main_role() -> None:
    assert Person("t", Role.TEACHER, "Jan", "Vries").roles == {Role.TEACHER}
    both = Person("t", Role.TEACHER, "Jan", "Vries", roles=frozenset({Role.GUARDIAN}))
    assert both.roles == {Role.TEACHER, Role.GUARDIAN}
    assert both.has_role(Role.GUARDIAN)
    assert both.has_role(Role.TEACHER)
    assert not both.has_role(Role.PUPIL)
    same = Person("t", Role.TEACHER, "Jan", "Vries", roles=frozenset({Role.TEACHER, Role.GUARDIAN}))
    assert both == same
    assert hash(both) == hash(same)


@pytest.mark.parametrize(
    ("role", "others", "staff"),
    [
        (Role.TEACHER, (), True),
        (Role.LEADERSHIP, (), True),
        (Role.GUARDIAN, (), False),
        (Role.GUARDIAN, (Role.TEACHER,), True),
        (Role.GUARDIAN, (Role.LEADERSHIP,), True),
        (Role.PUPIL, (Role.GUARDIAN,), False),
    ],
)
def test_staff_through_any_role(role: Role, others: tuple[Role, ...], staff: bool) -> None:
    assert Person("x", role, "A", "B", roles=frozenset(others)).is_staff is staff


# -- the rules ------------------------------------------------------------------------------------

ROSTER = ClassRoster(
    school_class=SchoolClass("c-1", "1A", "Klas 1A", "org-1"),
    school=School("org-1", "Testschool"),
    pupils=(),
    staff=(),
    mentor_ids=frozenset(),
    guardians={},
)


def test_a_parent_who_also_teaches_has_staff_rights() -> None:
    parent_teacher = Person("g-t", Role.GUARDIAN, "Els", "Kok", roles=frozenset({Role.TEACHER}))
    assert authorization.allowed_commands(parent_teacher, False) == (
        authorization.STAFF_MEMBER_COMMANDS
    )
    assert "escaleren" in authorization.visible_commands(parent_teacher, False)
    assert authorization.allowed_commands(parent_teacher, True) == authorization.ALL_COMMANDS
    guardian = Person("g", Role.GUARDIAN, "Els", "Kok")
    assert authorization.allowed_commands(guardian, False) == authorization.LINKED_COMMANDS


@pytest.mark.parametrize(
    ("role", "others", "known_as"),
    [
        (Role.GUARDIAN, {Role.TEACHER}, "teacher"),  # told they do not teach 1A
        (Role.GUARDIAN, {Role.LEADERSHIP}, "leadership"),
        (Role.TEACHER, {Role.GUARDIAN}, "teacher"),
        (Role.LEADERSHIP, {Role.TEACHER}, "leadership"),
        (Role.GUARDIAN, set(), "guardian"),
        (Role.PUPIL, {Role.GUARDIAN}, "pupil"),
    ],
)
def test_a_refusal_names_the_staff_role_first(role: Role, others: set[Role], known_as: str) -> None:
    person = Person("x", role, "A", "B", roles=frozenset(others))
    with pytest.raises(RuleViolation) as info:
        authorization.require_staff_of_class(person, ROSTER)
    assert info.value.code == "not-staff"
    assert info.value.params["known_as"] == known_as


# -- the import -----------------------------------------------------------------------------------


def add_user(d: Path, version: str, sid: str, role: str, given: str, **values: str) -> None:
    extra = {"orgSourcedIds": "org-1", "role": role} if version == "1.1" else {}
    add_row(d, "users.csv", sourcedId=sid, enabledUser="true", username=sid, givenName=given,
            familyName="Test", **extra, **values)  # fmt: skip
    if version == "1.2":
        add_role(d, sid, role, primary=True)


def add_role(d: Path, user: str, role: str, *, primary: bool = False) -> None:
    add_row(d, "roles.csv", sourcedId=f"r-{user}-{role}", userSourcedId=user,
            roleType="primary" if primary else "secondary", role=role,
            orgSourcedId="org-1")  # fmt: skip


def second_class(d: Path, version: str) -> None:
    """Class c-2 (2B) with pupil p-3 and teacher a-1's colleague t-1 not in it."""
    add_row(d, "classes.csv", sourcedId="c-2", title="Klas 2B", courseSourcedId="crs-1",
            classCode="2B", classType="homeroom", schoolSourcedId="org-1",
            termSourcedIds="term-1")  # fmt: skip
    add_user(d, version, "p-3", "student", "Sem")
    add_row(d, "enrollments.csv", sourcedId="e-p3", classSourcedId="c-2",
            schoolSourcedId="org-1", userSourcedId="p-3", role="student")  # fmt: skip


def test_12_teacher_who_is_also_a_parent_keeps_both_roles_and_the_child(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    add_role(d, "t-1", "parent")  # primary teacher (and mentor of c-1), secondary parent
    set_cell(d, "users.csv", LINE["p-2"], "agentSourcedIds", "t-1")
    by_id = persons(d)
    teacher = by_id["t-1"]
    assert teacher.role is Role.TEACHER
    assert teacher.roles == {Role.TEACHER, Role.GUARDIAN}
    assert teacher.is_staff
    assert by_id["p-2"].guardian_ids == ("g-2", "t-1")  # g-2 lists p-2 itself


def test_12_parent_whose_secondary_role_is_teacher_teaches(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    add_role(d, "g-1", "teacher")  # primary parent of p-1, secondary teacher of c-1
    add_row(d, "enrollments.csv", sourcedId="e-g1", classSourcedId="c-1",
            schoolSourcedId="org-1", userSourcedId="g-1", role="teacher")  # fmt: skip
    snapshot = read_roster(d)
    by_id = {p.id: p for p in snapshot.persons}
    assert by_id["g-1"].roles == {Role.GUARDIAN, Role.TEACHER}
    assert by_id["g-1"].role is Role.TEACHER  # what the enrollment calls for
    assert by_id["p-1"].guardian_ids == ("g-1",)
    assert "g-1" in {e.person_id for e in snapshot.enrollments}


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_guardian_of_pupils_in_two_classes(tmp_path: Path, version: str) -> None:
    d = make_roster(tmp_path, version)
    second_class(d, version)
    set_cell(d, "users.csv", LINE["g-1"], "agentSourcedIds", "p-1,p-3")
    by_id = persons(d)
    assert by_id["p-1"].guardian_ids == ("g-1",)
    assert by_id["p-3"].guardian_ids == ("g-1",)
    assert by_id["g-1"].roles == {Role.GUARDIAN}


def test_12_administrator_who_teaches(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    add_role(d, "a-1", "teacher")  # primary principal, secondary teacher of c-1
    add_row(d, "enrollments.csv", sourcedId="e-a1", classSourcedId="c-1",
            schoolSourcedId="org-1", userSourcedId="a-1", role="teacher")  # fmt: skip
    add_role(d, "t-1", "siteAdministrator")  # primary teacher, secondary site administrator
    by_id = persons(d)
    assert by_id["a-1"].roles == {Role.LEADERSHIP, Role.TEACHER}
    assert by_id["a-1"].role is Role.TEACHER
    assert by_id["t-1"].roles == {Role.LEADERSHIP, Role.TEACHER}
    assert by_id["t-1"].role is Role.TEACHER
    assert by_id["t-1"].has_role(Role.LEADERSHIP)


def test_11_administrator_who_teaches(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.1")
    add_row(d, "enrollments.csv", sourcedId="e-a1", classSourcedId="c-1",
            schoolSourcedId="org-1", userSourcedId="a-1", role="teacher")  # fmt: skip
    by_id = persons(d)
    assert by_id["a-1"].roles == {Role.LEADERSHIP}
    assert by_id["a-1"].is_staff


@pytest.mark.parametrize("side", ["pupil", "teacher"])
def test_11_teacher_linked_as_agent_is_the_pupils_guardian(tmp_path: Path, side: str) -> None:
    d = make_roster(tmp_path, "1.1")
    if side == "pupil":
        set_cell(d, "users.csv", LINE["p-2"], "agentSourcedIds", "g-2,t-1")
    else:
        set_cell(d, "users.csv", LINE["t-1"], "agentSourcedIds", "p-2")
    by_id = persons(d)
    assert by_id["p-2"].guardian_ids == ("g-2", "t-1")
    assert by_id["t-1"].role is Role.TEACHER
    assert by_id["t-1"].roles == {Role.TEACHER, Role.GUARDIAN}
    assert by_id["t-1"].is_staff


def test_11_siblings_are_not_guardians(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.1")
    set_cell(d, "users.csv", LINE["p-2"], "agentSourcedIds", "p-1")
    by_id = persons(d)
    assert by_id["p-1"].guardian_ids == ("g-1",)
    assert by_id["p-2"].guardian_ids == ("g-2",)
    assert by_id["p-1"].roles == by_id["p-2"].roles == {Role.PUPIL}


def test_12_a_guardian_enrolled_as_teacher_is_still_refused(tmp_path: Path) -> None:
    d = make_roster(tmp_path, "1.2")
    line = add_row(d, "enrollments.csv", sourcedId="e-g1", classSourcedId="c-1",
                   schoolSourcedId="org-1", userSourcedId="g-1", role="teacher")  # fmt: skip
    [issue] = issues_of(d)
    assert (issue.file, issue.line, issue.column) == ("enrollments.csv", line, "role")

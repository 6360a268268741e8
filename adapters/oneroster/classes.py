"""orgs.csv, classes.csv and enrollments.csv: the schools, their classes and who is in which."""

from __future__ import annotations

from adapters.oneroster.columns import ENROLLMENT_ROLES, ORG_TYPES, V12
from adapters.oneroster.state import EnrollmentRow, Org, RosterState
from adapters.oneroster.values import (
    ENROLLMENT_ROLE_TERMS,
    ORG_TYPE_TERMS,
    bool_value,
    check_term,
    date_value,
    required_value,
)
from bot.domain import Enrollment, EnrollmentRole, Role, SchoolClass
from bot.i18n import Msg

# `enrolled` and `role` are OneRoster's own words (student, teacher, guardian, ...).
M_ROLE_MISMATCH = Msg("user '{user}' is enrolled as {enrolled} but has role {role}")
M_ENROLLED_TWICE = Msg(
    "user '{user}' is already enrolled in class '{klas}' as {enrolled} (line {first})"
)


def read_orgs(state: RosterState) -> None:
    table, rows = state.records("orgs")
    sid_at, name_at, type_at, identifier_at = map(
        table.column, ("sourcedId", "name", "type", "identifier")
    )
    for row in rows:
        line = table.line
        name = required_value(table, line, "name", row[name_at])
        org_type = required_value(table, line, "type", row[type_at])
        check_term(
            table, line, "type", org_type, ORG_TYPES, ORG_TYPE_TERMS, ext_ok=state.version == V12
        )
        state.orgs[row[sid_at]] = Org(name, org_type, row[identifier_at].strip())


def read_classes(state: RosterState) -> None:
    table, rows = state.records("classes")
    sid_at, title_at, code_at, school_at = map(
        table.column, ("sourcedId", "title", "classCode", "schoolSourcedId")
    )
    for row in rows:
        sid = row[sid_at]
        title = required_value(table, table.line, "title", row[title_at])
        school_id = row[school_at]
        state.required_ref(table, "schoolSourcedId", "orgs", school_id, deleted_ok=False)
        state.classes[sid] = SchoolClass(
            id=sid, code=row[code_at] or title, title=title, school_id=school_id
        )


def read_enrollments(state: RosterState) -> None:
    ext_ok = state.version == V12
    classes, users, enrollments = state.classes, state.users, state.enrollments
    required_ref = state.required_ref
    classes_known, users_known = state.known["classes"], state.known["users"]
    orgs_known = state.known["orgs"]
    roles = {"student": EnrollmentRole.STUDENT, "teacher": EnrollmentRole.TEACHER}
    table, rows = state.records("enrollments")
    class_at, school_at, user_at, role_at, primary_at, begin_at, end_at = map(
        table.column,
        (
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ),
    )
    for row in rows:
        line = table.line
        class_id, school_id, user_id = row[class_at], row[school_at], row[user_at]
        class_ok = class_id in classes_known or required_ref(
            table, "classSourcedId", "classes", class_id
        )
        if school_id not in orgs_known:
            required_ref(table, "schoolSourcedId", "orgs", school_id)
        user_ok = user_id in users_known or required_ref(table, "userSourcedId", "users", user_id)
        role = row[role_at]
        if role not in ENROLLMENT_ROLES:
            required_value(table, line, "role", role)
            check_term(
                table, line, "role", role, ENROLLMENT_ROLES, ENROLLMENT_ROLE_TERMS, ext_ok=ext_ok
            )
        primary = row[primary_at]
        if primary and primary != "true" and primary != "false":
            bool_value(table, line, "primary", primary)
        if row[begin_at]:
            date_value(table, line, "beginDate", row[begin_at])
        if row[end_at]:
            date_value(table, line, "endDate", row[end_at])
        enrolled_as = roles.get(role)
        if enrolled_as is None:
            continue  # administrator, proctor and ext: enrollments give no class membership
        if class_ok and user_ok and class_id in classes and user_id in users:
            enrollments.append(
                EnrollmentRow(
                    line,
                    class_id,
                    user_id,
                    enrolled_as,
                    # `primary` applies only to teachers (the mentor); two primaries in a class
                    # (a duo mentorship) only break a "should" and are kept.
                    enrolled_as is EnrollmentRole.TEACHER and primary == "true",
                )
            )


def check_enrollments(state: RosterState) -> tuple[Enrollment, ...]:
    """Check each enrollment against its user's role and merge repeated user/class pairs.

    Call after the users' roles are known (resolve_roles)."""
    result: dict[tuple[str, str], tuple[Enrollment, int]] = {}
    for e in state.enrollments:
        user = state.users[e.user_id]
        if user.role is not None:
            # Any of the user's roles will do: a teacher who is also a parent teaches.
            if e.role is EnrollmentRole.STUDENT:
                fits = Role.PUPIL in user.roles
            else:
                fits = any(role.is_staff for role in user.roles)
            if not fits:
                state.issue(
                    "enrollments.csv",
                    e.line,
                    "role",
                    M_ROLE_MISMATCH,
                    user=e.user_id,
                    enrolled=str(e.role),
                    role=", ".join(sorted(str(role) for role in user.roles)),
                )
                continue
        key = (e.class_id, e.user_id)
        if key in result:
            first, line = result[key]
            if first.role is not e.role:
                state.issue(
                    "enrollments.csv",
                    e.line,
                    "role",
                    M_ENROLLED_TWICE,
                    user=e.user_id,
                    klas=e.class_id,
                    enrolled=str(first.role),
                    first=line,
                )
            elif e.primary and not first.primary:
                result[key] = (Enrollment(e.class_id, e.user_id, e.role, True), line)
            continue
        result[key] = (Enrollment(e.class_id, e.user_id, e.role, e.primary), e.line)
    return tuple(enrollment for enrollment, _line in result.values())

"""users.csv, roles.csv (1.2) and demographics.csv: who the people are, their roles, their
birth dates and who is whose guardian.

A person may hold several roles (a teacher who is also a parent, a principal who teaches), and
every one of them is kept: each rule asks for the role it is about. 1.2 gives every role as a
roles.csv row. 1.1 has one `role` per users.csv row; there, a link in `agentSourcedIds` between a
pupil and a user who is not a pupil makes that user the pupil's guardian whatever their `role`
says (OneRoster: agents are "in most cases parental relationships", and a 1.1 record cannot carry
a second role), so a teacher exported once, as teacher, still reaches their own child. In 1.2 the
export can say it, so only a user with a guardian, parent or relative role is a guardian.
"""

from __future__ import annotations

from collections import defaultdict

from adapters.oneroster.columns import ROLE_TYPES, V11, V12
from adapters.oneroster.state import RoleRow, RosterState, User
from adapters.oneroster.values import (
    M_REQUIRED,
    ROLE_TYPE_TERMS,
    bool_value,
    check_term,
    date_value,
    email_value,
    required_value,
    split,
    user_role,
)
from bot.domain import EnrollmentRole, Role
from bot.i18n import Msg

M_NO_ROLE = Msg("no role: roles.csv has no row for this user")


def read_users(state: RosterState) -> None:
    for table, row, sid in state.records("users"):
        # enabledUser=false users are imported all the same: a disabled login account does not
        # mean the person left the school, and klasbot reaches them through its own channels.
        bool_value(table, row, "enabledUser", required=True)
        given = required_value(table, row, "givenName")
        family = required_value(table, row, "familyName")
        email = email_value(table, row, "email")
        role: Role | None = None
        org_ids: list[str] = []
        if state.version == V11:
            role = user_role(table, row, "role")
            org_ids = split(row["orgSourcedIds"])
            if not org_ids:
                table.issue(row.line, "orgSourcedIds", M_REQUIRED)
            for org_id in org_ids:
                state.ref(table.name, row.line, "orgSourcedIds", "orgs", org_id)
        elif row["primaryOrgSourcedId"]:
            org_id = row["primaryOrgSourcedId"]
            state.ref(table.name, row.line, "primaryOrgSourcedId", "orgs", org_id)
            org_ids = [org_id]
        # Staff, mail and letters use the school's legal names; the name a pupil is called by
        # (1.2 `preferredGivenName`) is kept for rule 5, which must recognise it too (A.2).
        preferred = row["preferredGivenName"].strip()
        state.users[sid] = User(
            line=row.line,
            given_name=given,
            family_name=family,
            middle_name=row["middleName"],
            email=email,
            role=role,
            agents=tuple(split(row["agentSourcedIds"])),
            roles={role} if role is not None else set(),
            preferred_given_name=preferred if preferred != given else "",
            # Every org named (an unknown one is an issue of its own, above); 1.2 adds the orgs
            # of the user's roles (`resolve_roles`).
            org_ids=set(org_ids),
            username=row["username"].strip() or None,
        )


def read_roles(state: RosterState) -> None:
    for table, row, _sid in state.records("roles"):
        user_id, user_ok = state.required_ref(table, row, "userSourcedId", "users")
        role_type = required_value(table, row, "roleType")
        check_term(table, row, "roleType", ROLE_TYPES, ROLE_TYPE_TERMS)
        role = user_role(table, row, "role")
        org_id, _org_ok = state.required_ref(table, row, "orgSourcedId", "orgs")
        date_value(table, row, "beginDate")
        date_value(table, row, "endDate")
        if user_ok:
            # Registered even when the role is invalid: that row has its own issue, and a
            # second "no role" issue for the user would only repeat it.
            rows = state.user_roles[user_id]
            if role is not None:
                rows.append(RoleRow(row.line, role_type == "primary", role, org_id))


def read_demographics(state: RosterState) -> None:
    for table, row, sid in state.records("demographics"):
        user_ok = state.ref(table.name, row.line, "sourcedId", "users", sid)
        birth_date = date_value(table, row, "birthDate")
        if user_ok and birth_date is not None:
            state.birth_dates[sid] = birth_date


def resolve_roles(state: RosterState) -> None:
    """1.2: each user's roles from roles.csv (1.1 has the one role on users.csv already).

    Every role is kept. The main role is the one their enrollments call for (a teacher who is
    also principal, and teaches a class, is a TEACHER: the class needs them as its staff);
    otherwise the primary role, else the first one listed."""
    if state.version != V12:
        return
    enrolled: dict[str, set[EnrollmentRole]] = defaultdict(set)
    for enrollment in state.enrollments:
        enrolled[enrollment.user_id].add(enrollment.role)
    for user_id, user in state.users.items():
        if user_id not in state.user_roles:
            if "roles" in state.complete:
                state.issue("users.csv", user.line, "sourcedId", M_NO_ROLE)
            continue
        rows = state.user_roles[user_id]
        if not rows:
            continue  # its only roles.csv rows had an invalid role (already reported)
        roles = {r.role for r in rows}
        user.roles = roles
        user.org_ids.update(r.org_id for r in rows if r.org_id)
        if EnrollmentRole.TEACHER in enrolled[user_id] and Role.TEACHER in roles:
            user.role = Role.TEACHER
        elif EnrollmentRole.STUDENT in enrolled[user_id] and Role.PUPIL in roles:
            user.role = Role.PUPIL
        else:
            primary = [r for r in rows if r.primary]
            user.role = (primary or rows)[0].role


def guardian_links(state: RosterState) -> dict[str, set[str]]:
    """Pupil id -> guardian ids, from `agentSourcedIds` on either side (their union).

    A link counts when one side is a pupil and the other holds a guardian role (1.2), or is not
    a pupil (1.1, which then gives that user the guardian role too; see the module's docstring).
    Other pairs (sibling to sibling; in 1.2 a user without a guardian role) are ignored."""
    links: dict[str, set[str]] = defaultdict(set)
    for user_id, user in state.users.items():
        for agent_id in user.agents:
            agent = state.users.get(agent_id)
            if agent is None:
                # Reports an unknown id; a damaged or deleted agent is no guardian, silently.
                state.ref("users.csv", user.line, "agentSourcedIds", "users", agent_id)
                continue
            if agent_id == user_id:
                continue
            if _may_guard(state, agent, user):
                links[user_id].add(agent_id)
            elif _may_guard(state, user, agent):
                links[agent_id].add(user_id)
    if state.version == V11:
        for guardian_ids in links.values():
            for guardian_id in guardian_ids:
                state.users[guardian_id].roles.add(Role.GUARDIAN)
    return links


def _may_guard(state: RosterState, guardian: User, pupil: User) -> bool:
    if Role.PUPIL not in pupil.roles:
        return False
    if Role.GUARDIAN in guardian.roles:
        return True
    return state.version == V11 and guardian.role is not None and Role.PUPIL not in guardian.roles

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

from adapters.oneroster.columns import ROLE_TYPES, USER_ROLES, V11, V12
from adapters.oneroster.state import RosterState, User
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
    v11 = state.version == V11
    users, shared = state.users, state.shared
    no_roles: frozenset[Role] = shared(frozenset())
    # The checks of `values` are called only where a value is not the usual one: a big export's
    # rows are read at a fraction of the calls.
    for table, row, sid in state.records("users"):
        # enabledUser=false users are imported all the same: a disabled login account does not
        # mean the person left the school, and klasbot reaches them through its own channels.
        if row["enabledUser"] not in _BOOLEANS:
            bool_value(table, row, "enabledUser", required=True)
        given = row["givenName"] or required_value(table, row, "givenName")
        family = row["familyName"] or required_value(table, row, "familyName")
        email = email_value(table, row, "email") if row["email"] else None
        role: Role | None = None
        org_ids: tuple[str, ...] = ()
        if v11:
            role = user_role(table, row, "role")
            org_ids = tuple(split(row["orgSourcedIds"]))
            if not org_ids:
                table.issue(row.line, "orgSourcedIds", M_REQUIRED)
            for org_id in org_ids:
                state.ref(table.name, row.line, "orgSourcedIds", "orgs", org_id)
            if len(org_ids) > 1:
                org_ids = tuple(sorted(set(org_ids)))
        elif org_id := row["primaryOrgSourcedId"]:
            state.ref(table.name, row.line, "primaryOrgSourcedId", "orgs", org_id)
            org_ids = (org_id,)
        # Staff, mail and letters use the school's legal names; the name a pupil is called by
        # (1.2 `preferredGivenName`) is kept for rule 5, which must recognise it too (A.2).
        preferred = row["preferredGivenName"]
        if preferred:
            preferred = preferred.strip()
            if preferred == given:
                preferred = ""
        agents = row["agentSourcedIds"]
        username = row["username"]
        users[sid] = User(
            row.line,
            given,
            family,
            row["middleName"],
            email,
            role,
            tuple(split(agents)) if agents else (),
            shared(frozenset((role,))) if role is not None else no_roles,
            preferred,
            # Every org named (an unknown one is an issue of its own, above); 1.2 adds the orgs
            # of the user's roles (`read_roles`).
            shared(org_ids),
            (username.strip() or None) if username else None,
        )


_BOOLEANS = frozenset(("true", "false"))


def read_roles(state: RosterState) -> None:
    users, shared = state.users, state.shared
    for table, row, _sid in state.records("roles"):
        user_id, user_ok = state.required_ref(table, row, "userSourcedId", "users")
        role_type = row["roleType"]
        if role_type not in ROLE_TYPES:
            required_value(table, row, "roleType")
            check_term(table, row, "roleType", ROLE_TYPES, ROLE_TYPE_TERMS)
        role = USER_ROLES.get(row["role"]) or user_role(table, row, "role")
        org_id, _org_ok = state.required_ref(table, row, "orgSourcedId", "orgs")
        if row["beginDate"]:
            date_value(table, row, "beginDate")
        if row["endDate"]:
            date_value(table, row, "endDate")
        user = users.get(user_id) if user_ok else None
        if user is None:
            continue
        # Counted even when the role is invalid: that row has its own issue, and a second
        # "no role" issue for the user would only repeat it.
        user.role_rows += 1
        if role is None:
            continue
        if user.first_role is None:
            user.first_role = role
        if user.primary_role is None and role_type == "primary":
            user.primary_role = role
        if role not in user.roles:
            user.roles = shared(user.roles | {role})
        if org_id and org_id not in user.org_ids:
            user.org_ids = shared(tuple(sorted((*user.org_ids, org_id))))


def read_demographics(state: RosterState) -> None:
    for table, row, sid in state.records("demographics"):
        user_ok = state.ref(table.name, row.line, "sourcedId", "users", sid)
        birth_date = date_value(table, row, "birthDate")
        if user_ok and birth_date is not None:
            state.birth_dates[sid] = birth_date


def resolve_roles(state: RosterState) -> None:
    """1.2: each user's main role (1.1 has the one role on users.csv already; `read_roles` keeps
    every role and school of the roles.csv rows).

    The main role is the one their enrollments call for (a teacher who is also principal, and
    teaches a class, is a TEACHER: the class needs them as its staff); otherwise the primary
    role, else the first one listed."""
    if state.version != V12:
        return
    enrolled: dict[str, set[EnrollmentRole]] = defaultdict(set)
    for enrollment in state.enrollments:
        enrolled[enrollment.user_id].add(enrollment.role)
    roles_known = "roles" in state.complete
    for user_id, user in state.users.items():
        if not user.role_rows:
            if roles_known:
                state.issue("users.csv", user.line, "sourcedId", M_NO_ROLE)
            continue
        if user.first_role is None:
            continue  # its only roles.csv rows had an invalid role (already reported)
        roles, enrolled_as = user.roles, enrolled.get(user_id, ())
        if EnrollmentRole.TEACHER in enrolled_as and Role.TEACHER in roles:
            user.role = Role.TEACHER
        elif EnrollmentRole.STUDENT in enrolled_as and Role.PUPIL in roles:
            user.role = Role.PUPIL
        else:
            user.role = user.primary_role or user.first_role


def guardian_links(state: RosterState) -> dict[str, list[str]]:
    """Pupil id -> guardian ids, from `agentSourcedIds` on either side (their union).

    A link counts when one side is a pupil and the other holds a guardian role (1.2), or is not
    a pupil (1.1, which then gives that user the guardian role too; see the module's docstring).
    Other pairs (sibling to sibling; in 1.2 a user without a guardian role) are ignored."""
    links: dict[str, list[str]] = defaultdict(list)
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
                pupil_id, guardian_id = user_id, agent_id
            elif _may_guard(state, user, agent):
                pupil_id, guardian_id = agent_id, user_id
            else:
                continue
            guardians = links[pupil_id]
            if guardian_id not in guardians:  # named on both sides
                guardians.append(guardian_id)
    if state.version == V11:
        for guardian_ids in links.values():
            for guardian_id in guardian_ids:
                guardian = state.users[guardian_id]
                if Role.GUARDIAN not in guardian.roles:
                    guardian.roles = state.shared(guardian.roles | {Role.GUARDIAN})
    return links


def _may_guard(state: RosterState, guardian: User, pupil: User) -> bool:
    if Role.PUPIL not in pupil.roles:
        return False
    if Role.GUARDIAN in guardian.roles:
        return True
    return state.version == V11 and guardian.role is not None and Role.PUPIL not in guardian.roles

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

from datetime import date

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
    split_ids,
    user_role,
)
from bot.domain import EnrollmentRole, Role
from bot.i18n import Msg

M_NO_ROLE = Msg("no role: roles.csv has no row for this user")


def read_users(state: RosterState) -> None:
    v11 = state.version == V11
    users, shared, ref = state.users, state.shared, state.ref
    orgs_known, with_agents = state.known["orgs"], state.with_agents
    no_roles: frozenset[Role] = shared(frozenset())
    role_sets: dict[Role, frozenset[Role]] = {}
    one_org: dict[str, tuple[str, ...]] = {}
    table, rows = state.records("users")
    name = table.name
    (
        sid_at,
        enabled_at,
        given_at,
        family_at,
        middle_at,
        email_at,
        role_at,
        orgs_at,
        primary_org_at,
        preferred_at,
        agents_at,
        username_at,
    ) = map(
        table.column,
        (
            "sourcedId",
            "enabledUser",
            "givenName",
            "familyName",
            "middleName",
            "email",
            "role",
            "orgSourcedIds",
            "primaryOrgSourcedId",
            "preferredGivenName",
            "agentSourcedIds",
            "username",
        ),
    )
    # The checks of `values` are called only where a value is not the usual one: a big export's
    # rows are read at a fraction of the calls.
    for row in rows:
        line = table.line
        # enabledUser=false users are imported all the same: a disabled login account does not
        # mean the person left the school, and klasbot reaches them through its own channels.
        enabled = row[enabled_at]
        if enabled != "true" and enabled != "false":
            bool_value(table, line, "enabledUser", enabled, required=True)
        given = row[given_at] or required_value(table, line, "givenName", "")
        family = row[family_at] or required_value(table, line, "familyName", "")
        email: str | None = row[email_at] or None
        if email is not None:
            email = email_value(table, line, "email", email)
        role: Role | None = None
        org_ids: tuple[str, ...] = ()
        if v11:
            role = user_role(table, line, "role", row[role_at])
            org_ids = tuple(split(row[orgs_at]))
            if not org_ids:
                table.issue(line, "orgSourcedIds", M_REQUIRED)
            for org_id in org_ids:
                ref(name, line, "orgSourcedIds", "orgs", org_id)
            if len(org_ids) > 1:
                org_ids = tuple(sorted(set(org_ids)))
            org_ids = shared(org_ids)
        elif org_id := row[primary_org_at]:
            if org_id not in orgs_known:
                ref(name, line, "primaryOrgSourcedId", "orgs", org_id)
            org_ids = one_org.get(org_id) or one_org.setdefault(org_id, shared((org_id,)))
        # Staff, mail and letters use the school's legal names; the name a pupil is called by
        # (1.2 `preferredGivenName`) is kept for rule 5, which must recognise it too (A.2).
        preferred = row[preferred_at]
        if preferred:
            preferred = preferred.strip()
            if preferred == given:
                preferred = ""
        agents = row[agents_at]
        if agents:
            with_agents.append(row[sid_at])
        username = row[username_at]
        if role is None:
            roles = no_roles
        else:
            roles = role_sets.get(role) or role_sets.setdefault(role, shared(frozenset((role,))))
        users[row[sid_at]] = User(
            line,
            given,
            family,
            row[middle_at],
            email,
            role,
            split_ids(agents) if agents else (),
            roles,
            preferred,
            # Every org named (an unknown one is an issue of its own, above); 1.2 adds the orgs
            # of the user's roles (`read_roles`).
            org_ids,
            (username.strip() or None) if username else None,
        )


def register_users(state: RosterState) -> None:
    """Who the users of users.csv are, and no more: what the other files' checks need of it
    (`state.known`, `state.deleted`, and a `state.users` entry per usable record, all one
    placeholder). For a process that reads only those other files (`side.py`); its issues are
    `read_users`'s to report."""
    placeholder = User(0, "", "", "", None, None, ())
    users = state.users
    table, rows = state.records("users")
    sid_at = table.column("sourcedId")
    for row in rows:
        users[row[sid_at]] = placeholder


_BOOLEANS = frozenset(("true", "false"))


def read_roles(state: RosterState) -> None:
    users, shared, required_ref = state.users, state.shared, state.required_ref
    role_users = state.role_users
    users_known, orgs_known = state.known["users"], state.known["orgs"]
    # The user's set of roles with one more, and their schools with one more: a few of each.
    more_roles: dict[tuple[frozenset[Role], Role], frozenset[Role]] = {}
    more_orgs: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = {}
    table, rows = state.records("roles")
    user_at, type_at, role_at, org_at, begin_at, end_at = map(
        table.column,
        ("userSourcedId", "roleType", "role", "orgSourcedId", "beginDate", "endDate"),
    )
    for row in rows:
        line = table.line
        user_id = row[user_at]
        user_ok = user_id in users_known or required_ref(table, "userSourcedId", "users", user_id)
        role_type = row[type_at]
        if role_type not in ROLE_TYPES:
            required_value(table, line, "roleType", role_type)
            check_term(table, line, "roleType", role_type, ROLE_TYPES, ROLE_TYPE_TERMS)
        role = USER_ROLES.get(row[role_at]) or user_role(table, line, "role", row[role_at])
        org_id = row[org_at]
        if org_id not in orgs_known:
            required_ref(table, "orgSourcedId", "orgs", org_id)
        if row[begin_at]:
            date_value(table, line, "beginDate", row[begin_at])
        if row[end_at]:
            date_value(table, line, "endDate", row[end_at])
        user = users.get(user_id) if user_ok else None
        if user is None:
            continue
        # Named even when the role is invalid: that row has its own issue, and a second
        # "no role" issue for the user would only repeat it.
        role_users.add(user_id)
        if role is None:
            continue
        if user.first_role is None:
            user.first_role = user.role = role
        if user.primary_role is None and role_type == "primary":
            # The main role until the enrollments say otherwise (`resolve_roles`).
            user.primary_role = user.role = role
        if role not in user.roles:
            key = (user.roles, role)
            roles = more_roles.get(key)
            if roles is None:
                roles = more_roles[key] = shared(user.roles | {role})
            user.roles = roles
        if org_id and org_id not in user.org_ids:
            org_key = (user.org_ids, org_id)
            org_ids = more_orgs.get(org_key)
            if org_ids is None:
                org_ids = more_orgs[org_key] = shared(tuple(sorted((*user.org_ids, org_id))))
            user.org_ids = org_ids


def read_demographics(state: RosterState) -> None:
    users_known, birth_dates = state.known["users"], state.birth_dates
    table, rows = state.records("demographics")
    sid_at, birth_at = table.column("sourcedId"), table.column("birthDate")
    # A big school has a few thousand different birth dates: each is parsed once.
    dates: dict[str, date] = {}
    for row in rows:
        sid = row[sid_at]
        user_ok = sid in users_known or state.ref(table.name, table.line, "sourcedId", "users", sid)
        value = row[birth_at]
        if not value:
            continue
        birth_date = dates.get(value)
        if birth_date is None:
            birth_date = date_value(table, table.line, "birthDate", value)
            if birth_date is None:
                continue
            dates[value] = birth_date
        if user_ok:
            birth_dates[sid] = birth_date


def report_users_without_role(state: RosterState) -> None:
    """1.2: a user no roles.csv row names is an issue (once roles.csv is read in full)."""
    if state.version != V12 or "roles" not in state.complete:
        return
    users = state.users
    if len(state.role_users) == len(users):  # every user named (it holds only users' ids)
        return
    for user_id in users.keys() - state.role_users:
        state.issue("users.csv", users[user_id].line, "sourcedId", M_NO_ROLE)


def resolve_roles(state: RosterState) -> None:
    """1.2: each user's main role (1.1 has the one role on users.csv already; `read_roles` keeps
    every role and school of the roles.csv rows).

    The main role is the one their enrollments call for (a teacher who is also principal, and
    teaches a class, is a TEACHER: the class needs them as its staff); otherwise the primary
    role, else the first one listed."""
    if state.version != V12:
        return
    users = state.users
    # `read_roles` gave each user their primary role, else the first one; a class's pupils and
    # staff are what their enrollments call for, the staff first.
    for enrolled, role in (
        (EnrollmentRole.STUDENT, Role.PUPIL),
        (EnrollmentRole.TEACHER, Role.TEACHER),
    ):
        for user_id in {e.user_id for e in state.enrollments if e.role is enrolled}:
            user = users[user_id]
            if user.first_role is not None and role in user.roles:
                user.role = role


def guardian_links(state: RosterState) -> None:
    """Each pupil's guardians (`User.guardian_ids`), from `agentSourcedIds` on either side (their
    union).

    A link counts when one side is a pupil and the other holds a guardian role (1.2), or is not
    a pupil (1.1, which then gives that user the guardian role too; see the module's docstring).
    Other pairs (sibling to sibling; in 1.2 a user without a guardian role) are ignored."""
    linked: list[User] = []  # the pupils with a guardian, in the order found
    users = state.users
    for user_id in state.with_agents:
        user = users.get(user_id)
        if user is None:
            continue
        for agent_id in user.agents:
            agent = users.get(agent_id)
            if agent is None:
                # Reports an unknown id; a damaged or deleted agent is no guardian, silently.
                state.ref("users.csv", user.line, "agentSourcedIds", "users", agent_id)
                continue
            if agent_id == user_id:
                continue
            # The usual link first: a pupil who names their guardian.
            if (Role.PUPIL in user.roles and Role.GUARDIAN in agent.roles) or _may_guard(
                state, agent, user
            ):
                pupil, guardian_id = user, agent_id
            elif _may_guard(state, user, agent):
                pupil, guardian_id = agent, user_id
            else:
                continue
            guardians = pupil.guardian_ids
            if guardians is None:
                guardians = pupil.guardian_ids = []
                linked.append(pupil)
            if guardian_id not in guardians:  # named on both sides
                guardians.append(guardian_id)
    if state.version == V11:
        for pupil in linked:
            for guardian_id in pupil.guardian_ids or ():
                guardian = state.users[guardian_id]
                if Role.GUARDIAN not in guardian.roles:
                    guardian.roles = state.shared(guardian.roles | {Role.GUARDIAN})


def _may_guard(state: RosterState, guardian: User, pupil: User) -> bool:
    if Role.PUPIL not in pupil.roles:
        return False
    if Role.GUARDIAN in guardian.roles:
        return True
    return state.version == V11 and guardian.role is not None and Role.PUPIL not in guardian.roles

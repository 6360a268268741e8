"""Assembling the RosterSnapshot from a roster that was read without issues."""

from __future__ import annotations

from typing import Any

from adapters.oneroster.state import RosterState
from bot.domain import Address, ContactPreference, Enrollment, RosterSnapshot, School
from bot.person_records import PersonRecords


def build_snapshot(state: RosterState, enrollments: tuple[Enrollment, ...]) -> RosterSnapshot:
    """The snapshot of `state`, with the checked `enrollments`.

    Consumes `state`'s records (its users, roles, contacts, birth dates and enrollment rows are
    released once the persons are built): a big roster is not held twice."""
    state.enrollments.clear()
    state.known.clear()
    schools = _schools(state)
    classes = tuple(state.classes.values())
    return RosterSnapshot(
        schools=schools,
        classes=classes,
        persons=_persons(state),
        enrollments=enrollments,
        version=state.version,
    )


def _schools(state: RosterState) -> tuple[School, ...]:
    # A class may name a non-school org (a department) as its school; it then acts as one,
    # so it is included. Other non-school orgs (district, national …) stay out.
    used = {c.school_id for c in state.classes.values()}
    return tuple(
        School(id=org_id, name=org.name, identifier=org.identifier)
        for org_id, org in state.orgs.items()
        if org.type == "school" or org_id in used
    )


def _persons(state: RosterState) -> PersonRecords:
    """The persons as records (`PersonRecords`): a big roster's persons are written as rows, and
    no object is made for each."""
    records: list[tuple[Any, ...]] = []
    add = records.append
    users, contacts, birth_dates = state.users, state.contacts, state.birth_dates
    default = ContactPreference.DEFAULT
    preferences = {preference.value: preference for preference in ContactPreference}
    # One Address per household, as contacts.csv gave one tuple of its parts.
    addresses: dict[tuple[str, str, str], Address] = {}
    # Each contact and birth date to its user (a look-up each, rather than two per user).
    get_user = users.get
    for user_id, row in contacts.items():
        if (found := get_user(user_id)) is not None:
            found.contact = row
    for user_id, birth in birth_dates.items():
        if (found := get_user(user_id)) is not None:
            found.birth_date = birth
    for user_id, user in users.items():
        role = user.role
        if role is None:  # never reached: a missing role is an issue, raised before
            continue
        contact = user.contact
        address: Address | None = None
        email, preference, language, share = user.email, default, None, False
        if contact is not None:
            # contacts.csv is the source of contact data; an empty e-mail there keeps the one
            # from users.csv rather than erasing it.
            contact_email, parts, fallback, language, share = contact
            email = contact_email or email
            preference = preferences[fallback]
            if parts is not None:
                address = addresses.get(parts)
                if address is None:
                    address = addresses[parts] = Address(*parts)
        guardian_ids = user.guardian_ids
        roles = user.roles
        add(
            # In the order of Person's fields (PERSON_FIELDS).
            (
                user_id,
                role,
                user.given_name,
                user.family_name,
                user.middle_name,
                user.birth_date,
                email,
                address,
                preference,
                tuple(sorted(guardian_ids)) if guardian_ids else (),
                roles if role in roles else state.shared(roles | {role}),
                user.preferred_given_name,
                language,
                user.org_ids,
                share,
                # Often the sourcedId itself: then the one string serves both.
                user_id if user.username == user_id else user.username,
            )
        )
    # The users, their contacts and birth dates are the persons now.
    users.clear()
    contacts.clear()
    birth_dates.clear()
    return PersonRecords(records)

"""Assembling the RosterSnapshot from a roster that was read without issues."""

from __future__ import annotations

from typing import Any

from adapters.oneroster.state import RosterState
from bot.domain import Address, ContactPreference, Enrollment, RosterSnapshot, School
from bot.person_records import PersonRecords


def build_snapshot(
    state: RosterState, enrollments: tuple[Enrollment, ...], guardians: dict[str, list[str]]
) -> RosterSnapshot:
    """The snapshot of `state`, with the checked `enrollments` and the pupil -> guardian links.

    Consumes `state`'s records (its users, roles, contacts, birth dates and enrollment rows are
    released once the persons are built): a big roster is not held twice."""
    state.enrollments.clear()
    state.known.clear()
    schools = _schools(state)
    classes = tuple(state.classes.values())
    return RosterSnapshot(
        schools=schools,
        classes=classes,
        persons=_persons(state, guardians),
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


def _persons(state: RosterState, guardians: dict[str, list[str]]) -> PersonRecords:
    """The persons as records (`PersonRecords`): a big roster's persons are written as rows, and
    no object is made for each."""
    records: list[tuple[Any, ...]] = []
    add = records.append
    users, contacts, birth_dates = state.users, state.contacts, state.birth_dates
    contact_of, birth_date_of, guardians_of = contacts.get, birth_dates.get, guardians.get
    default = ContactPreference.DEFAULT
    preferences = {preference.value: preference for preference in ContactPreference}
    # One Address per household, as contacts.csv gave one tuple of its parts.
    addresses: dict[tuple[str, str, str], Address] = {}
    for user_id, user in users.items():
        role = user.role
        if role is None:  # never reached: a missing role is an issue, raised before
            continue
        contact = contact_of(user_id)
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
        guardian_ids = guardians_of(user_id)
        roles = user.roles
        add(
            # In the order of Person's fields (PERSON_FIELDS).
            (
                user_id,
                role,
                user.given_name,
                user.family_name,
                user.middle_name,
                birth_date_of(user_id),
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
    guardians.clear()
    return PersonRecords(records)

"""Assembling the RosterSnapshot from a roster that was read without issues."""

from __future__ import annotations

from adapters.oneroster.state import RosterState
from bot.domain import ContactPreference, Enrollment, Person, RosterSnapshot, School


def build_snapshot(
    state: RosterState, enrollments: tuple[Enrollment, ...], guardians: dict[str, set[str]]
) -> RosterSnapshot:
    """The snapshot of `state`, with the checked `enrollments` and the pupil -> guardian links."""
    return RosterSnapshot(
        schools=_schools(state),
        classes=tuple(state.classes.values()),
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


def _persons(state: RosterState, guardians: dict[str, set[str]]) -> tuple[Person, ...]:
    persons = []
    for user_id, user in state.users.items():
        if user.role is None:  # never reached: a missing role is an issue, raised before
            continue
        contact = state.contacts.get(user_id)
        email, address, preference = user.email, None, ContactPreference.DEFAULT
        language = None
        if contact is not None:
            # contacts.csv is the source of contact data; an empty e-mail there keeps the one
            # from users.csv rather than erasing it.
            email = contact.email or user.email
            address, preference = contact.address, contact.preference
            language = contact.language
        persons.append(
            Person(
                id=user_id,
                role=user.role,
                given_name=user.given_name,
                family_name=user.family_name,
                middle_name=user.middle_name,
                birth_date=state.birth_dates.get(user_id),
                email=email,
                address=address,
                preference=preference,
                language=language,
                guardian_ids=tuple(sorted(guardians.get(user_id, ()))),
                roles=frozenset(user.roles),
                preferred_given_name=user.preferred_given_name,
                share_with_guardians=contact is not None and contact.share_with_guardians,
                school_ids=tuple(sorted(user.org_ids)),
                username=user.username,
            )
        )
    return tuple(persons)

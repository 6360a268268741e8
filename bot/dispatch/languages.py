"""The language of an e-mail or a letter: its recipient's (`bot.languages`).

A pupil's copy sent to their own address speaks the pupil's language; one sent to their guardians
speaks the guardians' (one e-mail to several guardians: theirs when they share it, else the
school's); a letter speaks the language of the person it is addressed to. A recipient that is no
person (leadership's configured addresses) gets the school's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain import Delivery, Person, Recipient
from bot.languages import person_language, shared_language
from bot.repositories import Repositories
from bot.usecases.context import Context


def recipients_language(
    recipients: Sequence[Recipient], people: Mapping[str, Person], school_language: str
) -> str:
    return shared_language(
        (person_language(people.get(r.person_id), school_language) for r in recipients),
        school_language,
    )


async def recipient_languages(ctx: Context, deliveries: Sequence[Delivery]) -> dict[int, str]:
    """Delivery id → the language of its e-mail, for a batch of rows (one read for all)."""
    ids = {r.person_id for d in deliveries for r in d.recipients if r.person_id}
    people: Mapping[str, Person] = {}
    if ids:
        async with ctx.db.transaction() as tx:
            people = await tx.roster.persons(ids)
    school = ctx.policy.language
    return {d.id: recipients_language(d.recipients, people, school) for d in deliveries}


async def recipient_language(tx: Repositories, recipient: Recipient, school_language: str) -> str:
    """The language of a letter to `recipient`."""
    person = await tx.roster.person(recipient.person_id) if recipient.person_id else None
    return person_language(person, school_language)

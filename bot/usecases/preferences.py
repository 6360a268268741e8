"""A person's own choices: the language klasbot uses with them (`/taal`)."""

from __future__ import annotations

from bot.errors import NotFound
from bot.messages import M_PERSON_NOT_FOUND
from bot.usecases.context import Context, roster_changed


async def set_language(
    ctx: Context, person_id: str, language: str | None, *, source: str = "cli"
) -> None:
    """Store `language` (a language with a catalogue; None: the school's) as the person's own.
    A roster re-import keeps it unless contacts.csv names a language for the person. Audited
    (rule 10: the dossier shows what a person chose)."""
    async with ctx.db.transaction() as tx:
        if not await tx.roster.set_language(person_id, language):
            raise NotFound(M_PERSON_NOT_FOUND, ref=person_id)
        # A re-import of the same export is then read again: it may name a language for them.
        await roster_changed(tx)
        await ctx.audit(
            tx, "language-set", person_id, [person_id], language=language, source=source
        )

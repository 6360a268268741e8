"""GDPR art. 17, the right to erasure: `klasbot person erase PERSON` (SPEC "Dossier and privacy").

In one transaction the person gets a random pseudonym (`bot.pseudonyms.erased_pseudonym`: nothing,
not even the installation's key, leads back to them) and:

- **their personal data goes**: their roster row (with their guardian links and enrollments),
  their linked platform accounts, their codes, their group memberships and the platform state of
  their accounts (a chat draft) are deleted;
- **the school's records stay, pseudonymised**: audit events (rule 10: the school's
  accountability), copies of announcements and notices, announcements and schedules they made,
  and reports they sent keep their rows — so every count stays what it was — with the person's id
  replaced by the pseudonym (a report's reporter becomes None, as `Report` documents);
- **their names, e-mail address and address are scrubbed** from every text and JSON column
  (`PrivacyRepository.erase`): their full name in every form a record carries it (given, or
  preferred, name with and without the middle name, and the signature form `J. de Vries`,
  `bot.rules.signature`), their e-mail address, street and postal code are replaced everywhere by
  the pseudonym; their given name or family name alone only in the records tied to them (events
  that concern them, copies for or to them, what they wrote, the letters that carried their
  copies), so a classmate called Daan elsewhere keeps his name, and the name of someone else in
  a record of theirs stays whole (their father `Peter de Jong` where their family name goes,
  a classmate `Daan Bakker` where their given name goes). What they share with someone who
  stays on the roster — a sibling's family address, a family e-mail address, a parent's identical
  name, a neighbour's postal code — is that person's data too: it is scrubbed only from the
  records tied to the erased person;
- **copies not sent yet** for or to them are withdrawn (pending or held; others on the same copy
  still get it); a letter the office has not posted that carries one is taken apart and printed
  again without it; the PDF files of every letter that carried their copies, posted or not, are
  deleted (the letter's record stays, scrubbed);
- **they leave every group**: each (group, account) the platforms must remove is queued in the
  same transaction (`REMOVALS`, platform state), before their accounts are deleted — the account
  ids live on only in that queue, until the removal is done. The process that runs a group's
  platform removes them: this command when it can reach the platform, else the next round of
  `klasbot run` or `klasbot dispatch` (`bot.usecases.sweep.run_due` looks at the queue first). A
  crash loses nothing: the queue is kept until each removal is done; removing is idempotent. A
  platform that cannot remove members (Teams) is logged for the admin;
- **their active schedules are cancelled** (nobody is left to sign them, B.2);
- **an audit event** `person-erased`, tied to the pseudonym, says what was done, in counts, and
  who ran it (`by`: the OS user running the command); it holds no personal data.

A pupil who comes back in a later roster import with the same sourcedId is a new person: nothing
carries the old id any more, so no history attaches to them. An erased person still in the school's
roster export comes back at the next import for the same reason: remove them from the export too
(the command says so).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.domain import GroupState, MemberState, Person
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.outbox import STATE_SCOPE
from bot.pseudonyms import erased_pseudonym
from bot.repositories import Repositories
from bot.usecases.context import Context, require_person, roster_changed
from bot.usecases.retention import discard_files

logger = logging.getLogger(__name__)

REMOVALS = "erasure:removals"
"""The removals from groups still to be made for erased persons: a JSON list of
`{"group": id, "account": account id, "person": pseudonym}` (platform state, `STATE_SCOPE`)."""
REASON = "erased"
"""The reason given to the platform (and the audit) for the removal."""
MIN_LETTERS = 2
"""A name part shorter than this (an initial) is not replaced on its own."""


@dataclass(frozen=True, slots=True)
class ErasureResult:
    person_id: str
    """The id the person had (the admin's own reference; stored nowhere any more)."""
    pseudonym: str
    counts: dict[str, int] = field(default_factory=dict)
    """By kind of record (`PrivacyRepository.erase`)."""
    removals: int = 0
    """Removals from groups queued."""
    removed: int = 0
    """Of those, made by this process (the rest wait for the process that runs the platform)."""
    letter_files: int = 0
    """Letter PDF files deleted."""
    ended_schedules: int = 0
    """Their active schedules, cancelled."""


# --- what to replace ----------------------------------------------------------------------------


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def name_forms(person: Person) -> set[str]:
    """The person's full name in every form a record may carry it: given (or preferred) name
    with and without the middle name, and the signature form `J. de Vries`."""
    forms = set()
    for given in {person.given_name, person.preferred_given_name} - {""}:
        forms.add(_join(given, person.middle_name, person.family_name))
        forms.add(_join(given, person.family_name))
    if person.given_name and person.family_name:
        forms.add(person.signature_name)
    return {f for f in forms if len(f.split()) >= 2}


def contact_forms(person: Person) -> set[str]:
    """The person's e-mail address, street and postal code (with and without its space)."""
    forms = {person.email or ""}
    if person.address is not None:
        forms.add(person.address.street)
        code = person.address.postal_code
        forms |= {code, "".join(code.split())}
    return {f.strip() for f in forms if f.strip()}


def part_forms(person: Person) -> set[str]:
    """The parts of the person's name that are replaced only where the record is theirs: given
    and preferred name, family name with and without its tussenvoegsel."""
    parts = {
        person.given_name,
        person.preferred_given_name,
        person.family_name,
        _join(person.middle_name, person.family_name),
    }
    return {p.strip() for p in parts if sum(ch.isalpha() for ch in p) >= MIN_LETTERS}


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Replacements:
    """What `PrivacyRepository.erase` replaces: `everywhere`, in every record; `tied`, only in
    the records tied to the person; `keep`, other people's names that are never cut into."""

    everywhere: tuple[str, ...]
    tied: tuple[str, ...]
    keep: tuple[str, ...]


def texts_to_replace(person: Person, namesakes: Iterable[Person]) -> Replacements:
    """The person's names, e-mail address and address to replace in every record; those to
    replace only in the records tied to them — their name parts, and whatever a person who stays
    on the roster shares (it is theirs too); and the full names of those persons, which a name
    part of the erased person (a shared family name) must not cut into."""
    shared: set[str] = set()
    others: set[str] = set()
    for other in namesakes:
        shared |= {_key(f) for f in name_forms(other) | contact_forms(other)}
        others |= name_forms(other)
    whole = name_forms(person) | contact_forms(person)
    everywhere = sorted(f for f in whole if _key(f) not in shared)
    tied = sorted((whole - set(everywhere)) | part_forms(person))
    own = {_key(f) for f in whole}
    keep = sorted(f for f in others if _key(f) not in own)
    return Replacements(tuple(everywhere), tuple(tied), tuple(keep))


# --- erasing --------------------------------------------------------------------------------------


async def erase(ctx: Context, person_ref: str, by: str) -> ErasureResult:
    """Erase the person `person_ref` (a sourcedId) as the module says; `by` is who ran it.
    Raises NotFound for a person the roster does not have (or no longer has)."""
    pseudonym = erased_pseudonym()
    async with ctx.db.transaction() as tx:
        person = await require_person(tx, person_ref)
        address = person.address
        namesakes = await tx.privacy.namesakes(
            person.id,
            family_names=[person.family_name],
            given_names=[person.given_name, person.preferred_given_name],
            emails=[person.email or ""],
            streets=[address.street] if address else [],
            postal_codes=[address.postal_code] if address else [],
        )
        texts = texts_to_replace(person, namesakes)
        classes = sorted({e.class_id for e in await tx.roster.enrollments_of(person.id)})
        removals = await _removals(tx, person, classes, pseudonym)
        # Their reminders end with them: nobody is left to sign or answer for them (B.2).
        ended = 0
        for schedule in await tx.schedules.list(active_only=True):
            if schedule.author_id == person.id:
                ended += await tx.schedules.cancel(schedule.id, None, ctx.clock.now())
        erased = await tx.privacy.erase(
            person.id, pseudonym, everywhere=texts.everywhere, tied=texts.tied, keep=texts.keep
        )
        await roster_changed(tx)  # their name is no longer rule 5's to look for
        if removals:
            # Queued after the scrub: an account id may look like the person's id (the console's
            # accounts are named after the person), and the platform needs it as it is.
            await tx.state.lock(STATE_SCOPE, REMOVALS)
            queued = _entries(await tx.state.get(STATE_SCOPE, REMOVALS))
            await tx.state.set(STATE_SCOPE, REMOVALS, json.dumps([*queued, *removals]))
        files = discard_files(erased.letter_files)
        await ctx.audit(
            tx,
            "person-erased",
            None,
            [pseudonym],
            by=by,
            role=person.role.value,
            class_ids=classes,
            removals=len(removals),
            ended_schedules=ended,
            letter_files=files,
            **erased.counts,
        )
    logger.info(
        "person erased as %s: %d audit events and %d deliveries pseudonymised, %d removals "
        "from groups queued",
        pseudonym,
        erased.counts.get("audit_events", 0),
        erased.counts.get("deliveries", 0),
        len(removals),
    )
    removed = await remove_from_groups(ctx) if removals else 0
    return ErasureResult(
        person.id, pseudonym, dict(erased.counts), len(removals), removed, files, ended
    )


async def _removals(
    tx: Repositories, person: Person, classes: Sequence[str], pseudonym: str
) -> list[dict[str, object]]:
    """Every (group, account) a platform must remove the person from: the groups they are
    recorded in, and the groups of their classes on the platforms they have an account on
    (removing someone who is not there does nothing)."""
    accounts = await tx.accounts.of_person(person.id)
    found: set[tuple[int, str]] = set()
    for group_id, membership in (await tx.groups.memberships_of(person.id)).items():
        if membership.state in (MemberState.MEMBER, MemberState.INVITED):
            found.add((group_id, membership.account_id))
    for class_id in classes:
        for group in await tx.groups.list(class_id):
            if group.state != GroupState.ACTIVE:
                continue
            found |= {(group.id, a.account_id) for a in accounts if a.platform == group.platform}
    return [
        {"group": group_id, "account": account_id, "person": pseudonym}
        for group_id, account_id in sorted(found)
    ]


def _entries(raw: str | None) -> list[dict[str, object]]:
    if not raw:
        return []
    data = json.loads(raw)
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


async def remove_from_groups(ctx: Context) -> int:
    """Make the queued removals (`REMOVALS`) on the platforms connected in this process; the
    others wait for the process that runs theirs. Returns how many were made. A removal the
    platform refuses for good, or cannot make (it cannot remove members; the group is gone or
    lost), leaves the queue with a warning for the admin. Each removal leaves the queue, and is
    audited, once, whichever process made it (removing twice does nothing)."""
    async with ctx.db.transaction() as tx:
        entries = _entries(await tx.state.get(STATE_SCOPE, REMOVALS))
    removed = 0
    for entry in entries:
        group_id = entry.get("group")
        account_id = str(entry.get("account", ""))
        pseudonym = str(entry.get("person", ""))
        async with ctx.db.transaction() as tx:
            group = await tx.groups.get(group_id) if isinstance(group_id, int) else None
        if group is None or group.state == GroupState.LOST:
            await _finish(ctx, entry)  # the bot is not in that group: nothing to remove from
            continue
        capabilities = ctx.policy.capabilities(group.platform)
        if capabilities is not None and not capabilities.can_remove_members:
            logger.warning(
                "group %s: %s cannot remove members; remove the erased person %s by hand",
                group.id,
                group.platform,
                pseudonym,
            )
            await _finish(ctx, entry)
            continue
        platform = ctx.platforms.get(group.platform)
        if platform is None:
            continue
        try:
            await platform.remove(group.chat_id, account_id, REASON)
        except TransientDeliveryError as error:
            logger.warning("group %s: the removal of %s waits: %s", group.id, pseudonym, error)
            continue
        except PermanentDeliveryError as error:
            logger.warning("group %s: could not remove %s: %s", group.id, pseudonym, error)
            await _finish(ctx, entry)
            continue
        if await _finish(ctx, entry, group=group.id, class_id=group.class_id):
            removed += 1
    return removed


async def _finish(ctx: Context, entry: dict[str, object], **removed: object) -> bool:
    """Take `entry` off the queue; with `removed` (the group), audit the removal. False when
    another process took it off first."""
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, REMOVALS)
        queued = _entries(await tx.state.get(STATE_SCOPE, REMOVALS))
        if entry not in queued:
            return False
        left = [e for e in queued if e != entry]
        await tx.state.set(STATE_SCOPE, REMOVALS, json.dumps(left) if left else "")
        if removed:
            person = str(entry.get("person", ""))
            await ctx.audit(tx, "member-removed", None, [person], reason=REASON, **removed)
    return True

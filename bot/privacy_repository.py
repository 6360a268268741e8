"""The privacy storage port (GDPR art. 17 and the retention period), one of the repositories of
`bot.repositories`: taking a person out of every record, and purging what is kept no longer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.domain import Person


@dataclass(frozen=True, slots=True)
class Erased:
    """What `PrivacyRepository.erase` did: counts by kind of record, and the printed letters
    whose PDF files carried the person (their files are for the caller to delete)."""

    counts: dict[str, int] = field(default_factory=dict)
    letter_files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Purged:
    """What `PrivacyRepository.purge` removed (or, in a dry run, would remove): counts by kind
    of record, and the PDF files of the letters removed (for the caller to delete)."""

    counts: dict[str, int] = field(default_factory=dict)
    letter_files: tuple[str, ...] = ()


class PrivacyRepository(Protocol):
    """GDPR art. 17 and the retention period: taking a person out of every record, and removing
    what is older than the school keeps it (`bot.usecases.erasure`, `bot.usecases.retention`).
    The core decides what to replace and from when on; storage does it in every table."""

    async def namesakes(
        self,
        person_id: str,
        *,
        family_names: Sequence[str],
        given_names: Sequence[str] = (),
        emails: Sequence[str],
        streets: Sequence[str],
        postal_codes: Sequence[str],
    ) -> list[Person]:
        """The other persons on the roster with one of these family names, given names (as
        given or preferred name), e-mail addresses, streets or postal codes (compared without
        regard to case; a postal code without its spaces): whose data an erasure must leave
        alone where it is theirs too."""
        ...

    async def erase(
        self,
        person_id: str,
        pseudonym: str,
        *,
        everywhere: Sequence[str],
        tied: Sequence[str],
        keep: Sequence[str] = (),
    ) -> Erased:
        """Take `person_id` out of every record, in the caller's transaction:

        - copies not sent yet: pending or held copies of announcements for the person are
          withdrawn (whoever holds them: a worker sending one right now may still record it as
          sent, never re-route it); the person is taken off the recipients of every other
          pending or held row, which is withdrawn when nobody is left on it. A letter the office
          has not posted that carries such a row is taken apart: its rows leave it (those still
          due are printed again on a new letter) and the letter is removed;
        - their persons row with their guardian links and enrollments, their linked accounts,
          codes and group memberships are deleted, and the platform state of their accounts
          (a key ending in `:<account id>`, a JSON value whose `account` is the account id);
        - every reference to the id becomes `pseudonym` (audit events and who they concern,
          copies, announcements, schedules; a report's reporter becomes None), and so does a
          JSON string that is the id, anywhere;
        - every text and JSON column of every table but `persons` has each of `everywhere`
          replaced by the pseudonym (`storage.scrub`); the records tied to the person (events
          that concern them, copies for or to them, their announcements, schedules and their
          firings, their reports, the letters that carried copies for or to them) also have
          each of `tied` and the id itself replaced. A text of `keep` (another person's name,
          `Peter de Jong`) is never cut into by a shorter one (`de Jong`).

        Counts: `persons`, `accounts`, `invites`, `memberships`, `platform_state` (deleted);
        `audit_events`, `deliveries`, `announcements`, `schedules`, `reports` (tied records,
        kept pseudonymised); `cancelled` (copies withdrawn), `letters_removed`, `scrubbed`
        (records whose texts changed). `letter_files`: the letters that carried copies for or
        to the person, posted or not."""
        ...

    async def purge(self, before: datetime, *, dry_run: bool) -> Purged:
        """Remove what belongs to a time before `before` (with `dry_run`: only count it):

        - `announcements` created before it whose copies are all done (none pending or held),
          with their copies (`deliveries`);
        - `notices` (outbox rows of no announcement) that are done (sent, failed or
          withdrawn), sent or due before it (one withdrawn before it went out that was due "at
          once", `bot.outbox.DUE_AT_ONCE`, carries no date of its own and is kept);
        - `letters` created before it that the office posted and whose every copy is removed;
        - `audit_events` that happened before it;
        - `reports` closed before it (open reports are kept, however old);
        - `invites` used, or expired unused, before it;
        - `schedules` cancelled or finished whose last activity (made, cancelled, last fired)
          was before it, with their firings, and `firings` of any schedule recorded before it.
        Persons are not purged: the roster import keeps them as the school's roster says."""
        ...

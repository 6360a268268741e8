"""The storage ports: narrow repositories, one per kind of record, reached through the unit of work.

Each repository is owned by the core and implemented twice: with SQLAlchemy (`storage/`) and in
memory (`storage/memory.py`, for fast tests of the use cases). One contract suite runs over both
(`tests/contract/`). Reads return domain objects; writes are visible to later reads of the same
transaction and kept only when it commits. Implementations raise the database's own errors (a
unique constraint, a lost connection): the transaction is then rolled back as a whole.

Decisions stay in the core: storage records *what happened* (a member's state, a letter posted)
and answers queries; who counts as gone from a group (`bot.rules.membership`) and when a delivery
counts as sent (`bot.outbox`) are decided by the core.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bot.domain import (
    Account,
    Announcement,
    AuditEvent,
    ClassRoster,
    Delivery,
    Enrollment,
    Firing,
    Group,
    GroupState,
    Holiday,
    Invite,
    LetterRecord,
    Membership,
    MemberState,
    NewDelivery,
    Person,
    Recipient,
    Report,
    RosterChanges,
    RosterSnapshot,
    Schedule,
    School,
    SchoolClass,
)
from bot.notices import Notice
from bot.privacy_repository import Erased as Erased
from bot.privacy_repository import PrivacyRepository
from bot.privacy_repository import Purged as Purged


class RosterRepository(Protocol):
    async def sync(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        """Make the stored roster equal to `snapshot`: add, update and remove.

        With `deleted` (a OneRoster *delta* export) the snapshot holds only changed records: they
        are added or updated, and only the persons and classes the export marked `tobedeleted`
        are removed; nothing is removed for being absent. `left_class` lists (pupil, class) for
        every pupil whose enrollment in a class ended."""
        ...

    async def count_persons(self) -> int: ...

    async def person(self, person_id: str) -> Person | None: ...

    async def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        """The persons that exist among `ids`, by id (unknown ids are left out)."""
        ...

    async def find_classes(self, ref: str) -> list[SchoolClass]:
        """Classes whose sourcedId or classCode is `ref` (a code may exist at several schools)."""
        ...

    async def classes(self) -> list[tuple[SchoolClass, School, int, int]]:
        """(class, school, number of pupils, number of staff) for every class."""
        ...

    async def class_roster(self, class_id: str) -> ClassRoster:
        """Raises KeyError for an unknown class."""
        ...

    async def school_pupils(self, school_id: str) -> list[Person]:
        """Every pupil enrolled in any class of the school, ordered by id (rule 5 looks for all
        their names: A.2 protects every member of the school community)."""
        ...

    async def enrollments_of(self, person_id: str) -> list[Enrollment]: ...

    async def find_by_account_name(self, names: Iterable[str]) -> list[Person]:
        """The persons whose school account (`Person.username`) or e-mail address is one of
        `names`, compared without regard to case; ordered by id."""
        ...

    async def wards_of(self, guardian_id: str) -> list[str]:
        """The ids of the pupils `guardian_id` is a guardian of, sorted."""
        ...

    async def schools(self) -> list[School]:
        """Every school of the roster (with its identifier), ordered by sourcedId."""
        ...

    async def class_schools(self) -> list[School]:
        """The schools some class of the roster belongs to, ordered by sourcedId."""
        ...

    async def leadership(self, school_id: str | None) -> list[Person]:
        """The persons with a leadership role (OneRoster `administrator`, `principal`,
        `siteAdministrator`) of that school, ordered by id; `None`: of every school."""
        ...

    async def set_language(self, person_id: str, language: str | None) -> bool:
        """Store the language klasbot uses with the person (None: the school's). False when
        there is no such person. A roster sync keeps it unless the roster names a language."""
        ...

    async def name_tokens(self) -> set[str]:
        """The log filter's name tokens of everyone on the roster (`bot.log_tokens.name_tokens`
        of every given, preferred, middle and family name)."""
        ...

    async def address_tokens(self) -> set[str]:
        """The log filter's address tokens of everyone on the roster (street names and postal
        codes, `bot.log_tokens.address_tokens`)."""
        ...


class GroupRepository(Protocol):
    async def add(
        self, class_id: str, platform: str, chat_id: str, state: GroupState, now: datetime
    ) -> Group: ...

    async def list(self, class_id: str | None = None, platform: str | None = None) -> list[Group]:
        """Groups ordered by id."""
        ...

    async def get(self, group_id: int) -> Group | None: ...

    async def by_chat(self, platform: str, chat_id: str) -> Group | None: ...

    async def update(
        self, group_id: int, *, state: GroupState | None = None, chat_id: str | None = None
    ) -> None: ...

    async def set_member(
        self, group_id: int, person_id: str, account_id: str, state: MemberState, now: datetime
    ) -> None:
        """Record a person's state in the group (one row per group and person; idempotent)."""
        ...

    async def members(self, group_id: int) -> dict[str, Membership]:
        """person id → membership, for everyone the group has had."""
        ...

    async def memberships_of(self, person_id: str) -> dict[int, Membership]:
        """group id → this person's membership, for every group they have had."""
        ...


class AccountRepository(Protocol):
    async def link(self, platform: str, account_id: str, person_id: str, now: datetime) -> None:
        """Link a platform account to a person (an account has one person; a re-link moves it;
        a person may have any number of accounts, on one platform or several)."""
        ...

    async def person_of(self, platform: str, account_id: str) -> Person | None: ...

    async def of_person(self, person_id: str) -> list[Account]:
        """The person's accounts, with when each was linked, by platform and account id."""
        ...

    async def linked_persons(self, platform: str) -> frozenset[str]:
        """The ids of everyone with an account on `platform`."""
        ...


class InviteRepository(Protocol):
    """Link codes by their hash (`bot.codes.hash_code`); a plain code never reaches storage."""

    async def add(self, invite: Invite) -> None:
        """Raises the database's integrity error when the hash exists."""
        ...

    async def get(self, code_hash: str) -> Invite | None: ...

    async def use(self, code_hash: str, now: datetime) -> bool:
        """Mark used; False when someone else used it first (single use under concurrency)."""
        ...

    async def of_person(self, person_id: str) -> builtins.list[Invite]:
        """The person's codes (used, expired or valid), oldest first (by creation, then
        hash)."""
        ...

    async def revoke_unused(self, person_id: str) -> builtins.list[str]:
        """Remove the person's codes that were never used (expired ones too): a new code
        replaces them, one code per person at a time, and `/start` with an old one is then an
        unknown code. Used codes stay. Returns the hashes removed, sorted."""
        ...


class AnnouncementRepository(Protocol):
    async def add(self, announcement: Announcement) -> int:
        """Store it and return its new id (`announcement.id` is ignored)."""
        ...

    async def get(self, announcement_id: int) -> Announcement | None: ...

    async def list(self, class_id: str | None = None) -> list[Announcement]:
        """Ordered by id."""
        ...

    async def lock(self, announcement_id: int, *, shared: bool = False) -> Announcement | None:
        """The announcement, held until the transaction ends (PostgreSQL: a row lock, `shared`
        among those who only record its copies; SQLite's transactions already hold the write
        lock). Withdrawing or correcting it and recording
        that its copies went out take turns on this lock, so a copy that goes out while it is
        being withdrawn still gets its withdrawal (`bot.usecases.undo`)."""
        ...

    async def revise(self, announcement: Announcement) -> None:
        """Store a withdrawal or a correction: `body`, `text`, `subject` and the undo fields
        (`withdrawn_*`, `corrected_at`, `revision`) of the stored announcement become those of
        `announcement`."""
        ...


class OutboxRepository(Protocol):
    """Deliveries waiting to go out: one row per pupil per announcement, or one per notice."""

    async def add(self, rows: Sequence[NewDelivery]) -> list[int]:
        """Append rows in the caller's transaction; returns their ids in order. The idempotency
        key is unique: adding a key twice raises the database's integrity error."""
        ...

    async def for_announcement(self, announcement_id: int) -> list[Delivery]:
        """Ordered by pupil id."""
        ...

    async def for_person(self, person_id: str) -> list[Delivery]:
        """Every row concerning the person (a dossier, GDPR art. 15): their own (a pupil's copy
        of an announcement, a notice about them) and those they are a recipient of (a guardian's
        e-mail or letter), ordered by id."""
        ...

    async def get(self, ids: Sequence[int]) -> list[Delivery]: ...

    async def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        exclude: Iterable[int] = (),
        claim: str | None = None,
    ) -> list[Delivery]:
        """Claim up to `limit` rows that are due (`due_at <= now`, pending or held, not
        unreachable, not on a letter yet, not claimed by a live lease) until `lease_until`, plus
        the rest of every group post among them (so a batch may hold a few more than `limit`).
        Held rows become pending; each claimed row records `claim` (its `Delivery.claim`).

        Claims never overlap, in any number of processes: on SQLite the transaction holds the
        write lock from its start; on PostgreSQL claims take turns on an advisory lock and skip
        rows locked by others (FOR UPDATE SKIP LOCKED).

        The outcome methods below take the claim too: with a claim they change only the rows
        still held by it (a worker whose lease ran out, and whose rows another worker claimed
        since, records nothing) and return what they changed; without one (the office, an
        admin) they change the rows whoever holds them."""
        ...

    async def hold(
        self, ids: Sequence[int], until: datetime, *, claim: str | None = None
    ) -> list[int]:
        """Status `held`, due at `until`, lease released (rule 8)."""
        ...

    async def mark_sent(
        self,
        ids: Sequence[int],
        now: datetime,
        external_id: str | None,
        *,
        count_attempt: bool = True,
        claim: str | None = None,
    ) -> list[int]:
        """Status `sent`, lease released, one more attempt, no last error. With
        `count_attempt=False` (a letter the office posted: its attempt was counted when it was
        printed) only the status and `sent_at` change; the row's history stays."""
        ...

    async def mark_retry(
        self, delivery_id: int, error: str, due_at: datetime, *, claim: str | None = None
    ) -> bool:
        """Still pending, due again at `due_at`; one more attempt overall and on this channel."""
        ...

    async def reroute(
        self,
        delivery_id: int,
        *,
        channel: str,
        reason: str | None,
        recipients: Sequence[Recipient],
        error: str,
        now: datetime,
        claim: str | None = None,
    ) -> bool:
        """Move the row to another channel (still one row): pending and due now, the channel's
        attempts back to zero; `unreachable` is final (status failed)."""
        ...

    async def replace_notice(self, delivery_id: int, notice: Notice) -> None:
        """Store `notice` as the row's notice (a delivered invite without its code)."""
        ...

    async def release(self, ids: Sequence[int], *, claim: str | None = None) -> list[int]:
        """Give claimed rows back without an attempt (this process cannot deliver them)."""
        ...

    async def cancel(self, announcement_id: int, now: datetime) -> list[int]:
        """Status `withdrawn` for the announcement's rows that have not gone out and are not
        going out right now: pending or held, on no letter, not claimed by a live lease. A
        cancelled row keeps its claim token: a worker whose lease ran out while it was sending
        the row may still record it as sent (it was), never as retried, held or re-routed.
        Returns the ids cancelled."""
        ...

    async def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these idempotency keys have a row already."""
        ...

    async def cancel_notices(
        self, person_id: str, template: str, now: datetime, *, key: str | None = None
    ) -> list[int]:
        """Status `withdrawn` for the notices of one kind (`Notice.template`) concerning
        `person_id` that have not gone out and are not going out right now, as `cancel` says
        (an invitation whose code was replaced); with `key`, only the one with that idempotency
        key (a withdrawn announcement's call list). Returns the ids cancelled."""
        ...


class LetterRepository(Protocol):
    async def lock(self, base_key: str) -> None:
        """Hold this household's letters of the day until the transaction ends: whoever prints
        for it next waits, then sees what was put on the letter (two dispatchers printing for
        siblings make one letter, not two). Lock several households in sorted order."""
        ...

    async def open_key(self, base_key: str) -> str:
        """The household's letter for the day that the office has not posted yet (a new key,
        with a suffix, once the earlier one went out)."""
        ...

    async def add(
        self,
        key: str,
        recipient_name: str,
        address: str,
        path: str,
        now: datetime,
        delivery_ids: Sequence[int],
        *,
        claim: str | None = None,
    ) -> builtins.list[int]:
        """Create or update the letter and put the deliveries on it (their lease released, one
        more attempt each; they stay pending until the letter is posted). With a claim, only
        the deliveries still held by it; returns the ids put on the letter."""
        ...

    async def deliveries(self, key: str) -> list[Delivery]: ...

    async def list(self, *, unposted_only: bool = False) -> list[LetterRecord]:
        """Ordered by creation time, then key."""
        ...

    async def mark_posted(self, keys: Sequence[str], now: datetime) -> builtins.list[str]:
        """Record letters as posted; returns the keys that were not posted before."""
        ...

    async def unposted_letters_of(self, delivery_id: int) -> int:
        """How many letters carrying this delivery are not posted yet."""
        ...


class AuditRepository(Protocol):
    async def add(self, events: Sequence[AuditEvent]) -> None:
        """Append events (in bulk: an announcement to a big class writes one per pupil); each is
        tied to its persons and its actor."""
        ...

    async def events(
        self,
        person_id: str | None = None,
        kind: str | None = None,
        *,
        class_id: str | None = None,
    ) -> list[AuditEvent]:
        """In the order they were added; `person_id`/`class_id`: only those tied to it."""
        ...


class ReportRepository(Protocol):
    """Reports (A.9) and escalations (B.3), as leadership handles them."""

    async def add(self, report: Report) -> int:
        """Store it and return its new id (`report.id` is ignored)."""
        ...

    async def get(self, report_id: int) -> Report | None: ...

    async def list(self, *, open_only: bool = False) -> builtins.list[Report]:
        """Ordered by id."""
        ...

    async def close(self, report_id: int, by: str, note: str, now: datetime) -> bool:
        """Close it with who closed it and why; False when it was closed already."""
        ...


class PlatformStateRepository(Protocol):
    """Small values a platform keeps across restarts (a sync token, an invite link)."""

    async def get(self, platform: str, key: str) -> str | None: ...

    async def set(self, platform: str, key: str, value: str) -> None: ...

    async def lock(self, platform: str, key: str) -> None:
        """Hold this value until the transaction ends (a read-modify-write such as a counter):
        whoever locks it next waits, then reads what was written."""
        ...


class ScheduleRepository(Protocol):
    """Mentors' schedules and the occurrences that fired (`bot.usecases.scheduling`)."""

    async def add(self, schedule: Schedule) -> int:
        """Store it and return its new id (`schedule.id` is ignored)."""
        ...

    async def get(self, schedule_id: int) -> Schedule | None: ...

    async def lock(self, schedule_id: int) -> Schedule | None:
        """The schedule, held until the transaction ends (PostgreSQL: FOR UPDATE; SQLite's
        transactions already hold the write lock): firing, changing and cancelling it take
        turns."""
        ...

    async def list(
        self, class_id: str | None = None, *, active_only: bool = False
    ) -> builtins.list[Schedule]:
        """Ordered by id; `active_only`: not cancelled and something left to fire."""
        ...

    async def count_active(self, class_id: str) -> int: ...

    async def due(self, now: datetime, limit: int) -> builtins.list[Schedule]:
        """Active schedules whose `next_run` is at or before `now`, earliest first."""
        ...

    async def next_due(self) -> datetime | None:
        """The earliest `next_run` of any active schedule."""
        ...

    async def set_next_run(self, schedule_id: int, next_run: datetime | None) -> None: ...

    async def cancel(self, schedule_id: int, by: str | None, now: datetime) -> bool:
        """Cancel it; False when it was cancelled already."""
        ...

    async def record_firing(self, firing: Firing) -> bool:
        """Record that an occurrence came due; False when it was recorded before (by this
        process or another): the occurrence must then not fire again."""
        ...

    async def firings(self, schedule_id: int) -> builtins.list[Firing]:
        """Ordered by occurrence."""
        ...


class HolidayRepository(Protocol):
    """The school's holiday periods imported from its published calendar."""

    async def add(self, holidays: Sequence[Holiday]) -> int:
        """Add the periods not stored yet (same start, end and name); returns how many."""
        ...

    async def list(self) -> builtins.list[Holiday]:
        """Ordered by start, then end and name."""
        ...


class Repositories(Protocol):
    """Every repository, bound to one transaction."""

    roster: RosterRepository
    groups: GroupRepository
    accounts: AccountRepository
    invites: InviteRepository
    announcements: AnnouncementRepository
    outbox: OutboxRepository
    letters: LetterRepository
    audit: AuditRepository
    state: PlatformStateRepository
    schedules: ScheduleRepository
    holidays: HolidayRepository
    reports: ReportRepository
    privacy: PrivacyRepository


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Repositories]:
        """One transaction: commits when the block ends normally, rolls back when it raises."""
        ...

"""The core's vocabulary: plain, frozen dataclasses, tied to no storage and no platform."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.notices import Notice


class Role(enum.StrEnum):
    PUPIL = "pupil"
    GUARDIAN = "guardian"
    TEACHER = "teacher"
    LEADERSHIP = "leadership"
    OTHER = "other"

    @property
    def is_staff(self) -> bool:
        return self in (Role.TEACHER, Role.LEADERSHIP)


class ContactPreference(enum.StrEnum):
    """The `fallback` column of contacts.csv."""

    DEFAULT = "email"
    POST = "post"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    postal_code: str
    city: str

    def lines(self) -> list[str]:
        return [self.street, f"{self.postal_code}  {self.city}".strip()]

    @property
    def household_key(self) -> str:
        """Two people at the same address share one household (one letter, not two)."""
        pc = "".join(self.postal_code.split()).upper()
        return f"{pc}|{' '.join(self.street.lower().split())}"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone on the roster. `role` is their main role (a pupil's is always `PUPIL`); `roles`
    holds every role they have, and each rule asks the one it is about (`has_role`, `is_staff`)."""

    id: str
    role: Role
    given_name: str
    family_name: str
    middle_name: str = ""
    birth_date: date | None = None
    email: str | None = None
    address: Address | None = None
    preference: ContactPreference = ContactPreference.DEFAULT
    guardian_ids: tuple[str, ...] = ()
    roles: frozenset[Role] = frozenset()
    """Every role the person holds (a teacher who is also a parent: teacher and guardian);
    always includes `role`, the person's main role, which is added when it is left out."""
    preferred_given_name: str = ""
    """The name the person is called by (OneRoster 1.2 `preferredGivenName`), when it differs."""
    language: str | None = None
    """The language klasbot uses with this person (contacts.csv `language`, `/taal`); None is
    the school's."""
    school_ids: tuple[str, ...] = ()
    """The schools (OneRoster orgs) the person belongs to, sorted: leadership is leadership of
    these schools (`RosterRepository.leadership`)."""
    share_with_guardians: bool = False
    """contacts.csv `share_with_guardians`: a pupil of 18 or older consents that their guardians
    receive what klasbot sends about them (rule 6; without it an adult's route is their own)."""
    username: str | None = None
    """The person's school account (OneRoster users.csv `username`, e.g. the Microsoft 365 sign-in
    name): a platform that reports it (Teams) links the account without a code."""

    def __post_init__(self) -> None:
        roles = self.roles
        # A frozenset that holds the main role already is kept as it is: thousands of persons
        # of a big roster share one.
        if not isinstance(roles, frozenset) or self.role not in roles:
            object.__setattr__(self, "roles", frozenset(roles) | {self.role})

    def has_role(self, role: Role) -> bool:
        """Whether the person holds `role`, as their main role or besides it."""
        return role in self.roles

    @property
    def is_staff(self) -> bool:
        """Staff through any of their roles: a teacher who is also a parent is still staff."""
        return any(r.is_staff for r in self.roles)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.middle_name, self.family_name) if p)

    @property
    def signature_name(self) -> str:
        """`J. de Vries`: initial, tussenvoegsel and family name (B.2: name and function)."""
        initial = f"{self.given_name[0]}." if self.given_name else ""
        return " ".join(p for p in (initial, self.middle_name, self.family_name) if p)


@dataclass(frozen=True, slots=True)
class School:
    id: str
    name: str
    identifier: str = ""
    """The school's own code (OneRoster orgs.csv `identifier`, e.g. its BRIN): a `[schools."…"]`
    table of the configuration may name the school by it."""


@dataclass(frozen=True, slots=True)
class SchoolClass:
    id: str
    code: str
    title: str
    school_id: str


class EnrollmentRole(enum.StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"


@dataclass(frozen=True, slots=True)
class Enrollment:
    class_id: str
    person_id: str
    role: EnrollmentRole
    primary: bool = False


class GroupState(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # created, but the bot lacks a right it needs
    LOST = "lost"  # the bot was removed; pupils fall back until it is bound again
    ARCHIVED = "archived"  # the school year ended (`bot.usecases.sweep`): no group any more


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    class_id: str
    platform: str
    chat_id: str
    state: GroupState


class MemberState(enum.StrEnum):
    """What the platform last told us about a person in a group."""

    MEMBER = "member"
    INVITED = "invited"  # admitted by us; the platform has not reported the join yet
    LEFT = "left"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Membership:
    account_id: str
    state: MemberState


@dataclass(frozen=True, slots=True)
class Account:
    """A platform account linked to a person; `account_id` is opaque (never a phone number)."""

    platform: str
    account_id: str
    person_id: str
    linked_at: datetime | None = None
    """When it was linked to this person (a re-link moves it and sets it anew)."""


class Kind(enum.StrEnum):
    LESSON_CANCELLED = "lesson-cancelled"
    HOMEWORK = "homework"
    REMINDER = "reminder"
    TRIP = "trip"


@dataclass(frozen=True, slots=True)
class AnnouncementDraft:
    """What a staff member asks to announce, before the rules have passed it."""

    class_id: str
    author_id: str
    kind: Kind
    date: date | None = None
    period: str | None = None
    subject: str | None = None
    text: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    class_id: str
    kind: Kind
    author_id: str
    created_at: datetime
    body: str
    signature: str
    date: date | None = None
    period: str | None = None
    subject: str | None = None
    text: str | None = None
    not_before: datetime | None = None
    schedule_id: int | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None
    corrected_at: datetime | None = None
    revision: int = 0
    """How many corrections replaced the text (`body`, `text` are the latest)."""

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def signed_text(self) -> str:
        return f"{self.body}\n\n{self.signature}"


class Channel(enum.StrEnum):
    GROUP = "group"
    EMAIL = "email"
    POST = "post"
    UNREACHABLE = "unreachable"


class Reason(enum.StrEnum):
    """Why a pupil is not reached in the group (rule 6: every fallback has a reason)."""

    NO_GROUP = "no-group"
    UNDER_13 = "under-13"
    AGE_UNKNOWN = "age-unknown"
    PLATFORM_AGE = "platform-age"
    NOT_LINKED = "not-linked"
    NOT_JOINED = "not-joined"  # linked, but has not (yet) joined the group
    LEFT_GROUP = "left-group"
    OPTED_OUT = "opted-out"
    GROUP_LOST = "group-lost"
    BLOCKED = "blocked"
    BOUNCED = "bounced"
    ADULT_NO_CONTACT = "adult-no-contact"  # 18+: no own e-mail or address, no consent for guardians


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"
    WITHDRAWN = "withdrawn"  # cancelled before it went out (the announcement was withdrawn)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One addressee of a fallback delivery: an e-mail address or a postal household."""

    person_id: str
    name: str
    email: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """The routing decision for one pupil: exactly one channel (rule 6)."""

    pupil_id: str
    channel: Channel
    reason: Reason | None
    recipients: tuple[Recipient, ...] = ()
    group_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An outbox row to add: a pupil's copy of an announcement (`announcement_id`), or a notice
    for one person (`notice`: an invite, a report, a warning). `person_id` is the pupil, or the
    person the notice concerns."""

    person_id: str
    channel: Channel
    reason: Reason | None
    status: DeliveryStatus
    due_at: datetime
    idempotency_key: str
    recipients: tuple[Recipient, ...] = ()
    group_id: int | None = None
    announcement_id: int | None = None
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    announcement_id: int | None
    pupil_id: str
    channel: Channel
    reason: Reason | None
    status: DeliveryStatus
    recipients: tuple[Recipient, ...] = ()
    group_id: int | None = None
    attempts: int = 0
    last_error: str | None = None
    idempotency_key: str = ""
    channel_attempts: int = 0
    due_at: datetime | None = None
    sent_at: datetime | None = None
    external_id: str | None = None
    notice: Notice | None = None
    # The claim (a dispatcher's batch) this row was read under; its outcome is recorded only
    # while the row is still held by that claim.
    claim: str | None = None
    letter_key: str | None = None
    """The letter the row is on (it counts as delivered once that letter is printed)."""


@dataclass(frozen=True, slots=True)
class Invite:
    """A one-time link code, known only by its hash (`bot.codes.hash_code`): the code itself goes
    out once, in its e-mail or letter, and is never stored."""

    code_hash: str
    person_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Rule 10: one thing that happened, tied to every person (and class) it concerns. Append-only;
    `person erase` replaces an erased person's id by a pseudonym, `purge` removes old events."""

    kind: str
    at: datetime
    actor_id: str | None
    person_ids: tuple[str, ...]
    details: dict[str, object] = field(default_factory=dict)
    class_ids: tuple[str, ...] = ()
    """The classes the event concerns (a class's dossier: `klasbot dossier export CLASS`)."""


class ReportKind(enum.StrEnum):
    REPORT = "report"  # /melden: unacceptable communication (A.9)
    ESCALATION = "escalation"  # /escaleren: staff, communication that derails (B.3)


class ReportState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Report:
    """A report or escalation as leadership handles it (`klasbot reports`)."""

    id: int
    kind: ReportKind
    reporter_id: str | None
    """None once the reporter was erased."""
    created_at: datetime
    text: str
    school_id: str | None = None
    class_ids: tuple[str, ...] = ()
    """The class of the group it was sent in, else the reporter's classes."""
    group_id: int | None = None
    platform: str | None = None
    forwarded_to: tuple[str, ...] = ()
    """The addresses it was mailed to (through the outbox)."""
    state: ReportState = ReportState.OPEN
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_note: str | None = None


@dataclass(frozen=True, slots=True)
class ClassRoster:
    """Everything the rules need to know about one class at one moment."""

    school_class: SchoolClass
    school: School
    pupils: tuple[Person, ...]
    staff: tuple[Person, ...]
    mentor_ids: frozenset[str]
    guardians: dict[str, Person]  # by id, for the class's pupils


@dataclass(frozen=True, slots=True)
class RosterSnapshot:
    """A whole roster as the school's administration exported it (the import's result).

    Guardian links are the union of both directions of OneRoster's `agentSourcedIds`, already
    resolved onto the pupils' `guardian_ids`."""

    schools: tuple[School, ...]
    classes: tuple[SchoolClass, ...]
    persons: Sequence[Person]
    """A tuple, or the reader's `bot.person_records.PersonRecords`."""
    enrollments: tuple[Enrollment, ...]
    version: str = "1.1"


@dataclass
class RosterChanges:
    """What an import adds, updates and removes (by id), for `--dry-run` and the audit."""

    added: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    left_class: list[tuple[str, str]] = field(default_factory=list)  # (pupil, class)

    def note(self, bucket: dict[str, list[str]], table: str, key: str) -> None:
        bucket.setdefault(table, []).append(key)

    def note_all(self, bucket: dict[str, list[str]], table: str, keys: list[str]) -> None:
        """`note` of each of `keys`, in their order (a table without any is not named)."""
        if keys:
            bucket.setdefault(table, []).extend(keys)

    @property
    def empty(self) -> bool:
        return not (self.added or self.updated or self.removed)


@dataclass(frozen=True)
class LetterRecord:
    key: str
    recipient_name: str
    address: str
    path: str
    created_at: datetime
    posted_at: datetime | None
    pupils: tuple[str, ...]  # the persons its deliveries concern
    announcements: tuple[int, ...]
    notices: tuple[str, ...] = ()  # the kinds of notice it carries ("invite", …)

    @classmethod
    def carrying(
        cls,
        key: str,
        recipient_name: str,
        address: str,
        path: str,
        created_at: datetime,
        posted_at: datetime | None,
        deliveries: Iterable[Delivery],
    ) -> LetterRecord:
        """A letter as the office sees it, described by the deliveries it carries."""
        carried = list(deliveries)
        return cls(
            key=key,
            recipient_name=recipient_name,
            address=address,
            path=path,
            created_at=created_at,
            posted_at=posted_at,
            pupils=tuple(sorted({d.pupil_id for d in carried})),
            announcements=tuple(
                sorted({d.announcement_id for d in carried if d.announcement_id is not None})
            ),
            notices=tuple(sorted({d.notice.template for d in carried if d.notice is not None})),
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """A mentor's scheduled reminder: once, or repeating by an iCalendar RRULE, in the school's
    local time. Each occurrence that comes due fires at most once (`Firing`)."""

    id: int
    class_id: str
    author_id: str
    kind: Kind
    text: str
    when: str
    """The moment as the author wrote it, normalised (`elke maandag 08:00`); it reads back to
    the same recurrence (`bot.when.parse_when`)."""
    rule: str | None
    """The recurrence as an iCalendar RRULE (`FREQ=WEEKLY;BYDAY=MO`); None: once."""
    start: datetime
    """The first occurrence as local wall-clock time (naive), in `timezone`."""
    timezone: str
    created_at: datetime
    until: date | None = None
    """The last day an occurrence may fall on (local), inclusive; None: no end."""
    exceptions: tuple[date, ...] = ()
    """Local days on which the schedule does not fire."""
    next_run: datetime | None = None
    """The next occurrence that has not fired (aware, UTC); None: nothing left to fire."""
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None

    @property
    def recurring(self) -> bool:
        return self.rule is not None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None and self.next_run is not None


class FiringOutcome(enum.StrEnum):
    """What became of one occurrence of a schedule."""

    FIRED = "fired"  # an announcement was made (`Firing.announcement_id`)
    MISSED = "missed"  # due while klasbot was down, past the grace period: skipped, author told
    REFUSED = "refused"  # the rules refused it at firing time (author told)


@dataclass(frozen=True, slots=True)
class Firing:
    """One occurrence of a schedule that came due: unique per (schedule, occurrence)."""

    schedule_id: int
    occurrence: datetime
    outcome: FiringOutcome
    recorded_at: datetime
    announcement_id: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Holiday:
    """A school holiday period, whole local days from `start` to `end` inclusive."""

    start: date
    end: date
    name: str
    source: str = "config"
    """Where it comes from: `config`, or the file it was imported from."""

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

"""Interfaces the core owns. Adapters implement them; the core never imports an adapter.

Each channel port only *sends*; a chat platform also manages membership. Every method documents
what it raises. Channel methods raise only `TransientDeliveryError` or `PermanentDeliveryError`
for delivery problems; the retry policy lives in the core (`bot.dispatch`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain import (
    Account,
    Address,
    Announcement,
    AuditEvent,
    Channel,
    ClassRoster,
    Delivery,
    DeliveryStatus,
    Enrollment,
    Group,
    GroupState,
    Invite,
    Person,
    Reason,
    Recipient,
    RosterChanges,
    RosterSnapshot,
    Route,
    School,
    SchoolClass,
)

if TYPE_CHECKING:
    from bot.routing import GroupView


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


@dataclass(frozen=True, slots=True)
class PlatformCapabilities:
    """What a chat platform can do, declared up front instead of failing at run time."""

    min_age: int = 13
    can_delete_messages: bool = True
    can_remove_members: bool = True
    html: bool = False


@dataclass(frozen=True, slots=True)
class GroupMessage:
    chat_id: str
    text: str
    html: str | None = None
    idempotency_key: str = ""


class ChatPlatform(Protocol):
    """A chat platform the bot runs class groups on. Membership changes are requested here and
    reported back to the core by the adapter (see `bot.service.Klasbot.member_joined`)."""

    name: str
    capabilities: PlatformCapabilities

    async def post(self, message: GroupMessage) -> str:
        """Post in a group; returns the platform's message id.

        Raises TransientDeliveryError (rate limit, network) or PermanentDeliveryError (the bot
        was removed, the chat is gone)."""
        ...

    async def admit(self, chat_id: str, account_id: str) -> bool:
        """Let a linked, eligible person into the group (approve, invite or add).

        Returns True when they are a member now, False when the platform will tell us later
        (an invite sent, a join request awaited). Idempotent."""
        ...

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        """Remove someone who may not be in the group (rule 2). Idempotent; never raises for a
        person who is already gone."""
        ...


@dataclass(frozen=True, slots=True)
class MailMessage:
    """An e-mail to render and send. The adapter renders `template` (Jinja2, in `lang`) with
    `context`; the core never formats mail itself. `message_id` is the delivery's idempotency key
    and becomes the RFC 5322 Message-ID, so a resend after a crash is recognisable."""

    to: tuple[str, ...]
    template: str  # "announcement", "invite", "report", "unreachable"
    context: dict[str, Any]
    message_id: str
    lang: str = "nl"
    reply_to: str | None = None


class Mailer(Protocol):
    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        """Send a batch (one connection for all of it where the transport has connections).

        A transport whose resend would make a second copy awaits `on_sent(index)` as soon as the
        peer accepted message `index`, so the caller records it before the next one goes out
        (this narrows the crash window to one message).

        Returns one entry per message: None when accepted, else the TransientDeliveryError or
        PermanentDeliveryError that message met. Raises TransientDeliveryError when the whole
        batch could not be attempted (server down, login failed)."""
        ...


@dataclass(frozen=True, slots=True)
class LetterItem:
    """One announcement (or invite) for one pupil inside a household's letter."""

    pupil_name: str
    title: str
    body: str
    signature: str


@dataclass(frozen=True, slots=True)
class Letter:
    key: str  # the household and the day: one letter per household per day
    recipient_name: str
    address: Address
    items: tuple[LetterItem, ...]
    date_text: str


class LetterPrinter(Protocol):
    def render(self, letter: Letter) -> str:
        """Write the letter as a PDF and return its path. Idempotent per `letter.key`."""
        ...


class Store(Protocol):
    """The repositories, bound to one transaction (see `UnitOfWork.transaction`). Reads return
    domain objects; writes are visible to later reads of the same transaction and are kept only
    when the transaction commits. Raises the database's own errors (a unique constraint, a lost
    connection): the transaction is then rolled back as a whole."""

    async def sync_roster(
        self, snapshot: RosterSnapshot, *, deleted: dict[str, frozenset[str]] | None = None
    ) -> RosterChanges:
        """Make the stored roster equal to `snapshot`: add, update and remove.

        With `deleted` (a OneRoster *delta* export) the snapshot holds only changed records: they
        are added or updated, and only the persons and classes the export marked `tobedeleted`
        are removed; nothing is removed for being absent."""
        ...

    async def get_person(self, person_id: str) -> Person | None:
        ...

    async def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        ...

    async def find_classes(self, ref: str) -> list[SchoolClass]:
        ...

    async def list_classes(self) -> list[tuple[SchoolClass, School, int, int]]:
        """(class, school, number of pupils, number of staff) for every class."""
        ...

    async def class_roster(self, class_id: str) -> ClassRoster:
        ...

    async def enrollments_of(self, person_id: str) -> list[Enrollment]:
        ...

    async def add_group(
        self, class_id: str, platform: str, chat_id: str, state: GroupState, now: datetime
    ) -> Group:
        ...

    async def groups(self, class_id: str | None = None, platform: str | None = None) -> list[Group]:
        ...

    async def group(self, group_id: int) -> Group | None:
        ...

    async def group_by_chat(self, platform: str, chat_id: str) -> Group | None:
        ...

    async def update_group(
        self, group_id: int, *, state: GroupState | None = None, chat_id: str | None = None
    ) -> None:
        ...

    async def set_member(
        self, group_id: int, person_id: str, account_id: str, state: str, now: datetime
    ) -> None:
        ...

    async def members(self, group_id: int) -> dict[str, tuple[str, str]]:
        """person id → (account id, state) for everyone the group has had."""
        ...

    async def group_views(self, class_id: str, min_ages: dict[str, int]) -> list[GroupView]:
        ...

    async def link_account(
        self, platform: str, account_id: str, person_id: str, now: datetime
    ) -> None:
        ...

    async def person_by_account(self, platform: str, account_id: str) -> Person | None:
        ...

    async def accounts_of(self, person_id: str) -> list[Account]:
        ...

    async def add_invite(self, invite: Invite) -> None:
        ...

    async def invite(self, code: str, *, for_update: bool = False) -> Invite | None:
        ...

    async def use_invite(self, code: str, now: datetime) -> bool:
        """Mark used; False when someone else used it first (single use under concurrency)."""
        ...

    async def add_announcement(self, a: Announcement) -> int:
        ...

    async def add_deliveries(
        self,
        announcement_id: int,
        routes: Sequence[tuple[Route, str]],
        *,
        due_at: datetime,
        status: DeliveryStatus,
    ) -> None:
        """One outbox row per (route, idempotency key); same transaction as the announcement."""
        ...

    async def announcement(self, announcement_id: int) -> Announcement | None:
        ...

    async def announcements(self, class_id: str | None = None) -> list[Announcement]:
        ...

    async def deliveries(self, announcement_id: int) -> list[Delivery]:
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, *, exclude: Iterable[int] = ()
    ) -> list[Delivery]:
        """Claim up to `limit` due deliveries for this worker until `lease_until`, plus the rest
        of every group post among them (so a batch may hold a few more than `limit`).

        On PostgreSQL concurrent dispatchers skip each other's rows (FOR UPDATE SKIP LOCKED);
        SQLite serialises writers, so one process dispatches there."""
        ...

    async def hold(self, ids: Sequence[int], until: datetime) -> None:
        ...

    async def mark_sent(self, ids: Sequence[int], now: datetime, external_id: str | None) -> None:
        ...

    async def mark_retry(self, delivery_id: int, error: str, due_at: datetime) -> None:
        ...

    async def reroute(
        self,
        delivery_id: int,
        *,
        channel: Channel,
        reason: Reason | None,
        recipients: Sequence[Recipient],
        error: str,
        now: datetime,
    ) -> None:
        """A permanent failure: the pupil moves to the next channel (still one row per pupil)."""
        ...

    async def open_letter_key(self, base_key: str) -> str:
        """The household's letter for the day that the office has not posted yet (a new one, with
        a suffix, once the earlier one went out)."""
        ...

    async def add_letter(
        self,
        key: str,
        recipient_name: str,
        address: str,
        path: str,
        now: datetime,
        delivery_ids: Sequence[int],
    ) -> None:
        ...

    async def letter_deliveries(self, key: str) -> list[Delivery]:
        ...

    async def release(self, ids: Sequence[int]) -> None:
        """Give claimed rows back without an attempt (this process cannot deliver them)."""
        ...

    async def audit(self, event: AuditEvent) -> None:
        ...

    async def audit_many(self, events: Sequence[AuditEvent]) -> None:
        """Append audit events (in bulk: an announcement to a big class writes one per pupil)."""
        ...

    async def audit_event(
        self,
        kind: str,
        at: datetime,
        actor_id: str | None,
        persons: Sequence[str],
        details: dict[str, Any],
    ) -> None:
        ...

    async def get_state(self, platform: str, key: str) -> str | None:
        ...

    async def set_state(self, platform: str, key: str, value: str) -> None:
        ...


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Store]:
        """One transaction: commits when the block ends normally, rolls back when it raises."""
        ...

"""Fixtures for the fast use-case tests: the demo school imported into the in-memory unit of
work, recording fakes of the core's ports (two chat platforms, a mailer, a letter printer) and a
few helpers to read what the use cases stored.

The clock stands still at DEMO_NOW (Monday 23 November 2026, 10:00 in Amsterdam) until a test
moves it. "console" creates its own groups and admits from 13; "binder" only binds groups a
teacher made and, by the school's policy, admits from 16.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.oneroster.reader import read_roster
from bot.chat.front import ChatFrontEnd
from bot.clock import FrozenClock
from bot.codes import hash_code
from bot.dispatch import Dispatcher, RetryPolicy
from bot.domain import (
    AnnouncementDraft,
    AuditEvent,
    ClassRoster,
    Delivery,
    Group,
    Invite,
    Kind,
    Person,
    RosterSnapshot,
)
from bot.errors import DeliveryError
from bot.notices import Notice
from bot.policy import SchoolPolicy
from bot.ports import GroupMessage, Letter, MailMessage, PlatformCapabilities, Reply
from bot.usecases import groups as groups_uc
from bot.usecases import linking
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from storage.memory import InMemoryUnitOfWork
from tests.conftest import DEMO_NOW, DEMO_ROSTER

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SCHOOL = "De Passie Utrecht"
LEADERSHIP = "directie@passie-utrecht.example"
DEVRIES_MAIL = "j.devries@passie-utrecht.example"
VISSER_MAIL = "a.visser@passie-utrecht.example"
"""The demo roster's administrator (school leadership) of De Passie Utrecht."""
CLASS_2B = ("p-2b-01", "p-2b-02", "p-2b-03", "p-2b-04", "p-2b-05", "p-2b-06", "p-2b-07")
RETRY = RetryPolicy(base_delay=60.0, max_delay=3600.0, max_attempts=3, jitter=0.0)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware instant at the school's wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


TODAY = DEMO_NOW.astimezone(AMSTERDAM).date()  # Monday 2026-11-23
TOMORROW = TODAY + timedelta(days=1)


# --- fakes of the ports ---------------------------------------------------------------------------


class FakePlatform:
    """A `ChatPlatform` that records what the core asked of it. Errors put in `post_errors` or
    `admit_errors` are raised by the next calls, in order."""

    def __init__(self, name: str, capabilities: PlatformCapabilities) -> None:
        self.name = name
        self.capabilities = capabilities
        self.posted: list[GroupMessage] = []
        self.admitted: list[tuple[str, str]] = []
        self.removed: list[tuple[str, str, str]] = []
        self.created: list[str] = []
        self.post_errors: list[DeliveryError] = []
        self.admit_errors: list[DeliveryError] = []
        self.admit_result = True
        self.edited: list[tuple[str, GroupMessage]] = []
        self.edit_errors: list[DeliveryError] = []

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        if self.post_errors:
            raise self.post_errors.pop(0)
        self.posted.append(message)
        return f"{self.name}-message-{len(self.posted)}"

    async def edit(self, chat_id: str, message_id: str, message: GroupMessage) -> None:
        if self.edit_errors:
            raise self.edit_errors.pop(0)
        self.edited.append((message_id, message))

    async def admit(self, chat_id: str, account_id: str) -> bool:
        if self.admit_errors:
            raise self.admit_errors.pop(0)
        self.admitted.append((chat_id, account_id))
        return self.admit_result

    async def create_group(self, roster: ClassRoster) -> str:
        self.created.append(roster.school_class.id)
        return f"{self.name}:{roster.school_class.id}"

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        self.removed.append((chat_id, account_id, reason))

    def accounts_removed(self) -> list[str]:
        return [account for _, account, _ in self.removed]


@dataclass
class FakeMailer:
    """A `Mailer` that accepts every message (None) unless an error was scripted for one of its
    addresses (`fail_to`), or raises for the whole batch while `down` holds errors."""

    accepted: list[MailMessage] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    down: list[Exception] = field(default_factory=list)
    call_on_sent: bool = False
    batches: int = 0

    def fail_to(self, address: str, *errors: Exception) -> None:
        self.failures.setdefault(address, []).extend(errors)

    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        self.batches += 1
        if self.down:
            raise self.down.pop(0)
        results: list[Exception | None] = []
        for index, message in enumerate(messages):
            queue = next((self.failures[a] for a in message.to if self.failures.get(a)), None)
            if queue:
                results.append(queue.pop(0))
                continue
            self.accepted.append(message)
            if on_sent is not None and self.call_on_sent:
                await on_sent(index)
            results.append(None)
        return results

    def to(self, address: str) -> list[MailMessage]:
        return [m for m in self.accepted if address in m.to]

    def of(self, template: str) -> list[MailMessage]:
        return [m for m in self.accepted if m.notice.template == template]


@dataclass
class FakePrinter:
    """A `LetterPrinter` that records letters and returns a path; an OSError queued in
    `failures[street]` is raised for the next letter to that street."""

    letters: list[Letter] = field(default_factory=list)
    failures: dict[str, list[OSError]] = field(default_factory=dict)

    def render(self, letter: Letter) -> str:
        queue = self.failures.get(letter.address.street)
        if queue:
            raise queue.pop(0)
        self.letters.append(letter)
        return f"/letters/{letter.key}.pdf"

    def to(self, street: str) -> list[Letter]:
        return [x for x in self.letters if x.address.street == street]


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def snapshot() -> RosterSnapshot:
    return read_roster(DEMO_ROSTER)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DEMO_NOW)


@pytest.fixture
def console() -> FakePlatform:
    return FakePlatform(
        "console", PlatformCapabilities(min_age=13, creates_groups=True, can_edit_posts=True)
    )


@pytest.fixture
def binder() -> FakePlatform:
    return FakePlatform(
        "binder", PlatformCapabilities(min_age=16, creates_groups=False, binds_groups=True)
    )


@pytest.fixture
def policy(console: FakePlatform, binder: FakePlatform) -> SchoolPolicy:
    return SchoolPolicy(
        platforms={"console": console.capabilities, "binder": binder.capabilities},
        leadership_emails=(LEADERSHIP,),
        school_name=SCHOOL,
    )


@pytest.fixture
def db() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork()


@pytest.fixture
async def ctx(
    db: InMemoryUnitOfWork,
    clock: FrozenClock,
    policy: SchoolPolicy,
    console: FakePlatform,
    binder: FakePlatform,
    snapshot: RosterSnapshot,
) -> Context:
    context = Context(
        db=db, clock=clock, policy=policy, platforms={"console": console, "binder": binder}
    )
    await roster_uc.import_roster(context, snapshot)
    return context


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def printer() -> FakePrinter:
    return FakePrinter()


@pytest.fixture
def dispatcher(ctx: Context, mailer: FakeMailer, printer: FakePrinter) -> Dispatcher:
    return Dispatcher(
        ctx,
        mailer=mailer,
        printer=printer,
        retry=RETRY,
        batch_size=50,
        lease_seconds=300,
        rng=random.Random(7),
    )


@pytest.fixture
def front(ctx: Context) -> ChatFrontEnd:
    return ChatFrontEnd(ctx)


# --- helpers --------------------------------------------------------------------------------------


def homework(**changes: object) -> AnnouncementDraft:
    fields: dict[str, object] = {
        "class_id": "2B",
        "author_id": "t-devries",
        "kind": Kind.HOMEWORK,
        "date": TOMORROW,
        "subject": "wiskunde",
        "text": "Maak opgave 1 t/m 5.",
    }
    fields.update(changes)
    return AnnouncementDraft(**fields)  # type: ignore[arg-type]


def code_for(person_id: str, platform: str = "console") -> str:
    return f"C{person_id}{platform}".upper().replace("-", "")


async def add_invite(
    ctx: Context, person_id: str, code: str, *, valid: timedelta = timedelta(days=14)
) -> None:
    """A code stored directly (no outbox row), as `create_invites` would store it: its hash."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        await tx.invites.add(Invite(hash_code(code), person_id, now, now + valid))


async def link(
    ctx: Context, person_id: str, *, platform: str = "console", account: str | None = None
) -> Reply:
    """Link `person_id`'s account (default: the person id itself) with a fresh code."""
    code = code_for(person_id, platform)
    await add_invite(ctx, person_id, code)
    return await linking.link_account(ctx, platform, account or person_id, code)


async def class_2b_with_group(ctx: Context) -> Group:
    """A console group for 2B with Zoë (p-2b-01), Noor (p-2b-03) and their mentor in it."""
    group = await groups_uc.create_group(ctx, "2B", "console")
    for person_id in ("p-2b-01", "p-2b-03", "t-devries"):
        await link(ctx, person_id)
    return group


async def person(ctx: Context, person_id: str) -> Person:
    async with ctx.db.transaction() as tx:
        found = await tx.roster.person(person_id)
    assert found is not None
    return found


async def all_rows(ctx: Context) -> list[Delivery]:
    """Every outbox row (announcement copies and notices), by id."""
    async with ctx.db.transaction() as tx:
        return await tx.outbox.get(range(1, 5000))


async def notice_rows(ctx: Context, template: str | None = None) -> list[Delivery]:
    return [
        d
        for d in await all_rows(ctx)
        if d.notice is not None and (template is None or d.notice.template == template)
    ]


def notice_of(row: Delivery) -> Notice:
    assert row.notice is not None
    return row.notice


async def by_pupil(ctx: Context, announcement_id: int) -> dict[str, Delivery]:
    async with ctx.db.transaction() as tx:
        return {d.pupil_id: d for d in await tx.outbox.for_announcement(announcement_id)}


async def events(
    ctx: Context, kind: str | None = None, person_id: str | None = None
) -> list[AuditEvent]:
    async with ctx.db.transaction() as tx:
        return await tx.audit.events(person_id=person_id, kind=kind)


async def group_of(ctx: Context, platform: str, chat_id: str) -> Group | None:
    async with ctx.db.transaction() as tx:
        return await tx.groups.by_chat(platform, chat_id)


async def member_states(ctx: Context, group_id: int) -> dict[str, str]:
    async with ctx.db.transaction() as tx:
        return {p: m.state.value for p, m in (await tx.groups.members(group_id)).items()}

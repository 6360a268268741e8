"""Random failure schedules through the dispatcher: nothing lost, nothing duplicated.

The peers are fakes of the core's ports whose answer to each call comes from a schedule that
hypothesis draws: accept, a transient error (with or without retry-after), a permanent error, the
whole mail server down, and process death — before the peer accepted, after it accepted but before
the outbox recorded it, and after both. A death is a `Crash` (a BaseException, like SIGKILL it
is caught by nothing in the dispatcher); the test then moves the clock past the lease and goes on
with a fresh Dispatcher, as a restarted process would.

Driven until nothing is due (moving a FrozenClock to the next due time), every pupil must have
exactly one delivery row per announcement, in a final state: sent (group or e-mail), a letter
awaiting the office, or unreachable. The peers must have accepted each delivery's Message-ID /
each group post's idempotency key exactly once *outside the crash window* when its row says it
went that way, never otherwise, and a second copy only right after a death in that window.

The database is SQLite in a temporary directory: a migrated template holding the roster and a
console group with four linked members, copied afresh for every example.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.dispatch import Dispatcher, RetryPolicy
from bot.domain import AnnouncementDraft, Channel, DeliveryStatus
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.notices import UnreachableNotice
from bot.ports import GroupMessage, Letter, MailMessage, PlatformCapabilities
from bot.usecases import announcing, queries
from bot.usecases import groups as group_uc
from bot.usecases import invites as invite_uc
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from storage.models import DeliveryRow
from tests.conftest import DEMO_NOW, make_settings
from tests.support.rosters import Roster, User

LEASE = 60.0


class Crash(BaseException):  # noqa: N818 — a process death, not an error anyone handles
    """The process dies here."""


# --- the school -----------------------------------------------------------------------------------

MEMBERS = ["m-1", "m-2", "m-3", "m-4"]  # linked members of the class's console group


def pupil(id: str, given: str, family: str, born: str, email: str = "", *guardians: str) -> User:
    return User(id, "student", given, family, birth=born, email=email, agents=list(guardians))


def guardian(id: str, given: str, family: str, email: str = "", **kw: Any) -> User:
    return User(id, "guardian", given, family, email=email, **kw)


def school() -> Roster:
    r = Roster(classes=[("cls-5h", "5H")])
    home = ("Lindelaan 3", "3581 KL", "Utrecht")  # e-1's and p-1's families share a household
    r.users = [
        User("t-1", "teacher", "Wouter", "Prins", email="w.prins@veen.example"),
        # Group members, 16+: own e-mail; a guardian's letter, except m-4 (nobody to write to).
        pupil("m-1", "Aylin", "Yilmaz", "2009-02-01", "m1@l.example", "gm-1"),
        pupil("m-2", "Bas", "Brink", "2009-03-01", "m2@l.example", "gm-2"),
        pupil("m-3", "Cor", "Cuijpers", "2009-04-01", "m3@l.example", "gm-3"),
        pupil("m-4", "Dewi", "Dijkman", "2009-05-01", "m4@l.example"),
        guardian("gm-1", "Hatice", "Yilmaz", address=("Oudegracht 1", "3511 AA", "Utrecht")),
        guardian("gm-2", "Henk", "Brink", address=("Oudegracht 2", "3511 AB", "Utrecht")),
        guardian("gm-3", "Hanna", "Cuijpers", address=("Oudegracht 3", "3511 AC", "Utrecht")),
        # Not in the group: own e-mail (16+), a guardian's e-mail, or a letter.
        pupil("e-1", "Eline", "Eijk", "2009-06-01", "e1@l.example", "ge-1"),
        guardian("ge-1", "Gert", "Eijk", address=home),
        pupil("e-2", "Fenna", "Frank", "2009-07-01", "e2@l.example"),
        pupil("y-1", "Guus", "Gort", "2012-03-01", "", "gy-1", "gy-2"),
        guardian(
            "gy-1",
            "Ilse",
            "Gort",
            "ilse@gort.example",
            address=("Biltstraat 9", "3572 AB", "Utrecht"),
        ),
        guardian("gy-2", "Jan", "Gort", "jan@gort.example"),
        pupil("p-1", "Kim", "Eijk", "2012-08-01", "", "ge-1"),
        pupil("q-1", "Lars", "Lok", "2011-09-01", "", "gq-1"),
        guardian(
            "gq-1",
            "Mila",
            "Lok",
            "mila@lok.example",
            address=("Nachtegaalstraat 5", "3581 AD", "Utrecht"),
            fallback="post",
        ),
    ]
    pupils = [u.id for u in r.users if u.role == "student"]
    r.enrollments = [("cls-5h", "t-1", "teacher", True)]
    r.enrollments += [("cls-5h", p, "student", False) for p in pupils]
    return r


PUPILS = sorted(u.id for u in school().users if u.role == "student")
DRAFTS = [
    AnnouncementDraft("5H", "t-1", "reminder", text="Neem morgen je gymspullen mee."),
    AnnouncementDraft(
        "5H",
        "t-1",
        "homework",
        date=date(2026, 11, 25),
        subject="aardrijkskunde",
        text="Lees paragraaf 3.",
    ),
    AnnouncementDraft(
        "5H", "t-1", "trip", date=date(2026, 12, 4), text="Excursie naar het Spoorwegmuseum."
    ),
]


def app_settings(directory: Path) -> Any:
    return make_settings(
        directory, f"sqlite+aiosqlite:///{directory / 'klasbot.db'}", KLASBOT_SCHOOL__QUIET_HOURS=""
    )


async def make_template(directory: Path) -> None:
    config = app_settings(directory)
    await bootstrap.migrate(config)
    async with bootstrap.build(config, clock=FrozenClock(DEMO_NOW)) as app:
        await roster_uc.import_roster(app.ctx, read_roster(school().write(directory / "export")))
        await group_uc.create_group(app.ctx, "5H", "console")
        for person in MEMBERS:
            [invite] = await invite_uc.create_invites(app.ctx, person_ref=person)
            reply = await app.chat.handle("console", person, f"/start {invite.code}")
            assert any("gekoppeld" in t for t in reply.texts), reply.texts


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("template")
    asyncio.run(make_template(directory))
    return directory / "klasbot.db"


# --- peers that follow a schedule -----------------------------------------------------------------

ACCEPT = "accept"
TRANSIENT = "transient"
PERMANENT = "permanent"
DOWN = "down"  # the mail server cannot be reached: the whole send() raises
CRASH_BEFORE = "crash-before"  # the process dies before the peer took the message
CRASH_AFTER_ACCEPT = "crash-after-accept"  # the peer took it; the outbox never heard
CRASH_AFTER_RECORD = "crash-after-record"  # the peer took it and the outbox was told of it

Step = tuple[str, float | None]  # (what happens, retry-after)


@dataclass
class Peer:
    """What a fake peer was asked and what it accepted, per key."""

    schedule: Iterator[Step]
    accepted: Counter[str] = field(default_factory=Counter)
    in_window: Counter[str] = field(default_factory=Counter)  # accepted, then died unrecorded
    crashes: int = 0

    def next(self) -> Step:
        return next(self.schedule, (ACCEPT, None))

    def clean(self, key: str) -> int:
        """Acceptances the outbox could have recorded (outside the crash window)."""
        return self.accepted[key] - self.in_window[key]


class ScheduledMailer(Peer):
    """A `Mailer`. Announcement mails follow the schedule; the unreachable reports to the author
    and leadership are always accepted (they are collected in `reports`)."""

    def __init__(self, schedule: Iterator[Step]) -> None:
        super().__init__(schedule)
        self.reports: list[MailMessage] = []

    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        results: list[Exception | None] = []
        taken: list[int] = []  # the announcement mails accepted in this call

        def die() -> Crash:
            # Accepted mails are recorded in small batches (`SentRecorder`, whose `accepted`
            # is `on_sent`): those it had not recorded yet are in the crash window.
            recorded = getattr(getattr(on_sent, "__self__", None), "recorded", set())
            for i in taken:
                if i not in recorded:
                    self.in_window[messages[i].message_id] += 1
            self.crashes += 1
            return Crash()

        for index, message in enumerate(messages):
            if message.notice.template != "announcement":
                self.reports.append(message)
                results.append(None)
                continue
            what, retry_after = self.next()
            if what == DOWN:
                if not results:
                    raise TransientDeliveryError(
                        "cannot connect to SMTP server", retry_after=retry_after
                    )
                what = TRANSIENT
            if what == TRANSIENT:
                results.append(
                    TransientDeliveryError("451 4.7.1 try again later", retry_after=retry_after)
                )
            elif what == PERMANENT:
                results.append(PermanentDeliveryError("550 5.1.1 no such user"))
            elif what == CRASH_BEFORE:
                raise die()
            else:
                self.accepted[message.message_id] += 1
                taken.append(index)
                if what == CRASH_AFTER_ACCEPT:
                    raise die()
                results.append(None)
                if on_sent is not None:
                    await on_sent(index)
                if what == CRASH_AFTER_RECORD:
                    raise die()
        return results


class ScheduledChat(Peer):
    """A console-like `ChatPlatform`: a permanent error means the bot lost the group."""

    name = "console"
    capabilities = PlatformCapabilities(min_age=13)

    def __init__(self, schedule: Iterator[Step]) -> None:
        super().__init__(schedule)
        self.posts: list[GroupMessage] = []

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        what, retry_after = self.next()
        key = message.idempotency_key
        if what in (TRANSIENT, DOWN):
            raise TransientDeliveryError("429 Too Many Requests", retry_after=retry_after)
        if what == PERMANENT:
            raise PermanentDeliveryError("the bot was removed from the group", reason="group-lost")
        if what == CRASH_BEFORE:
            self.crashes += 1
            raise Crash
        self.accepted[key] += 1
        self.posts.append(message)
        if what == CRASH_AFTER_ACCEPT:
            self.in_window[key] += 1
            self.crashes += 1
            raise Crash
        return f"msg-{len(self.posts)}"

    async def admit(self, chat_id: str, account_id: str) -> bool:
        return True

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        return None


class ScheduledPrinter(Peer):
    """A `LetterPrinter` that keeps the last version of each letter instead of a PDF."""

    def __init__(self, schedule: Iterator[Step]) -> None:
        super().__init__(schedule)
        self.letters: dict[str, Letter] = {}

    def render(self, letter: Letter) -> str:
        what, _ = self.next()
        if what in (TRANSIENT, DOWN, PERMANENT):
            raise OSError(28, "No space left on device")
        if what == CRASH_BEFORE:
            self.crashes += 1
            raise Crash
        self.letters[letter.key] = letter
        if what in (CRASH_AFTER_ACCEPT, CRASH_AFTER_RECORD):
            self.crashes += 1
            raise Crash
        return f"/letters/{letter.key}.pdf"


def steps(kinds: list[str]) -> st.SearchStrategy[list[Step]]:
    step = st.tuples(
        st.sampled_from(kinds),
        st.one_of(st.none(), st.floats(min_value=0, max_value=300, allow_nan=False)),
    )
    weighted = st.one_of(st.tuples(st.just(ACCEPT), st.none()), step)  # accept half the time
    return st.lists(weighted, max_size=25)


ALL = [TRANSIENT, PERMANENT, CRASH_BEFORE, CRASH_AFTER_ACCEPT, CRASH_AFTER_RECORD]


@dataclass
class Plan:
    announcements: int
    batch_size: int
    max_attempts: int
    seed: int
    mail: list[Step]
    chat: list[Step]
    letters: list[Step]


plans = st.builds(
    Plan,
    announcements=st.integers(1, 3),
    batch_size=st.integers(1, 8),
    max_attempts=st.integers(2, 5),
    seed=st.integers(0, 2**32),
    mail=steps([*ALL, DOWN]),
    chat=steps(ALL),
    letters=steps([TRANSIENT, CRASH_BEFORE, CRASH_AFTER_ACCEPT]),
)


# --- the property ---------------------------------------------------------------------------------

_examples = itertools.count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=plans)
def test_random_failures_lose_nothing_and_duplicate_nothing(
    plan: Plan, template: Path, tmp_path: Path
) -> None:
    directory = tmp_path / f"example-{next(_examples)}"
    directory.mkdir()
    shutil.copyfile(template, directory / "klasbot.db")
    try:
        asyncio.run(run_example(plan, directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def run_example(plan: Plan, directory: Path) -> None:
    clock = FrozenClock(DEMO_NOW)
    mailer = ScheduledMailer(iter(plan.mail))
    chat = ScheduledChat(iter(plan.chat))
    printer = ScheduledPrinter(iter(plan.letters))
    async with bootstrap.build(app_settings(directory), clock=clock) as app:
        first: dict[int, dict[str, Channel]] = {}
        for draft in DRAFTS[: plan.announcements]:
            result = await announcing.announce(app.ctx, draft)
            first[result.announcement.id] = {
                d.pupil_id: d.channel
                for d in await queries.deliveries(app.ctx, result.announcement.id)
            }
        rng = random.Random(plan.seed)

        def dispatcher() -> Dispatcher:
            return Dispatcher(
                Context(db=app.db, clock=clock, policy=app.policy, platforms={"console": chat}),
                mailer=mailer,
                printer=printer,
                retry=RetryPolicy(base_delay=5, max_delay=60, max_attempts=plan.max_attempts),
                batch_size=plan.batch_size,
                lease_seconds=LEASE,
                rng=rng,
            )

        current = dispatcher()
        crashes = 0
        for _ in range(500):
            try:
                await current.run_once()
            except Crash:
                crashes += 1
                clock.advance(seconds=LEASE + 1)
                current = dispatcher()  # the restarted process
                continue
            next_due = await next_due_time(app)
            if next_due is None:
                break
            assert next_due > clock.now(), "run_once returned with work due"
            clock.at = next_due
        else:
            pytest.fail("the outbox never became quiescent")
        assert crashes == mailer.crashes + chat.crashes + printer.crashes

        async with app.db.transaction() as store:
            rows = (await store.session.execute(sa.select(DeliveryRow))).scalars().all()
            names = await store.roster.persons(PUPILS)
            bodies = {a: (await store.announcements.get(a)).body for a in first}  # type: ignore[union-attr]
            groups = await store.groups.list()
    check(plan, first, rows, names, bodies, [g.id for g in groups], mailer, chat, printer, crashes)
    # What the drawn schedules exercised (shown by --hypothesis-show-statistics).
    event(f"deaths: {min(crashes, 3)}{'+' if crashes > 3 else ''}")
    if sum(mailer.in_window.values()) and any(mailer.accepted[k] > 1 for k in mailer.in_window):
        event("an e-mail sent twice in the crash window")
    if any(chat.accepted[k] > 1 for k in chat.in_window):
        event("a group post made twice in the crash window")
    if any(r.reason == "group-lost" for r in rows):
        event("group lost")
    if any(r.channel == Channel.UNREACHABLE.value for r in rows):
        event("someone unreachable")
    if any(
        r.channel == Channel.POST.value and first[r.announcement_id][r.pupil_id] != Channel.POST
        for r in rows
    ):
        event("moved to a letter")


async def next_due_time(app: bootstrap.App) -> datetime | None:
    """When the next delivery falls due (or its lease runs out), None when nothing is left."""
    async with app.db.transaction() as store:
        rows = (
            (
                await store.session.execute(
                    sa.select(DeliveryRow).where(
                        DeliveryRow.status.in_(
                            [DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value]
                        ),
                        DeliveryRow.channel != Channel.UNREACHABLE.value,
                        DeliveryRow.letter_key.is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
    if not rows:
        return None
    return min(max(r.due_at, r.claimed_until or r.due_at) for r in rows)


def check(
    plan: Plan,
    first: dict[int, dict[str, Channel]],
    rows: Sequence[DeliveryRow],
    names: dict[str, Any],
    bodies: dict[int, str],
    group_ids: list[int],
    mailer: ScheduledMailer,
    chat: ScheduledChat,
    printer: ScheduledPrinter,
    crashes: int,
) -> None:
    # The warnings about unreachable pupils are outbox rows of their own, and all went out.
    notices = [r for r in rows if r.announcement_id is None]
    for r in notices:
        assert (r.channel, r.status) == (Channel.EMAIL.value, DeliveryStatus.SENT.value)
    rows = [r for r in rows if r.announcement_id is not None]
    # Exactly one row per pupil per announcement (rule 6), none lost.
    per_announcement: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        per_announcement[r.announcement_id].append(r.pupil_id)
    assert {a: sorted(p) for a, p in per_announcement.items()} == {a: PUPILS for a in first}

    [group_id] = group_ids
    by_unit: dict[int, list[DeliveryRow]] = defaultdict(list)
    for r in rows:
        if first[r.announcement_id][r.pupil_id] == Channel.GROUP:
            by_unit[r.announcement_id].append(r)
        message_id = f"<{r.idempotency_key}@klasbot>"
        # Every row is in a final state.
        if r.channel == Channel.EMAIL.value:
            assert r.status == DeliveryStatus.SENT.value, (r.pupil_id, r.status, r.last_error)
        elif r.channel == Channel.GROUP.value:
            assert r.status == DeliveryStatus.SENT.value, (r.pupil_id, r.status, r.last_error)
            assert r.external_id
        elif r.channel == Channel.POST.value:
            assert r.status == DeliveryStatus.PENDING.value, (r.pupil_id, r.status)
            assert r.letter_key, r.pupil_id
            letter = printer.letters[r.letter_key]
            assert (names[r.pupil_id].full_name, bodies[r.announcement_id]) in {
                (item.pupil_name, item.body) for item in letter.items
            }
        else:
            assert (r.channel, r.status) == (Channel.UNREACHABLE.value, DeliveryStatus.FAILED.value)
        # The mail server took this delivery's message once, outside the crash window, exactly
        # when the row says it went by e-mail; any further copy came from a death in the window.
        expected = 1 if r.channel == Channel.EMAIL.value else 0
        assert mailer.clean(message_id) == expected, (
            r.pupil_id,
            r.channel,
            mailer.accepted[message_id],
        )
        assert mailer.accepted[message_id] <= expected + mailer.in_window[message_id]

    # One group post per announcement reaches all its members: once outside the crash window
    # when they are recorded as reached in the group, and then nobody of them was moved.
    for announcement_id, unit in by_unit.items():
        key = f"{announcement_id}-g{group_id}"
        in_group = [r for r in unit if r.channel == Channel.GROUP.value]
        assert chat.clean(key) == (1 if in_group else 0), (
            key,
            chat.accepted[key],
            [r.channel for r in unit],
        )
        if in_group:
            assert len(in_group) == len(unit), [(r.pupil_id, r.channel, r.last_error) for r in unit]
        assert chat.accepted[key] <= chat.clean(key) + chat.in_window[key]
    assert set(chat.accepted) <= {f"{a}-g{group_id}" for a in by_unit}

    # The author and leadership heard of every pupil who became unreachable: the warning is in
    # the outbox, written with the re-route, so not even a death loses it.
    reported = {
        p
        for m in mailer.reports
        if isinstance(m.notice, UnreachableNotice)
        for item in m.notice.items
        for p in item.pupils
    }
    unreachable = {
        names[r.pupil_id].full_name for r in rows if r.channel == Channel.UNREACHABLE.value
    }
    assert unreachable <= reported


# --- the retry policy on its own ------------------------------------------------------------------


@given(
    attempts=st.integers(1, 30),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=10_000, allow_nan=False)),
    seed=st.integers(0, 2**32),
)
def test_backoff_is_exponential_with_bounded_jitter_and_honours_retry_after(
    attempts: int, retry_after: float | None, seed: int
) -> None:
    policy = RetryPolicy(base_delay=5, max_delay=3600, jitter=0.25)
    wait = policy.delay(attempts, retry_after, random.Random(seed))
    nominal = min(policy.max_delay, policy.base_delay * 2 ** (attempts - 1))
    assert wait >= (retry_after or 0.0)
    assert wait >= nominal * (1 - policy.jitter)
    assert wait <= max(nominal * (1 + policy.jitter), retry_after or 0.0)


def test_jitter_spreads_the_retries() -> None:
    policy = RetryPolicy(base_delay=5)
    rng = random.Random(1)
    waits = {round(policy.delay(3, None, rng), 6) for _ in range(50)}
    assert len(waits) > 40
    assert min(waits) >= 15
    assert max(waits) <= 25

"""Delivery that loses nothing: the dispatcher against a real SMTP server (aiosmtpd on loopback)
with `mail.transport = "smtp"`, on SQLite and PostgreSQL.

The server is down and comes back, refuses one recipient for now (4xx) or for good (5xx), and
refuses our login; the clock is frozen and moved past each retry delay. After every scenario each
pupil has received exactly one message (counted by Message-ID at the server), or was moved to a
letter or reported unreachable, and `deliveries` says which, with attempts and the last error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, Channel, Delivery, DeliveryStatus
from bot.errors import TransientDeliveryError
from bot.outbox import letters_posted
from bot.ports import GroupMessage
from bot.usecases import announcing, queries
from bot.usecases import groups as group_uc
from bot.usecases import invites as invite_uc
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.conftest import make_settings
from tests.support.processes import process_env, run_klasbot
from tests.support.rosters import Roster, User
from tests.support.smtp import Receipt, SmtpSink

AUTHOR_EMAIL = "k.smit@veen.example"
LEADERSHIP_EMAIL = "directie@veen.example"
BASE_DELAY = 5.0
JITTER = 0.25  # RetryPolicy's default

# Six pupils of 16 and older: every delivery is an e-mail to the pupil's own address. Each has a
# guardian with a postal address only, except Ruben, who has nobody to write to.
PUPILS = {
    "s-01": ("Anouk", "Bakker"),
    "s-02": ("Bram", "Claassen"),
    "s-03": ("Chantal", "Dekker"),
    "s-04": ("Dirk", "Evers"),
    "s-05": ("Esra", "Faber"),
    "s-06": ("Ruben", "Gerritsen"),
}
NO_ADDRESS = "s-06"
OVERVIEW_TIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 16:00 in Amsterdam: `digest_at`


def email_of(pupil: str) -> str:
    return f"{pupil}@leerling.veen.example"


def school() -> Roster:
    r = Roster(classes=[("cls-6v", "6V")])
    r.users = [User("t-1", "teacher", "Karin", "Smit", email=AUTHOR_EMAIL)]
    for n, (pupil, (given, family)) in enumerate(PUPILS.items(), start=1):
        guardians = [] if pupil == NO_ADDRESS else [f"g-{pupil}"]
        r.users.append(
            User(
                pupil,
                "student",
                given,
                family,
                birth="2009-05-01",
                email=email_of(pupil),
                agents=guardians,
            )
        )
        for g in guardians:
            r.users.append(
                User(
                    g,
                    "guardian",
                    "Ouder",
                    family,
                    address=(f"Kerkstraat {n}", f"794{n} AB", "Meppel"),
                )
            )
    r.enrollments = [("cls-6v", "t-1", "teacher", True)]
    r.enrollments += [("cls-6v", p, "student", False) for p in PUPILS]
    return r


def draft() -> AnnouncementDraft:
    return AnnouncementDraft("6V", "t-1", "reminder", text="Neem morgen je gymspullen mee.")


@asynccontextmanager
async def school_app(
    tmp_path: Path, database_url: str, clock: FrozenClock, sink: SmtpSink, **env: str
) -> AsyncIterator[bootstrap.App]:
    """A klasbot with SMTP transport to `sink`, on a migrated database holding `school()`.
    Entering it again on the same database (other credentials) finds the same data."""
    settings = make_settings(
        tmp_path,
        database_url,
        KLASBOT_MAIL__TRANSPORT="smtp",
        KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
        KLASBOT_MAIL__SMTP_PORT=str(sink.port),
        KLASBOT_MAIL__SMTP_TIMEOUT="5",
        KLASBOT_SCHOOL__LEADERSHIP_EMAILS=LEADERSHIP_EMAIL,
        KLASBOT_DISPATCH__BASE_DELAY=str(BASE_DELAY),
        **env,
    )
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=clock) as app:
        await roster_uc.import_roster(app.ctx, read_roster(school().write(tmp_path / "export")))
        yield app


async def rows(app: bootstrap.App, announcement_id: int) -> dict[str, Delivery]:
    return {d.pupil_id: d for d in await queries.deliveries(app.ctx, announcement_id)}


def message_id(d: Delivery) -> str:
    return f"<{d.idempotency_key}@klasbot>"


def assert_each_once(sink: SmtpSink, deliveries: dict[str, Delivery], pupils: list[str]) -> None:
    """Each of `pupils` got exactly one message, the one with their delivery's Message-ID, and
    nothing reached the server twice."""
    by_rcpt = sink.by_recipient()
    for pupil in pupils:
        assert by_rcpt.get(email_of(pupil)) == {message_id(deliveries[pupil]): 1}, pupil
    assert sink.duplicates() == 0, sink.message_ids()


def assert_retry_due(
    d: Delivery, now: datetime, attempt: int, retry_after: float | None = None
) -> float:
    """The delivery waits the exponential backoff for `attempt`, ± the jitter, or longer when the
    peer asked for longer. Returns the wait in seconds."""
    assert d.status == DeliveryStatus.PENDING
    assert d.due_at is not None
    wait = (d.due_at - now).total_seconds()
    nominal = BASE_DELAY * 2 ** (attempt - 1)
    low, high = nominal * (1 - JITTER), nominal * (1 + JITTER)
    if retry_after is not None and retry_after > high:
        assert wait == pytest.approx(retry_after, abs=1e-3)
    else:
        assert low - 1e-3 <= wait <= high + 1e-3, (attempt, wait)
        if retry_after is not None:
            assert wait >= retry_after
    return wait


def assert_each_once_per_announcement(
    sink: SmtpSink, deliveries: dict[str, Delivery], pupils: list[str]
) -> None:
    """Like `assert_each_once` when the pupils get several announcements."""
    by_rcpt = sink.by_recipient()
    for pupil in pupils:
        assert by_rcpt[email_of(pupil)][message_id(deliveries[pupil])] == 1, pupil


# --- (a) the server is down, then up again --------------------------------------------------------


async def test_server_down_keeps_everything_pending_then_delivers_each_once(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    sink = SmtpSink()  # a port with nobody listening yet
    try:
        async with school_app(tmp_path, database_url, clock, sink) as app:
            aid = (await announcing.announce(app.ctx, draft())).announcement.id

            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried, stats.rerouted, stats.failed) == (0, 6, 0, 0)
            first = await rows(app, aid)
            for d in first.values():
                assert (d.channel, d.status, d.attempts) == (
                    Channel.EMAIL,
                    DeliveryStatus.PENDING,
                    1,
                )
                assert f"cannot connect to SMTP server 127.0.0.1:{sink.port}" in (
                    d.last_error or ""
                )
                assert_retry_due(d, clock.now(), 1)

            # Still down at the next attempt: the wait doubles.
            clock.at = max(d.due_at for d in first.values() if d.due_at)
            assert (await app.dispatcher.run_once()).retried == 6
            for d in (await rows(app, aid)).values():
                assert d.attempts == 2
                assert_retry_due(d, clock.now(), 2)

            sink.start()
            # Up again, but nothing is due before its time.
            assert (await app.dispatcher.run_once()).sent == 0
            assert sink.count() == 0

            clock.advance(seconds=BASE_DELAY * 2 * (1 + JITTER) + 1)
            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried) == (6, 0)
            done = await rows(app, aid)
            for d in done.values():
                assert (d.channel, d.status, d.attempts, d.last_error) == (
                    Channel.EMAIL,
                    DeliveryStatus.SENT,
                    3,
                    None,
                )
                assert d.sent_at == clock.now()
            assert_each_once(sink, done, list(PUPILS))

            # Nothing goes out twice.
            clock.advance(hours=1)
            assert (await app.dispatcher.run_once()).sent == 0
            assert sink.count() == 6
    finally:
        sink.stop()


async def test_server_restarting_between_two_batches_loses_and_repeats_nothing(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        async with school_app(
            tmp_path, database_url, clock, sink, KLASBOT_DISPATCH__BATCH_SIZE="2"
        ) as app:
            aid = (await announcing.announce(app.ctx, draft())).announcement.id

            stats, _ = await app.dispatcher.dispatch_batch()
            assert stats.sent == 2
            sink.stop()
            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried) == (0, 4)
            sink.restart()
            clock.advance(seconds=BASE_DELAY * (1 + JITTER) + 1)
            stats = await app.dispatcher.run_once()
            assert stats.sent == 4
            assert_each_once(sink, await rows(app, aid), list(PUPILS))


# --- (b) a temporary refusal for one recipient ----------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("rcpt", "450 4.2.1 Mailbox busy, try again later"),
        ("data", "451 4.3.0 Temporary local problem"),
        ("rcpt", "421 4.7.0 Too busy, closing connection"),
    ],
)
async def test_temporary_refusal_is_retried_later_and_delivered_once(
    tmp_path: Path, database_url: str, clock: FrozenClock, stage: str, reply: str
) -> None:
    with SmtpSink() as sink:
        refusals = sink.refuse if stage == "rcpt" else sink.reject_data
        refusals[email_of("s-03")] = reply
        async with school_app(tmp_path, database_url, clock, sink) as app:
            aid = (await announcing.announce(app.ctx, draft())).announcement.id

            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried) == (5, 1)
            got = await rows(app, aid)
            busy = got["s-03"]
            assert (busy.status, busy.attempts) == (DeliveryStatus.PENDING, 1)
            assert reply.split()[0] in (busy.last_error or "")
            assert_retry_due(busy, clock.now(), 1)
            assert email_of("s-03") not in sink.by_recipient()

            del refusals[email_of("s-03")]
            clock.at = busy.due_at  # type: ignore[assignment]
            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried) == (1, 0)
            done = await rows(app, aid)
            assert (done["s-03"].status, done["s-03"].attempts, done["s-03"].last_error) == (
                DeliveryStatus.SENT,
                2,
                None,
            )
            assert all(d.status == DeliveryStatus.SENT for d in done.values())
            assert_each_once(sink, done, list(PUPILS))
            assert sink.count() == 6


# --- (c) a permanent refusal --------------------------------------------------------------------


def cli_deliveries(
    tmp_path: Path, database_url: str, announcement_id: int
) -> dict[str, dict[str, object]]:
    env = process_env(tmp_path, database_url)
    proc = run_klasbot(env, "deliveries", str(announcement_id), "--json", cwd=tmp_path)
    return {r["pupil"]: r for r in json.loads(proc.stdout)}


async def test_permanent_refusal_moves_the_pupil_to_a_letter_or_reports_them_unreachable(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        sink.refuse[email_of("s-05")] = "550 5.1.1 No such user"
        sink.reject_data[email_of(NO_ADDRESS)] = "554 5.7.1 Message rejected"
        async with school_app(tmp_path, database_url, clock, sink) as app:
            aid = (await announcing.announce(app.ctx, draft())).announcement.id

            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.rerouted, stats.failed, stats.letters) == (4, 1, 1, 1)
            got = await rows(app, aid)
            letter = got["s-05"]
            assert (letter.channel, letter.reason.value if letter.reason else None) == (
                Channel.POST,
                "bounced",
            )
            assert letter.status == DeliveryStatus.PENDING  # until the office posts it
            assert [r.person_id for r in letter.recipients] == ["g-s-05"]
            assert "550" in (letter.last_error or "")
            assert letter.attempts == 2  # the bounced e-mail, then the letter
            gone = got[NO_ADDRESS]
            assert (gone.channel, gone.status) == (Channel.UNREACHABLE, DeliveryStatus.FAILED)
            assert "554" in (gone.last_error or "")
            assert gone.attempts == 1

            # The author and leadership are told, by e-mail, who could not be reached: in the
            # day's overview, at 16:00.
            def reports() -> list[Receipt]:
                return [
                    r for r in sink.receipts() if (r.message_id or "").startswith("<unreachable-")
                ]

            assert reports() == []
            clock.at = OVERVIEW_TIME
            await app.dispatcher.run_once()
            [report] = reports()
            assert set(report.recipients) == {AUTHOR_EMAIL, LEADERSHIP_EMAIL}
            async with app.db.transaction() as store:
                [record] = await store.letters.list(unposted_only=True)
                events = await store.audit.events(person_id=NO_ADDRESS, kind="unreachable")
            assert record.pupils == ("s-05",)
            assert await asyncio.to_thread(Path(record.path).is_file)
            assert len(events) == 1

            # Nothing is sent again, and the letter is `sent` once it is posted.
            clock.advance(hours=1)
            again = await app.dispatcher.run_once()
            assert (again.sent, again.letters, again.failed) == (0, 0, 0)
            async with app.db.transaction() as store:
                assert await letters_posted(store, [record.key], clock.now()) == [record.key]
            done = await rows(app, aid)
            assert done["s-05"].status == DeliveryStatus.SENT
            assert_each_once(sink, done, ["s-01", "s-02", "s-03", "s-04"])
            assert email_of("s-05") not in sink.by_recipient()
            assert email_of(NO_ADDRESS) not in sink.by_recipient()
            assert sink.count() == 4 + 1

    report = cli_deliveries(tmp_path, database_url, aid)
    assert len(report) == len(PUPILS)
    assert {p: (r["channel"], r["status"]) for p, r in report.items()} == {
        "s-01": ("email", "sent"),
        "s-02": ("email", "sent"),
        "s-03": ("email", "sent"),
        "s-04": ("email", "sent"),
        "s-05": ("post", "sent"),
        NO_ADDRESS: ("unreachable", "failed"),
    }
    assert report["s-05"]["attempts"] == 2
    assert "550" in str(report["s-05"]["last_error"])
    assert report[NO_ADDRESS]["attempts"] == 1
    assert "554" in str(report[NO_ADDRESS]["last_error"])
    assert report["s-01"]["attempts"] == 1
    assert report["s-01"]["last_error"] is None


# --- (d) a failed login -------------------------------------------------------------------------


async def test_failed_login_sends_nothing_and_fixed_credentials_deliver_once(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    with SmtpSink(auth=("klasbot", "geheim")) as sink:
        async with school_app(
            tmp_path,
            database_url,
            clock,
            sink,
            KLASBOT_MAIL__SMTP_USERNAME="klasbot",
            KLASBOT_MAIL__SMTP_PASSWORD="fout",
        ) as app:
            aid = (await announcing.announce(app.ctx, draft())).announcement.id
            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried, stats.rerouted) == (0, 6, 0)
            assert sink.count() == 0
            for d in (await rows(app, aid)).values():
                assert (d.channel, d.status, d.attempts) == (
                    Channel.EMAIL,
                    DeliveryStatus.PENDING,
                    1,
                )
                error = d.last_error or ""
                assert "login as 'klasbot'" in error
                assert "535" in error
                assert "password" in error
                assert "fout" not in error  # never the password itself

        clock.advance(seconds=BASE_DELAY * (1 + JITTER) + 1)
        async with school_app(
            tmp_path,
            database_url,
            clock,
            sink,
            KLASBOT_MAIL__SMTP_USERNAME="klasbot",
            KLASBOT_MAIL__SMTP_PASSWORD="geheim",
        ) as app:
            stats = await app.dispatcher.run_once()
            assert stats.sent == 6
            done = await rows(app, aid)
            assert all((d.status, d.attempts) == (DeliveryStatus.SENT, 2) for d in done.values())
            assert_each_once(sink, done, list(PUPILS))


# --- (e) backoff, retry-after, max_attempts ------------------------------------------------------


async def test_backoff_doubles_with_bounded_jitter_until_max_attempts_then_reroutes(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        sink.refuse[email_of("s-05")] = "451 4.7.1 Greylisted, please try again later"
        sink.refuse[email_of(NO_ADDRESS)] = "452 4.2.2 Mailbox full"
        codes = {"s-05": "451", NO_ADDRESS: "452"}
        async with school_app(
            tmp_path, database_url, clock, sink, KLASBOT_DISPATCH__MAX_ATTEMPTS="4"
        ) as app:
            aid = (await announcing.announce(app.ctx, draft())).announcement.id
            waits: dict[str, list[float]] = {"s-05": [], NO_ADDRESS: []}
            for attempt in (1, 2, 3):
                stats = await app.dispatcher.run_once()
                assert stats.retried == 2
                got = await rows(app, aid)
                for pupil in waits:
                    assert got[pupil].attempts == attempt
                    assert codes[pupil] in (got[pupil].last_error or "")
                    waits[pupil].append(assert_retry_due(got[pupil], clock.now(), attempt))
                # Not a moment early ...
                clock.at = min(got[p].due_at for p in waits) - timedelta(seconds=0.5)  # type: ignore[type-var,operator]
                assert (await app.dispatcher.run_once()).retried == 0
                clock.at = max(got[p].due_at for p in waits)  # type: ignore[type-var,assignment]
            # The backoff grows (the jitter is never larger than the doubling).
            for series in waits.values():
                assert series == sorted(series)
            # The fourth failure is the last: Esra gets a letter, Ruben is reported unreachable.
            stats = await app.dispatcher.run_once()
            assert (stats.retried, stats.rerouted, stats.failed, stats.letters) == (0, 1, 1, 1)
            got = await rows(app, aid)
            assert got["s-05"].channel == Channel.POST
            assert got["s-05"].attempts == 5
            assert got[NO_ADDRESS].channel == Channel.UNREACHABLE
            assert got[NO_ADDRESS].attempts == 4
            for pupil in ("s-05", NO_ADDRESS):
                assert (got[pupil].last_error or "").startswith("gave up after 4 attempts")
            assert_each_once(sink, got, ["s-01", "s-02", "s-03", "s-04"])
            assert sink.count() == 4
            clock.at = OVERVIEW_TIME  # and the day's overview names Ruben
            await app.dispatcher.run_once()
            assert sink.count() == 4 + 1


class RateLimited:
    """A chat platform that answers its first `times` posts with 429 and a retry-after."""

    def __init__(self, inner: object, retry_after: float, times: int = 1) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.capabilities = inner.capabilities  # type: ignore[attr-defined]
        self.retry_after = retry_after
        self.times = times
        self.calls = 0

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise TransientDeliveryError("429 Too Many Requests", retry_after=self.retry_after)
        return await self.inner.post(message, silent=silent)  # type: ignore[attr-defined, no-any-return]

    async def admit(self, chat_id: str, account_id: str) -> bool:
        return await self.inner.admit(chat_id, account_id)  # type: ignore[attr-defined, no-any-return]

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        await self.inner.remove(chat_id, account_id, reason)  # type: ignore[attr-defined]


async def link(app: bootstrap.App, person: str) -> None:
    [invite] = await invite_uc.create_invites(app.ctx, person_ref=person)
    reply = await app.chat.handle("console", person, f"/start {invite.code}")
    assert any("gekoppeld" in t for t in reply.texts), reply.texts


@pytest.mark.parametrize("retry_after", [120.0, 1.0])
async def test_group_post_honours_retry_after_and_is_posted_once(
    tmp_path: Path, database_url: str, clock: FrozenClock, retry_after: float
) -> None:
    with SmtpSink() as sink:
        async with school_app(tmp_path, database_url, clock, sink) as app:
            await group_uc.create_group(app.ctx, "6V", "console")
            for person in ("s-01", "s-02", "s-03"):
                await link(app, person)
            limited = RateLimited(app.console, retry_after)
            app.ctx.platforms["console"] = limited
            await app.dispatcher.run_once()  # the invitation e-mails go out first
            before = sink.count()
            aid = (await announcing.announce(app.ctx, draft())).announcement.id
            got = await rows(app, aid)
            assert [p for p, d in got.items() if d.channel == Channel.GROUP] == [
                "s-01",
                "s-02",
                "s-03",
            ]

            stats = await app.dispatcher.run_once()
            assert (stats.sent, stats.retried) == (3, 3)
            got = await rows(app, aid)
            dues = set()
            for pupil in ("s-01", "s-02", "s-03"):
                assert got[pupil].attempts == 1
                assert "429" in (got[pupil].last_error or "")
                assert_retry_due(got[pupil], clock.now(), 1, retry_after)
                dues.add(got[pupil].due_at)
            assert app.console.posted == []

            clock.at = min(dues)  # type: ignore[type-var,assignment]
            await app.dispatcher.run_once()
            clock.at = max(dues)  # type: ignore[type-var,assignment]
            await app.dispatcher.run_once()
            clock.advance(hours=1)
            await app.dispatcher.run_once()
            # One post reaches the three members, once.
            assert len(app.console.posted) == 1
            done = await rows(app, aid)
            assert all(d.status == DeliveryStatus.SENT for d in done.values())
            assert {done[p].external_id for p in ("s-01", "s-02", "s-03")} == {
                app.console.posted[0].idempotency_key
            }
            assert_each_once(sink, done, ["s-04", "s-05", NO_ADDRESS])
            assert sink.count() == before + 3


# --- several dispatchers on one database ----------------------------------------------------------


class CountingPosts:
    """Wraps a chat platform and counts the posts per idempotency key, for every dispatcher."""

    def __init__(self, inner: object, counts: dict[str, int]) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.capabilities = inner.capabilities  # type: ignore[attr-defined]
        self.counts = counts

    async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
        self.counts[message.idempotency_key] = self.counts.get(message.idempotency_key, 0) + 1
        return await self.inner.post(message, silent=silent)  # type: ignore[attr-defined, no-any-return]

    async def admit(self, chat_id: str, account_id: str) -> bool:
        return await self.inner.admit(chat_id, account_id)  # type: ignore[attr-defined, no-any-return]

    async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
        await self.inner.remove(chat_id, account_id, reason)  # type: ignore[attr-defined]


async def test_concurrent_dispatchers_split_the_work_without_duplicates(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        async with school_app(
            tmp_path, database_url, clock, sink, KLASBOT_DISPATCH__BATCH_SIZE="2"
        ) as app:
            await group_uc.create_group(app.ctx, "6V", "console")
            for person in ("s-01", "s-02", "s-03"):
                await link(app, person)
            await app.dispatcher.run_once()  # the invitation e-mails go out first
            before = sink.count()
            # Twelve times the same reminder, on purpose (`--again`).
            ids = [
                (await announcing.announce(app.ctx, draft(), again=True)).announcement.id
                for _ in range(12)
            ]
            posts: dict[str, int] = {}
            async with school_app(
                tmp_path, database_url, clock, sink, KLASBOT_DISPATCH__BATCH_SIZE="2"
            ) as other:
                workers = []
                for built in (app, other, app, other):
                    d = built.dispatcher
                    worker = type(d)(
                        Context(
                            db=d.ctx.db,
                            clock=d.ctx.clock,
                            policy=d.ctx.policy,
                            platforms={"console": CountingPosts(app.console, posts)},
                        ),
                        mailer=d.mailer,
                        printer=d.printer,
                        retry=d.retry,
                        batch_size=d.batch_size,
                        lease_seconds=d.lease.total_seconds(),
                    )
                    workers.append(worker)
                results = await asyncio.gather(*(w.run_once() for w in workers))
            assert sum(r.sent for r in results) == 12 * 6
            assert sum(1 for r in results if r.sent) >= 2  # the work was shared
            assert sorted(posts) == sorted(f"{a}-g1" for a in ids)
            assert set(posts.values()) == {1}, posts
            for aid in ids:
                done = await rows(app, aid)
                assert all(d.status == DeliveryStatus.SENT for d in done.values())
                assert_each_once_per_announcement(sink, done, ["s-04", "s-05", NO_ADDRESS])
            assert sink.count() == before + 12 * 3
            assert sink.duplicates() == 0

"""The outbox dispatcher: deliver what is due, retry what failed for now, re-route what failed for
good, and never lose or duplicate a delivery (rule 6).

How "exactly once" holds:
- a delivery row is written in the same transaction as its announcement (or its notice), one per
  pupil (a unique constraint on (announcement, pupil), and a unique idempotency key);
- a dispatcher *claims* due rows with a lease (`claimed_until`) in one short transaction; on
  PostgreSQL concurrent dispatchers skip each other's rows (FOR UPDATE SKIP LOCKED);
- every claim carries a fresh token, and an outcome is recorded only for rows that claim still
  holds: a worker whose send outlasted its lease, and whose rows another worker has claimed since,
  records nothing (the other worker's outcome stands);
- claims never overlap: on SQLite every transaction takes the write lock before it reads
  (`storage.store`), on PostgreSQL claims take turns on an advisory lock; one household's letter
  is made by one worker at a time (`LetterRepository.lock`);
- it sends, then records the outcome in a second transaction. A crash between the two leaves the
  row claimed; after the lease it is sent again. E-mail carries the delivery's key as its
  Message-ID and group posts carry it as their idempotency key, so a receiver (or an adapter that
  remembers what it posted) can recognise the resend. That window — a crash after the peer
  accepted and before the outcome was recorded — is the only place a duplicate can arise. E-mail
  goes out over `mail.connections` connections at once and is recorded in small batches
  (`SentRecorder`): the window holds at most `MAIL_UNRECORDED_PER_CONNECTION` + 1 messages per
  connection.
Retry policy (`bot.dispatch.retry`, not the adapters'): transient errors back off exponentially
with jitter and honour the peer's retry-after; permanent errors move the pupil to the next channel
that `bot.routing.route_after_failure` chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import metrics
from bot.dispatch import channels, group_edits, group_posts
from bot.dispatch.content import Sender, announcement_senders
from bot.dispatch.retry import DispatchStats, RetryPolicy
from bot.domain import Announcement, Channel, Delivery, Group, Person, Route
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.notices import GroupPostNotice, InviteNotice
from bot.outbox import add_unreachable_warning, forget_codes
from bot.ports import LetterPrinter, Mailer
from bot.repositories import Repositories
from bot.routing import failure_reason, route_after_failure
from bot.usecases import undo
from bot.usecases.context import Context

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    """One claimed batch and what its rows refer to."""

    claimed: list[Delivery]
    announcements: dict[int, Announcement]
    pupils: dict[str, Person]
    groups: dict[int, Group | None]
    class_codes: dict[str, str]
    senders: dict[int, Sender] = field(default_factory=dict)
    """Whom each announcement's copies are from (`content.announcement_senders`), by id."""


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        *,
        mailer: Mailer | None,
        printer: LetterPrinter | None,
        retry: RetryPolicy | None = None,
        batch_size: int = 200,
        lease_seconds: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.ctx = ctx
        self.mailer = mailer
        self.printer = printer
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.rng = rng or random.Random()
        self.carried: dict[int, Announcement] = {}
        """Each announcement of the batch being sent, as this dispatcher read it when it claimed
        the copies: what they carry (a correction made since is owed to them, `owes_follow_up`)."""

    # ------------------------------------------------------------------------ loop

    async def run_once(self) -> DispatchStats:
        """Deliver everything that is due now, batch after batch, then return."""
        total = DispatchStats()
        waiting: set[int] = set()
        async with self._mail_connections():
            while True:
                stats, claimed = await self.dispatch_batch(exclude=waiting)
                total.add(stats)
                if not claimed:
                    break
        return total

    def _mail_connections(self) -> contextlib.AbstractAsyncContextManager[object]:
        """A mailer with connections (`SmtpMailer.held`) keeps them open from one batch to the
        next while this round lasts."""
        held = getattr(self.mailer, "held", None)
        return held() if held is not None else contextlib.nullcontext()

    async def run_forever(
        self, poll_interval: float = 2.0, stop: asyncio.Event | None = None
    ) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a bad round must not stop the bot; the rows stay in the outbox
                logger.exception("dispatch round failed; retrying in %.0fs", poll_interval)
            try:
                await asyncio.wait_for(stop.wait(), poll_interval)
            except TimeoutError:
                pass

    async def dispatch_batch(
        self, exclude: set[int] | None = None
    ) -> tuple[DispatchStats, set[int]]:
        """Claim and deliver one batch. Ids this process cannot deliver (their platform runs
        elsewhere) are added to `exclude` so that one run does not claim them again."""
        exclude = exclude if exclude is not None else set()
        batch = await self._claim(exclude)
        if batch is None:
            return DispatchStats(), set()
        stats = DispatchStats()
        due = await self._hold_quiet_hours(batch, stats)
        by_channel: dict[Channel, list[Delivery]] = defaultdict(list)
        edits: list[Delivery] = []
        posts: list[Delivery] = []
        for d in due:
            if d.channel == Channel.GROUP and isinstance(d.notice, GroupPostNotice):
                posts.append(d)  # klasbot's own post (the year's closing post)
            elif d.channel == Channel.GROUP and d.notice is not None:
                edits.append(d)  # a withdrawn or corrected post (`bot.usecases.undo`)
            else:
                by_channel[d.channel].append(d)
        await channels.post_groups(self, by_channel[Channel.GROUP], batch, stats, exclude)
        await group_edits.edit_groups(self, edits, stats, exclude)
        await group_posts.post_notices(self, posts, stats, exclude)
        await channels.send_mail(self, by_channel[Channel.EMAIL], batch, stats)
        await channels.print_letters(self, by_channel[Channel.POST], batch, stats)
        return stats, {d.id for d in batch.claimed}

    async def _claim(self, exclude: set[int]) -> Batch | None:
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as tx:
            claimed = await tx.outbox.claim_due(
                now, now + self.lease, self.batch_size, exclude=exclude, claim=uuid.uuid4().hex
            )
            if not claimed:
                return None
            logger.debug("claimed %d deliveries until %s", len(claimed), now + self.lease)
            announcements: dict[int, Announcement] = {}
            for a_id in {d.announcement_id for d in claimed if d.announcement_id is not None}:
                found = await tx.announcements.get(a_id)
                assert found is not None  # deliveries are deleted with their announcement
                announcements[a_id] = found
            # Only this batch's: a long-running dispatcher keeps no announcement for good.
            self.carried = dict(announcements)
            pupils = await tx.roster.persons({d.pupil_id for d in claimed})
            groups = {
                g: await tx.groups.get(g) for g in {d.group_id for d in claimed if d.group_id}
            }
            class_codes: dict[str, str] = {}
            for a in announcements.values():
                if a.class_id not in class_codes:
                    found_classes = await tx.roster.find_classes(a.class_id)
                    class_codes[a.class_id] = found_classes[0].code if found_classes else a.class_id
            senders = await announcement_senders(tx, self.ctx.policy, announcements.values())
        return Batch(claimed, announcements, pupils, groups, class_codes, senders)

    async def _hold_quiet_hours(self, batch: Batch, stats: DispatchStats) -> list[Delivery]:
        """Rule 8: an announcement due in quiet hours is held until they end (notices to adults
        — codes, reports, warnings — are not announcements and go out at once)."""
        now = self.ctx.clock.now()
        due: list[Delivery] = []
        held: dict[datetime, list[int]] = defaultdict(list)
        for d in batch.claimed:
            until = None
            if d.announcement_id is not None:
                sender = batch.senders.get(d.announcement_id)
                policy = sender.policy if sender and sender.policy else self.ctx.policy
                until = policy.release_at(now, batch.announcements[d.announcement_id].kind)
            if until is not None:
                held[until].append(d.id)
            else:
                due.append(d)
        if held:
            claim = batch.claimed[0].claim
            async with self.ctx.db.transaction() as tx:
                for until, ids in held.items():
                    stats.held += len(await tx.outbox.hold(ids, until, claim=claim))
        return due

    # ------------------------------------------------------------------------ outcomes

    async def retry_later(
        self, deliveries: Sequence[Delivery], error: TransientDeliveryError, stats: DispatchStats
    ) -> None:
        now = self.ctx.clock.now()
        given_up: list[Delivery] = []
        async with self.ctx.db.transaction() as tx:
            for d in deliveries:
                if d.channel_attempts + 1 >= self.retry.max_attempts:
                    given_up.append(d)
                    continue
                wait = self.retry.delay(d.channel_attempts + 1, error.retry_after, self.rng)
                due = now + timedelta(seconds=wait)
                if await tx.outbox.mark_retry(d.id, str(error)[:1000], due, claim=d.claim):
                    stats.retried += 1
                    metrics.retried(d.channel.value)
                else:
                    self.lost_claim([d])
            if given_up:
                attempts = given_up[0].channel_attempts + 1
                final = PermanentDeliveryError(
                    f"gave up after {attempts} attempts on {given_up[0].channel.value}: {error}"
                )
                await self._reroute(tx, given_up, final, stats)
        logger.info("%d deliveries will be retried: %s", len(deliveries), error)

    async def failed_for_good(
        self, deliveries: Sequence[Delivery], error: PermanentDeliveryError, stats: DispatchStats
    ) -> None:
        async with self.ctx.db.transaction() as tx:
            await self._reroute(tx, deliveries, error, stats)

    async def _reroute(
        self,
        tx: Repositories,
        deliveries: Sequence[Delivery],
        error: PermanentDeliveryError,
        stats: DispatchStats,
    ) -> None:
        """Move each pupil to their next channel (rule 6: still exactly one row); the pupils
        nothing reaches any more are reported, in the same transaction."""
        now = self.ctx.clock.now()
        unreachable: dict[int, list[str]] = defaultdict(list)
        for d in deliveries:
            route = await self._next_route(tx, d, error)
            channel = route.channel if route else Channel.UNREACHABLE
            reason = route.reason if route else failure_reason(error.reason, d.reason)
            moved = await tx.outbox.reroute(
                d.id,
                channel=channel.value,
                reason=reason.value if reason else None,
                recipients=route.recipients if route else (),
                error=str(error)[:1000],
                now=now,
                claim=d.claim,
            )
            if not moved:
                self.lost_claim([d])
                continue
            # Rule 10: tied to the pupil, to whoever the copy goes to now and to the class.
            class_id = await self._class_of(tx, d)
            await tx.audit.add(
                [
                    self.ctx.event(
                        "rerouted" if route else "unreachable",
                        None,
                        [d.pupil_id, *(r.person_id for r in (route.recipients if route else ()))],
                        announcement=d.announcement_id,
                        notice=d.notice.template if d.notice else None,
                        **{"from": d.channel.value, "to": channel.value},
                        error=str(error)[:500],
                        **({"class_id": class_id} if class_id else {}),
                    )
                ]
            )
            if route is None:
                await forget_codes(tx, [d])
                stats.failed += 1
                if d.announcement_id is not None:
                    unreachable[d.announcement_id].append(d.pupil_id)
            else:
                stats.rerouted += 1
        for announcement_id, pupil_ids in unreachable.items():
            announcement = await tx.announcements.get(announcement_id)
            if announcement is not None:
                await add_unreachable_warning(tx, self.ctx.policy, announcement, pupil_ids, now=now)

    @staticmethod
    async def _class_of(tx: Repositories, d: Delivery) -> str | None:
        """The class a delivery is for: its announcement's, else its group's (a notice about
        no class: None)."""
        if d.announcement_id is not None:
            announcement = await tx.announcements.get(d.announcement_id)
            if announcement is not None:
                return announcement.class_id
        if d.group_id is not None:
            group = await tx.groups.get(d.group_id)
            if group is not None:
                return group.class_id
        return None

    async def _next_route(
        self, tx: Repositories, d: Delivery, error: PermanentDeliveryError
    ) -> Route | None:
        if d.announcement_id is None and not isinstance(d.notice, InviteNotice):
            return None  # a notice to fixed addresses (leadership, staff) has nowhere else to go
        person = await tx.roster.person(d.pupil_id)
        own = isinstance(d.notice, InviteNotice) and d.notice.audience == "person"
        guardians = []
        if person is not None and not own:
            guardians = list((await tx.roster.persons(person.guardian_ids)).values())
        return route_after_failure(
            person,
            failed=d.channel,
            why=error.reason,
            reason=d.reason,
            today=self.ctx.today(),
            guardians=guardians,
            pupil_email_from_age=self.ctx.policy.pupil_email_from_age,
            own_route=own,
        )

    def owes_follow_up(self, now: Announcement) -> bool:
        """Whether copies sent as this dispatcher read the announcement need a withdrawal or a
        correction, the announcement being `now`: withdrawn since, or corrected since."""
        then = self.carried.get(now.id)
        if then is None:
            return undo.is_revised(now)
        return (now.withdrawn and not then.withdrawn) or now.revision > then.revision

    def lost_claim(self, deliveries: Sequence[Delivery]) -> None:
        """Rows whose lease ran out and that another worker claimed since: their outcome is the
        other worker's to record (it sends them with the same Message-ID / idempotency key)."""
        if deliveries:
            logger.warning(
                "%d deliveries (ids %s) were claimed by another dispatcher while this one was "
                "sending them; their outcome is left to it (consider a longer lease)",
                len(deliveries),
                ", ".join(str(d.id) for d in deliveries[:10]),
            )

    async def sent(
        self, deliveries: Sequence[Delivery], external_id: str | None, stats: DispatchStats
    ) -> None:
        await self.sent_each([(deliveries, external_id)], stats)

    async def sent_each(
        self,
        outcomes: Sequence[tuple[Sequence[Delivery], str | None]],
        stats: DispatchStats,
    ) -> None:
        """Record several sends in one transaction, each its rows and the id the peer gave it
        (group posts sent at once, `group_posts.PostPipeline`)."""
        now = self.ctx.clock.now()
        done: set[int] = set()
        deliveries = [d for rows, _ in outcomes for d in rows]
        async with self.ctx.db.transaction() as tx:
            # A copy recorded as sent after its announcement was withdrawn or corrected gets
            # its follow-up here; the lock makes this and `undo.withdraw` take turns.
            revised = await undo.revised_announcements(
                tx, (d.announcement_id for d in deliveries if d.announcement_id is not None)
            )
            for sent_rows, external_id in outcomes:
                for claim, rows in _by_claim(sent_rows).items():
                    ids = [d.id for d in rows]
                    done.update(await tx.outbox.mark_sent(ids, now, external_id, claim=claim))
            await forget_codes(tx, [d for d in deliveries if d.id in done])
            for announcement_id, announcement in revised.items():
                if not self.owes_follow_up(announcement):
                    continue
                for sent_rows, external_id in outcomes:
                    copies = [
                        d
                        for d in sent_rows
                        if d.id in done and d.announcement_id == announcement_id
                    ]
                    if copies or len(outcomes) == 1:
                        await undo.follow_up_delivered(
                            tx, self.ctx, announcement, copies, message_id=external_id
                        )
        self.lost_claim([d for d in deliveries if d.id not in done])
        for d in deliveries:
            if d.id not in done:
                continue
            if d.announcement_id is None:
                stats.notices += 1
            else:
                stats.sent += 1
                stats.by_channel[d.channel.value] += 1


def _by_claim(deliveries: Sequence[Delivery]) -> dict[str | None, list[Delivery]]:
    out: dict[str | None, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        out[d.claim].append(d)
    return out


MAIL_UNRECORDED_PER_CONNECTION = 16
"""How many e-mails per mail connection the server may have accepted that are not recorded as
sent yet. A crash resends at most these plus the one each connection is sending, each with its
own Message-ID: at most `connections x (16 + 1)`."""
MAIL_RECORD_EVERY = 0.2
"""Seconds between two recordings of the e-mails accepted in the meantime (when fewer than
three quarters of the limit are waiting: those are recorded at once)."""


class SentRecorder:
    """Records accepted e-mails as sent in batches, while the mailer goes on sending: one
    transaction (`Dispatcher.sent`: one UPDATE of the rows still held by their claim) as soon as
    three quarters of `limit` are waiting, or for what was accepted in the last `every` seconds.
    A recording runs beside the sending; the connection that finds `limit` unrecorded (waiting,
    or in the recording under way) sends nothing more until they are recorded.

    Fewer, larger recordings cost less than many small ones (most of a recording's cost is its
    transaction, not its rows); the bound on what a crash may resend is `limit` all the same.

    Use as `async with SentRecorder(...) as recorder`, and pass `recorder.accepted` to
    `Mailer.send` as its `on_sent`; leaving the block records the rest."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        rows: Sequence[Delivery],
        stats: DispatchStats,
        *,
        limit: int,
        every: float = MAIL_RECORD_EVERY,
    ) -> None:
        self.dispatcher = dispatcher
        self.rows = rows
        self.stats = stats
        self.limit = max(1, limit)
        self.early = max(1, self.limit * 3 // 4)
        """How many waiting start a recording in the background at once."""
        self.every = every
        self.recorded: set[int] = set()
        """The indexes (into `rows`) recorded as sent (or found claimed by another worker)."""
        self._pending: list[int] = []
        self._recording = 0
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._due = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SentRecorder:
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # Stopped, not cancelled: a recording under way is finished (cancelled in its commit,
        # it could not tell whether its rows were recorded).
        self._stop.set()
        self._due.set()
        if self._ticker is not None:
            await asyncio.gather(self._ticker, return_exceptions=True)
        if exc_type is None or issubclass(exc_type, Exception):
            # What the server took is recorded even when the rest failed; when recording fails
            # the rows stay claimed and go out again (same Message-IDs) after the lease.
            await self.flush()

    async def accepted(self, index: int) -> None:
        """The server took message `index`: waits only when `limit` are unrecorded."""
        self._pending.append(index)
        if len(self._pending) + self._recording >= self.limit:
            await self.flush()
        elif len(self._pending) >= self.early:
            self._due.set()  # recorded by the ticker, while the connections go on

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            self._recording = len(batch)
            try:
                await self.dispatcher.sent([self.rows[i] for i in batch], None, self.stats)
            except Exception:  # rolled back: recorded by the next try
                self._pending[:0] = batch
                raise
            finally:
                self._recording = 0
            self.recorded.update(batch)

    async def _tick(self) -> None:
        while not self._stop.is_set():
            if not self._due.is_set():
                try:
                    await asyncio.wait_for(self._due.wait(), self.every)
                except TimeoutError:
                    pass
            self._due.clear()
            try:
                await self.flush()
            except Exception:  # the next tick (or the end of the send) tries again
                logger.exception("recording sent e-mails failed; trying again")
                try:
                    await asyncio.wait_for(self._stop.wait(), self.every)
                except TimeoutError:
                    pass

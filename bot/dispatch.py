"""The outbox dispatcher: deliver what is due, retry what failed for now, re-route what failed for
good, and never lose or duplicate a delivery (rule 6).

How "exactly once" holds:
- a delivery row is written in the same transaction as its announcement, one per pupil (a unique
  constraint on (announcement, pupil));
- a dispatcher *claims* due rows with a lease (`claimed_until`) in one short transaction; on
  PostgreSQL concurrent dispatchers skip each other's rows (FOR UPDATE SKIP LOCKED);
- it sends, then records the outcome in a second transaction. A crash between the two leaves the
  row claimed; after the lease it is sent again. E-mail carries the delivery's key as its
  Message-ID and group posts carry it as their idempotency key, so a receiver (or an adapter that
  remembers what it posted) can recognise the resend. That window — a crash after the peer
  accepted and before the outcome was recorded — is the only place a duplicate can arise.
Retry policy (here, not in the adapters): transient errors back off exponentially with jitter and
honour the peer's retry-after; permanent errors move the pupil to the next fallback channel.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.dates import format_date
from bot.domain import Announcement, Channel, Delivery, Group, GroupState, Person, Reason, Recipient
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.policy import SchoolPolicy
from bot.ports import (
    ChatPlatform,
    Clock,
    GroupMessage,
    Letter,
    LetterItem,
    LetterPrinter,
    Mailer,
    MailMessage,
    Store,
    UnitOfWork,
)
from bot.routing import fallback
from bot.rules import kinds
from bot.rules.age import local_today

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: float = 5.0
    max_delay: float = 3600.0
    max_attempts: int = 8
    jitter: float = 0.25

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempts + 1`; never sooner than the peer asked."""
        backoff = self.base_delay * (2 ** max(0, attempts - 1))
        backoff = min(self.max_delay, backoff * (1 + rng.uniform(-self.jitter, self.jitter)))
        return float(max(backoff, retry_after or 0.0))


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    rerouted: int = 0
    failed: int = 0
    held: int = 0
    letters: int = 0
    waiting: int = 0  # for a platform this process does not run
    by_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: DispatchStats) -> None:
        for name in ("sent", "retried", "rerouted", "failed", "held", "letters", "waiting"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.by_channel.items():
            self.by_channel[k] += v


_PERMANENT_REASONS = {
    "blocked": Reason.BLOCKED,
    "group-lost": Reason.GROUP_LOST,
    "bounced": Reason.BOUNCED,
}


class Dispatcher:
    def __init__(
        self,
        *,
        db: UnitOfWork,
        clock: Clock,
        policy: SchoolPolicy,
        platforms: dict[str, ChatPlatform],
        mailer: Mailer | None,
        printer: LetterPrinter | None,
        retry: RetryPolicy | None = None,
        batch_size: int = 200,
        lease_seconds: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy
        self.platforms = platforms
        self.mailer = mailer
        self.printer = printer
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.rng = rng or random.Random()
        self._unreachable: dict[int, list[str]] = {}

    # ------------------------------------------------------------------------ loop

    async def run_once(self) -> DispatchStats:
        """Deliver everything that is due now, batch after batch, then return."""
        total = DispatchStats()
        waiting: set[int] = set()
        while True:
            stats, claimed = await self.dispatch_batch(exclude=waiting)
            total.add(stats)
            if not claimed:
                break
        return total

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
        now = self.clock.now()
        async with self.db.transaction() as store:
            claimed = await store.claim_due(now, now + self.lease, self.batch_size, exclude=exclude)
            if not claimed:
                return DispatchStats(), set()
            announcements = {
                a: await store.announcement(a) for a in {d.announcement_id for d in claimed}
            }
            pupils = await store.persons({d.pupil_id for d in claimed})
            groups = {g: await store.group(g) for g in {d.group_id for d in claimed if d.group_id}}
            class_codes = {}
            for a in announcements.values():
                if a is not None and a.class_id not in class_codes:
                    found = await store.find_classes(a.class_id)
                    class_codes[a.class_id] = found[0].code if found else a.class_id
        stats = DispatchStats()
        # Rule 8: what falls in quiet hours is held until they end.
        due: list[Delivery] = []
        held: dict[datetime, list[int]] = defaultdict(list)
        for d in claimed:
            a = announcements[d.announcement_id]
            assert a is not None  # deliveries are deleted with their announcement
            until = (
                self.policy.quiet_hours.release_at(now, self.policy.timezone, a.kind)
                if self.policy.quiet_hours
                else None
            )
            if until is not None:
                held[until].append(d.id)
            else:
                due.append(d)
        if held:
            async with self.db.transaction() as store:
                for until, ids in held.items():
                    await store.hold(ids, until)
            stats.held += sum(len(v) for v in held.values())
        by_channel: dict[Channel, list[Delivery]] = defaultdict(list)
        for d in due:
            by_channel[d.channel].append(d)
        await self._groups(by_channel[Channel.GROUP], announcements, groups, pupils, stats, exclude)
        await self._emails(by_channel[Channel.EMAIL], announcements, class_codes, pupils, stats)
        await self._letters(by_channel[Channel.POST], announcements, pupils, stats)
        await self._report_unreachable(announcements)
        return stats, {d.id for d in claimed}

    async def _report_unreachable(self, announcements: dict[int, Announcement | None]) -> None:
        """Rule 6: a pupil whose last channel failed for good is reported to the author and
        leadership, never silently dropped."""
        pending, self._unreachable = self._unreachable, {}
        if not pending or self.mailer is None:
            return
        for announcement_id, pupil_ids in pending.items():
            a = announcements.get(announcement_id)
            if a is None:
                continue
            async with self.db.transaction() as store:
                author = await store.get_person(a.author_id)
                names = await store.persons(pupil_ids)
                found = await store.find_classes(a.class_id)
            to = tuple(
                x for x in ((author.email if author else None), *self.policy.leadership_emails) if x
            )
            if not to:
                logger.warning(
                    "announcement %s: unreachable pupils %s and nobody to tell", a.id, pupil_ids
                )
                continue
            digest = hashlib.sha256(",".join(sorted(pupil_ids)).encode()).hexdigest()[:12]
            message = MailMessage(
                to=to,
                template="unreachable",
                context={
                    "announcement_id": a.id,
                    "class_code": found[0].code if found else a.class_id,
                    "summary": a.body,
                    "pupils": [names[p].full_name if p in names else p for p in pupil_ids],
                    "school_name": self.policy.school_name,
                },
                message_id=f"<unreachable-{a.id}-{digest}@klasbot>",
                lang=self.policy.language,
                reply_to=self.policy.reply_to,
            )
            try:
                for error in await self.mailer.send([message]):
                    if error is not None:
                        logger.warning("could not report unreachable pupils: %s", error)
            except Exception as exc:  # the audit trail has it; the mail is a courtesy
                logger.warning("could not report unreachable pupils: %s", exc)

    # ------------------------------------------------------------------------ outcomes

    async def _retry(
        self, deliveries: Sequence[Delivery], error: TransientDeliveryError, stats: DispatchStats
    ) -> None:
        now = self.clock.now()
        async with self.db.transaction() as store:
            for d in deliveries:
                if d.channel_attempts + 1 >= self.retry.max_attempts:
                    await self._reroute(
                        store,
                        d,
                        PermanentDeliveryError(
                            f"gave up after {d.channel_attempts + 1} attempts on {d.channel.value}: {error}"
                        ),
                        stats,
                    )
                    continue
                wait = self.retry.delay(d.channel_attempts + 1, error.retry_after, self.rng)
                await store.mark_retry(d.id, str(error)[:1000], now + timedelta(seconds=wait))
                stats.retried += 1
        logger.info("%d deliveries will be retried: %s", len(deliveries), error)

    async def _reroute(
        self, store: Store, d: Delivery, error: PermanentDeliveryError, stats: DispatchStats
    ) -> None:
        """Move the pupil to the next channel after `d.channel` (rule 6: still exactly one row)."""
        reason = _PERMANENT_REASONS.get(error.reason or "", d.reason or Reason.BLOCKED)
        pupil = await store.get_person(d.pupil_id)
        guardians = list((await store.persons(pupil.guardian_ids)).values()) if pupil else []
        route = None
        if pupil is not None:
            route = fallback(
                pupil,
                reason,
                today=local_today(self.clock.now(), self.policy.timezone),
                guardians=guardians,
                pupil_email_from_age=self.policy.pupil_email_from_age,
            )
            if d.channel == Channel.EMAIL and route.channel == Channel.EMAIL:
                # A hard bounce: e-mail is off the table for this delivery; go to paper.
                route = fallback(
                    _without_email(pupil),
                    reason,
                    today=local_today(self.clock.now(), self.policy.timezone),
                    guardians=[_without_email(g) for g in guardians],
                    pupil_email_from_age=None,
                )
            if d.channel == Channel.POST and route.channel in (Channel.EMAIL, Channel.POST):
                route = None
        channel = route.channel if route else Channel.UNREACHABLE
        await store.reroute(
            d.id,
            channel=channel,
            reason=reason,
            recipients=route.recipients if route else (),
            error=str(error)[:1000],
            now=self.clock.now(),
        )
        await store.audit_event(
            "rerouted" if channel != Channel.UNREACHABLE else "unreachable",
            self.clock.now(),
            None,
            [d.pupil_id],
            {
                "announcement": d.announcement_id,
                "from": d.channel.value,
                "to": channel.value,
                "error": str(error)[:500],
            },
        )
        if channel == Channel.UNREACHABLE:
            stats.failed += 1
            self._unreachable.setdefault(d.announcement_id, []).append(d.pupil_id)
        else:
            stats.rerouted += 1

    async def _permanent(
        self, deliveries: Sequence[Delivery], error: PermanentDeliveryError, stats: DispatchStats
    ) -> None:
        async with self.db.transaction() as store:
            for d in deliveries:
                await self._reroute(store, d, error, stats)

    async def _sent(
        self, deliveries: Sequence[Delivery], external_id: str | None, stats: DispatchStats
    ) -> None:
        async with self.db.transaction() as store:
            await store.mark_sent([d.id for d in deliveries], self.clock.now(), external_id)
        stats.sent += len(deliveries)
        for d in deliveries:
            stats.by_channel[d.channel.value] += 1

    # ------------------------------------------------------------------------ channels

    async def _groups(
        self,
        deliveries: Sequence[Delivery],
        announcements: dict[int, Announcement | None],
        groups: dict[int, Group | None],
        pupils: dict[str, Person],
        stats: DispatchStats,
        waiting: set[int],
    ) -> None:
        # One post per (announcement, group) reaches every member pupil at once.
        batches: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
        for d in deliveries:
            batches[(d.announcement_id, d.group_id or 0)].append(d)
        for (announcement_id, group_id), batch in batches.items():
            group = groups.get(group_id)
            announcement = announcements[announcement_id]
            assert announcement is not None
            if group is None or group.state != GroupState.ACTIVE:
                await self._permanent(
                    batch,
                    PermanentDeliveryError("the group is no longer bound", reason="group-lost"),
                    stats,
                )
                continue
            platform = self.platforms.get(group.platform)
            if platform is None:
                # Another process (`klasbot run` with this platform configured) delivers these.
                async with self.db.transaction() as store:
                    await store.release([d.id for d in batch])
                stats.waiting += len(batch)
                waiting.update(d.id for d in batch)
                continue
            message = GroupMessage(
                chat_id=group.chat_id,
                text=announcement.signed_text,
                html=_html(announcement),
                idempotency_key=f"{announcement_id}-g{group_id}",
            )
            try:
                message_id = await platform.post(message)
            except TransientDeliveryError as error:
                await self._retry(batch, error, stats)
            except PermanentDeliveryError as error:
                if error.reason == "group-lost":
                    async with self.db.transaction() as store:
                        await store.update_group(group.id, state=GroupState.LOST)
                await self._permanent(batch, error, stats)
            else:
                await self._sent(batch, message_id, stats)

    async def _emails(
        self,
        deliveries: Sequence[Delivery],
        announcements: dict[int, Announcement | None],
        class_codes: dict[str, str],
        pupils: dict[str, Person],
        stats: DispatchStats,
    ) -> None:
        if not deliveries:
            return
        if self.mailer is None:
            await self._retry(
                deliveries, TransientDeliveryError("no mail transport configured"), stats
            )
            return
        messages = []
        for d in deliveries:
            a = announcements[d.announcement_id]
            assert a is not None
            pupil = pupils.get(d.pupil_id)
            messages.append(
                MailMessage(
                    to=tuple(r.email for r in d.recipients if r.email),
                    template="announcement",
                    context={
                        "class_code": class_codes.get(a.class_id, ""),
                        "kind": a.kind,
                        "kind_title": kinds.kind_title(a.kind, self.policy.language),
                        "body": a.body,
                        "signature": a.signature,
                        "school_name": self.policy.school_name,
                        "pupil_name": pupil.given_name if pupil else "",
                        "pupil_full_name": pupil.full_name if pupil else "",
                        "recipient_name": d.recipients[0].name if len(d.recipients) == 1 else "",
                        "to_pupil": bool(
                            pupil and d.recipients and d.recipients[0].person_id == pupil.id
                        ),
                        "audience": (
                            "pupil"
                            if pupil and d.recipients and d.recipients[0].person_id == pupil.id
                            else "guardian"
                        ),
                        "reason": d.reason.value if d.reason else "",
                        "announcement_id": a.id,
                    },
                    message_id=f"<{d.idempotency_key}@klasbot>",
                    lang=self.policy.language,
                    reply_to=self.policy.reply_to,
                )
            )
        recorded: set[int] = set()

        async def on_sent(index: int) -> None:
            # Record each accepted message before the next goes out: a crash can then repeat at
            # most the one message in flight (with the same Message-ID).
            await self._sent([deliveries[index]], None, stats)
            recorded.add(index)

        try:
            results = await self.mailer.send(messages, on_sent=on_sent)
        except TransientDeliveryError as error:
            await self._retry(
                [d for i, d in enumerate(deliveries) if i not in recorded], error, stats
            )
            return
        except PermanentDeliveryError as error:
            await self._permanent(
                [d for i, d in enumerate(deliveries) if i not in recorded], error, stats
            )
            return
        sent = [
            d
            for i, (d, r) in enumerate(zip(deliveries, results, strict=True))
            if r is None and i not in recorded
        ]
        if sent:
            await self._sent(sent, None, stats)
        for d, result in zip(deliveries, results, strict=True):
            if isinstance(result, TransientDeliveryError):
                await self._retry([d], result, stats)
            elif isinstance(result, PermanentDeliveryError):
                if result.reason is None:
                    result.reason = "bounced"
                await self._permanent([d], result, stats)
            elif isinstance(result, DeliveryError | Exception):
                await self._retry([d], TransientDeliveryError(str(result)), stats)

    async def _letters(
        self,
        deliveries: Sequence[Delivery],
        announcements: dict[int, Announcement | None],
        pupils: dict[str, Person],
        stats: DispatchStats,
    ) -> None:
        """One letter per household per day: every pupil and announcement for that address."""
        if not deliveries:
            return
        if self.printer is None:
            await self._retry(
                deliveries, TransientDeliveryError("no letter printer configured"), stats
            )
            return
        day = local_today(self.clock.now(), self.policy.timezone)
        households: dict[str, tuple[Recipient, list[Delivery]]] = {}
        for d in deliveries:
            for r in d.recipients:
                if r.address is None:
                    continue
                key = f"{day.isoformat()}-{hashlib.sha256(r.address.household_key.encode()).hexdigest()[:12]}"
                households.setdefault(key, (r, []))[1].append(d)
        for base_key, (recipient, batch) in households.items():
            async with self.db.transaction() as store:
                key = await store.open_letter_key(base_key)
                earlier = await store.letter_deliveries(key)
                ids = {d.id for d in batch}
                everything = [*[d for d in earlier if d.id not in ids], *batch]
                names = await store.persons({d.pupil_id for d in everything})
                texts = {
                    a: await store.announcement(a) for a in {d.announcement_id for d in everything}
                }
            assert recipient.address is not None
            letter = Letter(
                key=key,
                recipient_name=recipient.name,
                address=recipient.address,
                items=tuple(
                    LetterItem(
                        pupil_name=names[d.pupil_id].full_name
                        if d.pupil_id in names
                        else d.pupil_id,
                        title=kinds.kind_title(texts[d.announcement_id].kind, self.policy.language),  # type: ignore[union-attr]
                        body=texts[d.announcement_id].body,  # type: ignore[union-attr]
                        signature=texts[d.announcement_id].signature,  # type: ignore[union-attr]
                    )
                    for d in sorted(everything, key=lambda d: (d.announcement_id, d.pupil_id))
                ),
                date_text=_date_text(day, self.policy.language),
            )
            try:
                path = await asyncio.to_thread(self.printer.render, letter)
            except OSError as error:
                await self._retry(
                    batch, TransientDeliveryError(f"letter not written: {error}"), stats
                )
                continue
            async with self.db.transaction() as store:
                await store.add_letter(
                    key,
                    recipient.name,
                    ", ".join(recipient.address.lines()),
                    path,
                    self.clock.now(),
                    [d.id for d in batch],
                )
            stats.letters += 1
            stats.by_channel[Channel.POST.value] += len(batch)


def _without_email(person: Person) -> Person:
    from dataclasses import replace

    return replace(person, email=None)


def _html(announcement: Announcement) -> str:
    from html import escape

    body = escape(announcement.body).replace("\n", "<br>")
    return f"{body}<br><br><i>{escape(announcement.signature)}</i>"


def _date_text(day: Any, lang: str) -> str:
    return format_date(day, lang)

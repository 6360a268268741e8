"""Writing to the outbox: everything that leaves for a person is a row here, written in the same
transaction as what caused it, and delivered by `bot.dispatch` (rule 6: exactly once).

Also the two decisions about a row's life that are not the dispatcher's: when it may first go out
(rule 8, through `SchoolPolicy.release_at`) and when a letter's delivery counts as sent (when every
letter carrying it has been posted).

The pupils nobody reached are reported in one overview per author per school day, not one mail per
announcement (`add_unreachable_warning`): one outbox row per (author, local date), due at the
school's `digest_at` (or the next morning once that has passed), whose notice grows while the row
waits. Exactly once with any number of dispatchers: a row is extended only while no dispatcher has
ever claimed it, and the check is fenced (see `_extend`); once one has, what comes after goes on a
new row of its own.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.domain import (
    Announcement,
    Channel,
    Delivery,
    DeliveryStatus,
    NewDelivery,
    Recipient,
    Route,
)
from bot.notices import Notice, UnreachableItem, UnreachableNotice, delivered
from bot.policy import SchoolPolicy, leadership_for, school_name_for
from bot.repositories import Repositories

logger = logging.getLogger(__name__)

DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)
"""Due for any dispatcher, whatever its clock says (two processes started with the same
KLASBOT_NOW disagree by the time each has run)."""


def delivery_key(*parts: object) -> str:
    raw = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def notice_key(kind: str, *parts: object) -> str:
    """A notice's idempotency key (and so its Message-ID): its kind, then a digest."""
    return f"{kind}-{delivery_key(kind, *parts)}"


def first_due(
    policy: SchoolPolicy, announcement: Announcement, now: datetime
) -> tuple[datetime, DeliveryStatus, datetime | None]:
    """(due_at, status, held_until) for a new announcement's rows (rule 8)."""
    wanted = announcement.not_before
    due = max(now, wanted) if wanted else now
    held_until = policy.release_at(due, announcement.kind)
    if held_until is not None:
        return held_until, DeliveryStatus.HELD, held_until
    return (wanted if wanted and wanted > now else DUE_AT_ONCE), DeliveryStatus.PENDING, None


async def add_announcement_rows(
    tx: Repositories,
    policy: SchoolPolicy,
    announcement: Announcement,
    routes: Sequence[Route],
    now: datetime,
) -> datetime | None:
    """One row per pupil for a stored announcement; returns until when they are held."""
    due_at, status, held_until = first_due(policy, announcement, now)
    await tx.outbox.add(
        [
            NewDelivery(
                person_id=route.pupil_id,
                channel=route.channel,
                reason=route.reason,
                # Nothing will carry an unreachable pupil's copy: it is failed from the start
                # (and reported, `add_unreachable_warning`).
                status=DeliveryStatus.FAILED if route.channel == Channel.UNREACHABLE else status,
                due_at=due_at,
                idempotency_key=delivery_key(announcement.id, route.pupil_id),
                recipients=route.recipients,
                group_id=route.group_id,
                announcement_id=announcement.id,
            )
            for route in routes
        ]
    )
    return held_until


def email_recipients(addresses: Iterable[str | None]) -> tuple[Recipient, ...]:
    seen: dict[str, Recipient] = {}
    for address in addresses:
        if address and address not in seen:
            seen[address] = Recipient(person_id="", name="", email=address)
    return tuple(seen.values())


async def add_notice(
    tx: Repositories,
    notice: Notice,
    *,
    person_id: str,
    route: Route,
    key: str,
) -> int | None:
    """Queue one notice along `route` (e-mail or letter); returns the row id, or None when the
    route reaches nobody (the caller reports that)."""
    if route.channel not in (Channel.EMAIL, Channel.POST) or not route.recipients:
        return None
    [row_id] = await tx.outbox.add(
        [
            NewDelivery(
                person_id=person_id,
                channel=route.channel,
                reason=route.reason,
                status=DeliveryStatus.PENDING,
                due_at=DUE_AT_ONCE,
                idempotency_key=key,
                recipients=route.recipients,
                notice=notice,
            )
        ]
    )
    return row_id


async def add_mail_notice(
    tx: Repositories, notice: Notice, *, person_id: str, to: Iterable[str | None], key: str
) -> bool:
    """Queue a notice for fixed e-mail addresses (leadership, staff); False when there are none."""
    recipients = email_recipients(to)
    route = Route(person_id, Channel.EMAIL, None, recipients)
    return await add_notice(tx, notice, person_id=person_id, route=route, key=key) is not None


STATE_SCOPE = "klasbot"
"""The `PlatformStateRepository` scope of the values the core keeps for itself."""
MORNING = time(7, 0)
""""The next morning" when the school has no quiet hours whose end says when that is."""


@dataclass(frozen=True, slots=True)
class Told:
    """Who is told by e-mail about pupils nobody reached: the author (when they have an address)
    and school leadership (when the roster or the configuration knows it), at `at` (None:
    nobody)."""

    author: bool
    leadership: bool
    at: datetime | None

    @property
    def anybody(self) -> bool:
        return self.author or self.leadership


NOBODY_TOLD = Told(author=False, leadership=False, at=None)


def digest_due(policy: SchoolPolicy, now: datetime) -> datetime:
    """When an overview of pupils not reached that is started at `now` goes out: today at the
    school's `digest_at`, or, when that time has passed, the next morning (when the quiet hours
    end, at the latest at `digest_at`; 07:00 without quiet hours)."""
    tz = policy.timezone
    local = now.astimezone(tz)
    today_at = datetime.combine(local.date(), policy.digest_at, tzinfo=tz)
    if local < today_at:
        return today_at.astimezone(UTC)
    quiet = policy.quiet_hours
    morning = quiet.end if quiet is not None and quiet.start != quiet.end else MORNING
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, min(morning, policy.digest_at), tzinfo=tz).astimezone(UTC)


async def add_unreachable_warning(
    tx: Repositories,
    policy: SchoolPolicy,
    announcement: Announcement,
    pupil_ids: Sequence[str],
    *,
    now: datetime | None = None,
) -> Told:
    """Rule 6: pupils no channel reaches are reported to the author (by e-mail, when they have
    an address) and to school leadership (`leadership_for`: the roster's and the configured),
    through the outbox, in the caller's
    transaction: they go on the author's overview of the day (`now`, default the announcement's
    time, in the school's time zone). Returns who will be told and when; `NOBODY_TOLD` when
    there are no pupils, or nobody to tell (logged)."""
    if not pupil_ids:
        return NOBODY_TOLD
    now = now or announcement.created_at
    author = await tx.roster.person(announcement.author_id)
    author_mail = author.email if author is not None else None
    found = await tx.roster.find_classes(announcement.class_id)
    leadership = await leadership_for(tx.roster, policy, found[0].school_id if found else None)
    recipients = email_recipients([author_mail, *leadership])
    if not recipients:
        logger.warning(
            "announcement %s: %d unreachable pupils and nobody to tell",
            announcement.id,
            len(pupil_ids),
        )
        return NOBODY_TOLD
    names = await tx.roster.persons(pupil_ids)
    item = UnreachableItem(
        announcement_id=announcement.id,
        class_code=found[0].code if found else announcement.class_id,
        summary=announcement.body,
        pupils=tuple(names[p].full_name if p in names else p for p in pupil_ids),
    )
    at = await _add_to_overview(tx, policy, announcement.author_id, item, recipients, now)
    return Told(author=bool(author_mail), leadership=bool(leadership), at=at)


async def _add_to_overview(
    tx: Repositories,
    policy: SchoolPolicy,
    author_id: str,
    item: UnreachableItem,
    recipients: tuple[Recipient, ...],
    now: datetime,
) -> datetime:
    """Put `item` on the author's overview of the day; returns when that overview goes out.

    Which row is the day's overview is kept under one key per author (the day, a sequence number
    and the row id; a digest of the author id names it, never the id itself). Writers take turns
    on that key (`state.lock`), so two announcements at once extend the same row, one after the
    other, instead of each adding a row. The row's idempotency key, and so its Message-ID, is
    (author, day, sequence number): stable, and never reused."""
    day = now.astimezone(policy.timezone).date()
    pointer = f"unreachable-overview:{delivery_key('unreachable', author_id)}"
    await tx.state.lock(STATE_SCOPE, pointer)
    number = 0
    stored = (await tx.state.get(STATE_SCOPE, pointer) or "").split()
    if len(stored) == 3 and stored[0] == day.isoformat():
        number = int(stored[1])
        due = await _extend(tx, int(stored[2]), item)
        if due is not None:
            return max(due, now)
    number += 1
    due = digest_due(policy, now)
    notice = UnreachableNotice(
        day=day.isoformat(), items=(item,), school_name=await school_name_for(tx.roster, policy)
    )
    [row_id] = await tx.outbox.add(
        [
            NewDelivery(
                person_id=author_id,
                channel=Channel.EMAIL,
                reason=None,
                status=DeliveryStatus.PENDING,
                due_at=due,
                idempotency_key=notice_key("unreachable", author_id, day.isoformat(), number),
                recipients=recipients,
                notice=notice,
            )
        ]
    )
    await tx.state.set(STATE_SCOPE, pointer, f"{day.isoformat()} {number} {row_id}")
    return due


def _waiting(row: Delivery) -> bool:
    """An overview row no dispatcher has ever claimed: nobody is sending it, or has sent it."""
    return (
        row.status == DeliveryStatus.PENDING
        and row.claim is None
        and isinstance(row.notice, UnreachableNotice)
    )


async def _extend(tx: Repositories, row_id: int, item: UnreachableItem) -> datetime | None:
    """Add `item` to the overview in row `row_id` while no dispatcher has claimed it; returns the
    row's due time, or None when the row is claimed, sent or gone (then a new row is started).

    Why this holds with dispatchers claiming at the same time: a dispatcher sends the notice it
    read when it claimed the row, so a row that has ever been claimed is never changed (it may
    be in flight; a lease that ran out does not say the send is over). The check and the change
    cannot be split by a claim: on SQLite every transaction holds the write lock from its start;
    on PostgreSQL the change is written first — from then on the row is locked and claims skip
    it (FOR UPDATE SKIP LOCKED) — and the row is read again: a claim committed between the first
    read and the write shows there, and the notice the dispatcher read is put back before a new
    row is started."""
    found = await tx.outbox.get([row_id])
    if not found or not _waiting(found[0]):
        return None
    before = found[0]
    assert isinstance(before.notice, UnreachableNotice)
    await tx.outbox.replace_notice(row_id, before.notice.adding(item))
    [after] = await tx.outbox.get([row_id])
    if not _waiting(after):
        await tx.outbox.replace_notice(row_id, before.notice)
        return None
    return before.due_at or DUE_AT_ONCE


async def forget_codes(tx: Repositories, deliveries: Sequence[Delivery]) -> None:
    """A delivered (or undeliverable) invite keeps no code in the outbox (`notices.delivered`)."""
    for d in deliveries:
        if d.notice is not None and (kept := delivered(d.notice)) is not d.notice:
            await tx.outbox.replace_notice(d.id, kept)


async def letters_posted(tx: Repositories, keys: Sequence[str], now: datetime) -> list[str]:
    """The office posted these letters: a delivery is sent once every letter carrying it is."""
    done = await tx.letters.mark_posted(keys, now)
    for key in done:
        for delivery in await tx.letters.deliveries(key):
            if await tx.letters.unposted_letters_of(delivery.id) == 0:
                await tx.outbox.mark_sent([delivery.id], now, None, count_attempt=False)
                await forget_codes(tx, [delivery])
    return done

"""Writing to the outbox: everything that leaves for a person is a row here, written in the same
transaction as what caused it, and delivered by `bot.dispatch` (rule 6: exactly once).

Also the two decisions about a row's life that are not the dispatcher's: when it may first go out
(rule 8, through `SchoolPolicy.release_at`) and when a letter's delivery counts as sent (when every
letter carrying it has been posted).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.domain import (
    Announcement,
    Channel,
    Delivery,
    DeliveryStatus,
    NewDelivery,
    Recipient,
    Route,
)
from bot.notices import Notice, UnreachableNotice, delivered
from bot.policy import SchoolPolicy
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


async def add_unreachable_warning(
    tx: Repositories,
    policy: SchoolPolicy,
    announcement: Announcement,
    pupil_ids: Sequence[str],
) -> bool:
    """Rule 6: pupils no channel reaches are reported to the author and leadership, through the
    outbox (so the warning survives a crash like any delivery). False when nobody can be told."""
    if not pupil_ids:
        return True
    author = await tx.roster.person(announcement.author_id)
    names = await tx.roster.persons(pupil_ids)
    found = await tx.roster.find_classes(announcement.class_id)
    notice = UnreachableNotice(
        announcement_id=announcement.id,
        class_code=found[0].code if found else announcement.class_id,
        summary=announcement.body,
        pupils=tuple(names[p].full_name if p in names else p for p in pupil_ids),
        school_name=policy.school_name,
    )
    digest = notice_key("unreachable", announcement.id, *sorted(pupil_ids))
    queued = await add_mail_notice(
        tx,
        notice,
        person_id=announcement.author_id,
        to=[author.email if author else None, *policy.leadership_emails],
        key=digest,
    )
    if not queued:
        logger.warning(
            "announcement %s: %d unreachable pupils and nobody to tell",
            announcement.id,
            len(pupil_ids),
        )
    return queued


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

"""Firing mentors' schedules: every occurrence that is due becomes an announcement, once, and
one `klasbot run` among several fires (the firer's lease).

Firing an occurrence records it under the unique key (schedule, occurrence) in the same
transaction as the announcement it makes (`bot.usecases.announcing.announce_in`) and the move to
the schedule's next occurrence, so an occurrence fires at most once, whatever crashes and however
many processes run. An occurrence that came due while klasbot was down fires late within the
grace period (`schedule.grace`, default 1 hour); later than that it is skipped and its author told
by e-mail, as is an occurrence the rules refuse when it comes due (the author left the class, the
kind is no longer allowed). Planning, adding, listing and cancelling: `bot.usecases.scheduling`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot import metrics
from bot.domain import Firing, FiringOutcome, Schedule
from bot.errors import KlasbotError
from bot.notices import ScheduleNotice
from bot.outbox import add_mail_notice, notice_key
from bot.policy import school_name_for
from bot.recurrence import next_occurrence
from bot.repositories import Repositories
from bot.usecases import announcing, leases
from bot.usecases.context import Context
from bot.usecases.holidays import all_holidays
from bot.usecases.scheduling import (
    ScheduleRequest,
    describe,
    draft_of,
    occurrence_words,
    stored_when,
    tz_of,
)

logger = logging.getLogger(__name__)

FIRE_BATCH = 200
FIRER_KEY = leases.FIRER
"""The lease (`bot.usecases.leases`) that says which `klasbot run` fires."""


@dataclass
class FireStats:
    fired: int = 0
    missed: int = 0
    refused: int = 0
    announcements: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.fired + self.missed + self.refused


# --- firing -------------------------------------------------------------------------------------


async def next_due(ctx: Context) -> datetime | None:
    """The earliest occurrence not fired yet, of any schedule (the timer wakes then)."""
    async with ctx.db.transaction() as tx:
        return await tx.schedules.next_due()


class _FiredElsewhere(Exception):
    """The occurrence was recorded by another process between our read and our write."""


async def fire_due(ctx: Context, *, limit: int = FIRE_BATCH) -> FireStats:
    """Fire every occurrence due at the clock's time: each becomes an announcement (or, past
    the grace period, a note to its author), recorded once under (schedule, occurrence)."""
    stats = FireStats()
    now = ctx.clock.now()
    while True:
        async with ctx.db.transaction() as tx:
            due = [s.id for s in await tx.schedules.due(now, limit)]
        progressed = False
        for schedule_id in due:
            try:
                outcome = await _fire_one(ctx, schedule_id, now, stats)
            except _FiredElsewhere:
                continue
            except Exception:
                # One schedule that cannot fire now (a database error) must not keep the others
                # from firing; it stays due and is tried again next round.
                logger.exception("schedule %s could not fire; it is tried again", schedule_id)
                continue
            if outcome is not None:
                progressed = True
        if not due or not progressed:
            return stats


async def _fire_one(
    ctx: Context, schedule_id: int, now: datetime, stats: FireStats
) -> FiringOutcome | None:
    """Fire the due occurrence of one schedule, in one transaction: the move to the next
    occurrence, the record of this one and the announcement commit together or not at all."""
    async with ctx.db.transaction() as tx:
        schedule = await tx.schedules.lock(schedule_id)
        if (
            schedule is None
            or not schedule.active
            or schedule.next_run is None
            or schedule.next_run > now
        ):
            return None  # another process fired it, or it was cancelled, since we looked
        occurrence = schedule.next_run
        holidays = await all_holidays(tx, await announcing.class_policy(ctx, tx, schedule.class_id))
        following = next_occurrence(
            schedule.rule,
            schedule.start,
            tz_of(schedule),
            after=occurrence,
            until=schedule.until,
            exceptions=schedule.exceptions,
            holidays=holidays,
        )
        await tx.schedules.set_next_run(
            schedule.id, following.at.astimezone(UTC) if following else None
        )
        if now - occurrence > ctx.policy.schedule_grace:
            await _record(tx, schedule, occurrence, FiringOutcome.MISSED, now)
            await _tell_author(ctx, tx, schedule, occurrence, FiringOutcome.MISSED, None)
            await ctx.audit(
                tx,
                "schedule-missed",
                None,
                [schedule.author_id],
                schedule=schedule.id,
                occurrence=occurrence.isoformat(),
                late_seconds=int((now - occurrence).total_seconds()),
            )
            stats.missed += 1
            return FiringOutcome.MISSED
        local_day = occurrence.astimezone(tz_of(schedule)).date()
        request = ScheduleRequest(
            schedule.class_id,
            schedule.author_id,
            stored_when(schedule),
            schedule.text,
            schedule.kind,
        )
        draft = draft_of(request, schedule.class_id, local_day)
        try:
            result = await announcing.announce_in(
                ctx, tx, draft, source="schedule", again=True, schedule_id=schedule.id
            )
        except KlasbotError as error:
            # The rules check before anything is written: the transaction holds only the
            # move to the next occurrence, which stands.
            await _record(tx, schedule, occurrence, FiringOutcome.REFUSED, now, str(error))
            await _tell_author(ctx, tx, schedule, occurrence, FiringOutcome.REFUSED, error)
            await ctx.audit(
                tx,
                "refusal",
                None,
                [schedule.author_id],
                code=getattr(error, "code", type(error).__name__),
                rule=getattr(error, "rule", None),
                message=str(error),
                schedule=schedule.id,
                occurrence=occurrence.isoformat(),
                source="schedule",
            )
            stats.refused += 1
            return FiringOutcome.REFUSED
        await _record(
            tx, schedule, occurrence, FiringOutcome.FIRED, now, None, result.announcement.id
        )
        stats.fired += 1
        metrics.schedule_lag((now - occurrence).total_seconds())
        stats.announcements.append(result.announcement.id)
        return FiringOutcome.FIRED


async def _record(
    tx: Repositories,
    schedule: Schedule,
    occurrence: datetime,
    outcome: FiringOutcome,
    now: datetime,
    detail: str | None = None,
    announcement_id: int | None = None,
) -> None:
    firing = Firing(schedule.id, occurrence, outcome, now, announcement_id, detail)
    if not await tx.schedules.record_firing(firing):
        raise _FiredElsewhere()


async def _tell_author(
    ctx: Context,
    tx: Repositories,
    schedule: Schedule,
    occurrence: datetime,
    outcome: FiringOutcome,
    error: KlasbotError | None,
) -> None:
    author = await tx.roster.person(schedule.author_id)
    if author is None or not author.email:
        return
    lang = author.language or ctx.policy.language
    codes = {c.id: c.code for c, *_ in await tx.roster.classes()}
    notice = ScheduleNotice(
        schedule_id=schedule.id,
        outcome=outcome.value,
        class_code=codes.get(schedule.class_id, schedule.class_id),
        when=describe(schedule, lang),
        occurrence=occurrence_words(occurrence, tz_of(schedule), lang),
        text=schedule.text,
        school_name=await school_name_for(tx.roster, ctx.policy, schedule.class_id),
        recipient_name=author.full_name,
        reason=error.render(lang) if error is not None else None,
    )
    await add_mail_notice(
        tx,
        notice,
        person_id=author.id,
        to=[author.email],
        key=notice_key("schedule", schedule.id, occurrence.astimezone(UTC).isoformat()),
    )


# --- one firer ----------------------------------------------------------------------------------


async def hold_firer_lease(ctx: Context, owner: str, lease: timedelta) -> bool:
    """Whether `owner` (one `klasbot run` process) is the one that fires schedules: it takes the
    lease when it is free or expired, and renews it while it holds it. Another process takes
    over within `lease` of the holder dying. (Exactly-once does not depend on it: every
    occurrence is recorded once; the lease keeps several processes from racing for each.)"""
    return await leases.hold(ctx, FIRER_KEY, owner, lease)


async def release_firer_lease(ctx: Context, owner: str) -> None:
    """Give the lease up (a clean stop), so that another process takes over at once."""
    await leases.release(ctx, FIRER_KEY, owner)

"""Mentors' scheduled reminders: plan (the preview), add, list and cancel; firing what is due
is `bot.usecases.firing`.

A schedule is a row in klasbot's own database (`bot.domain.Schedule`): the class, the author, the
kind and text, and the recurrence as an iCalendar RRULE over the school's local wall-clock time
(`bot.recurrence`). Each schedule keeps its next occurrence (`next_run`); firing an occurrence
records it under the unique key (schedule, occurrence) in the same transaction as the announcement
it makes and the move to the next occurrence, so an occurrence fires at most once, whatever
crashes and however many processes run (`fire_due`). The timer that wakes `klasbot run` at the
next due occurrence is only a timer: it stores nothing (`adapters.timer`).

Each firing is a normal announcement (`bot.usecases.announcing.announce_in`): the same rules,
signature, routing, fallback and quiet hours, with `schedule_id` set. An occurrence that comes
due while klasbot is down fires late within the grace period (`schedule.grace`, default 1 hour);
later than that it is skipped and its author told by e-mail, as is an occurrence the rules refuse
when it comes due (the author left the class, the kind is no longer allowed).

Limits against flooding (protocol B.1: functional messages, not a stream): no recurrence more
often than `schedule.min_interval` (default daily), at most `schedule.max_per_class` active
schedules per class, and a recurring schedule ends with the school year unless its author sets
an end (`bot.rules.school_calendar`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.dates import format_date, format_time
from bot.domain import (
    AnnouncementDraft,
    Holiday,
    Kind,
    Person,
    Schedule,
)
from bot.errors import InvalidInput, KlasbotError, NotFound, RuleViolation
from bot.i18n import Msg
from bot.outbox import STATE_SCOPE
from bot.recurrence import Occurrence, occurrences, shortest_gap
from bot.repositories import Repositories
from bot.rules import authorization
from bot.rules.age import local_today
from bot.usecases import announcing
from bot.usecases.context import Context, resolve_class
from bot.usecases.holidays import all_holidays
from bot.when import When, parse_when

logger = logging.getLogger(__name__)

RULE = "B.1"
PREVIEW_COUNT = 3
"""How many next dates a preview and `/planning` show."""

M_TOO_OFTEN = Msg(
    "'{when}' repeats more often than allowed: at most once every {interval}. "
    "Use for example every day 08:00 or every monday 08:00."
)
M_TOO_MANY = Msg(
    "Class {klas} already has {count} scheduled messages, the most allowed. "
    "Cancel one first (/schedule {klas})."
)
M_NOTHING_LEFT = Msg("'{when}' has no date left before the end ({until}); choose another moment.")
M_UNTIL_PASSED = Msg("The end date {until} has already passed.")
M_WHEN_PASSED = Msg("{when} has already passed. Choose a moment in the future.")
M_NO_SCHEDULE = Msg("There is no scheduled message {id}.")
M_NO_SCHEDULE_IN_CLASS = Msg(
    "Class {klas} has no scheduled message {id}; /schedule {klas} lists them."
)
M_ALREADY_CANCELLED = Msg("Scheduled message {id} was cancelled already.")
M_DAYS = Msg("{days} days")
M_HOURS = Msg("{hours} hours")
M_ONE_DAY = Msg("day")


@dataclass(frozen=True)
class ScheduleRequest:
    """What a staff member asks to schedule, before the rules have passed it."""

    class_ref: str
    author_id: str
    when: When
    text: str
    kind: Kind = Kind.REMINDER
    until: date | None = None
    exceptions: tuple[date, ...] = ()
    """Local days on which a repeating schedule does not fire (a trip day, a study day)."""


@dataclass(frozen=True)
class Plan:
    """What the author is shown before confirming: the signed text, the moment in words, the
    next dates, and what to know first (a holiday, a daylight-saving shift, quiet hours, lesson
    hours)."""

    request: ScheduleRequest
    class_id: str
    class_code: str
    text: str
    """The signed text as the group will see it."""
    rule: str | None
    start: datetime
    until: date | None
    """The last day it may fire: the author's end, else (recurring) the school year's."""
    next: tuple[Occurrence, ...]
    held_until: datetime | None = None
    """When the first occurrence falls in quiet hours (rule 8): when it goes out instead."""
    silent: bool = False
    """Whether the first occurrence's group post is silent (A.1, lesson hours)."""

    @property
    def recurring(self) -> bool:
        return self.rule is not None

    @property
    def first(self) -> Occurrence:
        return self.next[0]

    @property
    def moved(self) -> tuple[Occurrence, ...]:
        """Next dates whose wall-clock time does not exist (daylight saving time starts)."""
        return tuple(o for o in self.next if o.moved)


@dataclass(frozen=True)
class ScheduleView:
    schedule: Schedule
    class_code: str
    next: tuple[Occurrence, ...]


# --- reading ------------------------------------------------------------------------------------


def tz_of(schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(schedule.timezone)


def upcoming(
    schedule: Schedule, holidays: Sequence[Holiday], now: datetime, limit: int = PREVIEW_COUNT
) -> tuple[Occurrence, ...]:
    """The schedule's next `limit` occurrences that have not fired, from its `next_run` on."""
    if not schedule.active or schedule.next_run is None:
        return ()
    after = schedule.next_run - timedelta(microseconds=1)
    return tuple(
        occurrences(
            schedule.rule,
            schedule.start,
            tz_of(schedule),
            after=after,
            until=schedule.until,
            exceptions=schedule.exceptions,
            holidays=holidays,
            limit=limit,
        )
    )


def stored_when(schedule: Schedule) -> When:
    """The schedule's moment as its author wrote it, read back (as at its creation)."""
    return parse_when(schedule.when, now=schedule.created_at, tz=tz_of(schedule))


def describe(schedule: Schedule, lang: str) -> str:
    """The schedule's moment in words: `elke maandag om 08:00`, `dinsdag 1 december 2026 om
    08:00`."""
    return stored_when(schedule).describe(lang)


def occurrence_words(occurrence: datetime, tz: ZoneInfo, lang: str) -> str:
    """`maandag 7 december 2026 08:00`: an instant as a person reads it, in school time."""
    local = occurrence.astimezone(tz)
    return f"{format_date(local.date(), lang)} {format_time(local.time())}"


# --- planning and adding ------------------------------------------------------------------------


def draft_of(request: ScheduleRequest, class_id: str, day: date | None) -> AnnouncementDraft:
    from bot.rules.kinds import KINDS

    spec = KINDS.get(request.kind)
    # A kind about a date (a trip) is about the day it fires; a reminder is about "now".
    needs_date = spec is not None and "date" in spec.required
    return AnnouncementDraft(
        class_id,
        request.author_id,
        request.kind,
        date=day if needs_date else None,
        text=request.text,
    )


async def _plan_in(ctx: Context, tx: Repositories, request: ScheduleRequest) -> Plan:
    now = ctx.clock.now()
    school_class = await resolve_class(tx, request.class_ref)
    policy = await announcing.class_policy(ctx, tx, school_class.id)
    tz = policy.timezone
    when = request.when
    rule = when.rule if when.recurring else None
    if not when.recurring:
        assert when.at is not None
        if when.at <= now:
            raise InvalidInput(M_WHEN_PASSED, when=when.text)
    today = local_today(now, tz)
    if request.until is not None and request.until < today:
        raise InvalidInput(M_UNTIL_PASSED, until=format_date(request.until, policy.language))
    until = request.until
    if rule is not None and until is None:
        until = policy.school_year_end(today)
    first_day = (
        (when.at.astimezone(tz).date() if when.at else today) if not when.recurring else today
    )
    draft = draft_of(request, school_class.id, first_day)
    roster, _author, body, sig = await announcing._check(ctx, tx, draft, policy.language)
    if rule is not None:
        gap = shortest_gap(rule, when.start, tz)
        if gap < policy.schedule_min_interval:
            raise RuleViolation(
                M_TOO_OFTEN,
                rule=RULE,
                code="too-often",
                when=when.text,
                interval=_duration_words(policy.schedule_min_interval, policy.language),
            )
    count = await tx.schedules.count_active(school_class.id)
    if count >= policy.schedule_max_per_class:
        raise RuleViolation(
            M_TOO_MANY, rule=RULE, code="too-many-schedules", klas=school_class.code, count=count
        )
    holidays = await all_holidays(tx, policy)
    found = occurrences(
        rule,
        when.start,
        tz,
        after=now,
        until=until,
        exceptions=request.exceptions,
        holidays=holidays,
        limit=PREVIEW_COUNT,
    )
    if not found:
        raise InvalidInput(
            M_NOTHING_LEFT,
            when=when.text,
            until=format_date(until, policy.language) if until else "-",
        )
    first = found[0].at
    kind = request.kind
    return Plan(
        request=request,
        class_id=school_class.id,
        class_code=roster.school_class.code,
        text=f"{body}\n\n{sig}",
        rule=rule,
        start=when.start,
        until=until,
        next=tuple(found),
        held_until=policy.release_at(first, kind),
        silent=policy.silent(policy.release_at(first, kind) or first, kind),
    )


def _duration_words(gap: timedelta, lang: str) -> str:
    seconds = int(gap.total_seconds())
    if seconds == 86400:
        return M_ONE_DAY(lang)
    if seconds % 86400 == 0:
        return M_DAYS(lang, days=seconds // 86400)
    return M_HOURS(lang, hours=round(seconds / 3600, 1))


async def plan(ctx: Context, request: ScheduleRequest, *, source: str = "cli") -> Plan:
    """Check everything `add` checks and return the preview; stores nothing but a refusal."""
    try:
        async with ctx.db.transaction() as tx:
            return await _plan_in(ctx, tx, request)
    except KlasbotError as error:
        await _audit_refusal(ctx, error, request, source)
        raise


async def _audit_refusal(
    ctx: Context, error: KlasbotError, request: ScheduleRequest, source: str
) -> None:
    await ctx.audit_refusal(
        error,
        actor=request.author_id,
        class_ref=request.class_ref,
        kind=request.kind,
        source=source,
        when=request.when.text,
    )


async def add(
    ctx: Context, request: ScheduleRequest, *, source: str = "cli"
) -> tuple[Schedule, Plan]:
    """Check the rules (7, 4, 5 as for an announcement; the limits against flooding) and store
    the schedule with its first occurrence as `next_run`. Takes effect without a restart: the
    firer reads `next_run` every round."""
    now = ctx.clock.now()
    try:
        async with ctx.db.transaction() as tx:
            # Schedules of one class take turns: two at once cannot both pass the limit.
            school_class = await resolve_class(tx, request.class_ref)
            await tx.state.lock(STATE_SCOPE, f"schedules:{school_class.id}")
            result = await _plan_in(ctx, tx, request)
            schedule = Schedule(
                id=0,
                class_id=result.class_id,
                author_id=request.author_id,
                kind=request.kind,
                text=request.text,
                when=request.when.text,
                rule=result.rule,
                start=result.start,
                timezone=(await announcing.class_policy(ctx, tx, result.class_id)).timezone.key,
                created_at=now,
                until=result.until,
                exceptions=tuple(sorted(set(request.exceptions))),
                next_run=result.first.at.astimezone(UTC),
            )
            schedule = replace(schedule, id=await tx.schedules.add(schedule))
            await ctx.audit(
                tx,
                "schedule-added",
                request.author_id,
                [request.author_id],
                schedule=schedule.id,
                class_id=schedule.class_id,
                kind=request.kind,
                when=schedule.when,
                rule=schedule.rule,
                until=schedule.until.isoformat() if schedule.until else None,
                source=source,
            )
    except KlasbotError as error:
        await _audit_refusal(ctx, error, request, source)
        raise
    return schedule, result


async def list_schedules(
    ctx: Context, class_ref: str | None = None, *, include_ended: bool = False
) -> list[ScheduleView]:
    """The schedules (of one class), active ones only unless `include_ended`, with their next
    dates."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        class_id = (await resolve_class(tx, class_ref)).id if class_ref else None
        found = await tx.schedules.list(class_id, active_only=not include_ended)
        holidays = await all_holidays(tx, ctx.policy)
        codes = {c.id: c.code for c, *_ in await tx.roster.classes()}
    return [
        ScheduleView(s, codes.get(s.class_id, s.class_id), upcoming(s, holidays, now))
        for s in found
    ]


async def cancel(
    ctx: Context,
    schedule_id: int,
    actor: Person | None,
    *,
    class_ref: str | None = None,
    source: str = "cli",
) -> Schedule:
    """Cancel a schedule: by its author or staff of its class (chat), or by the admin (`actor`
    None, the CLI). With `class_ref` (the chat's `/planning KLAS annuleer N`) the schedule must
    belong to that class. Raises NotFound, or RuleViolation when the actor may not."""
    now = ctx.clock.now()
    try:
        async with ctx.db.transaction() as tx:
            schedule = await tx.schedules.lock(schedule_id)
            if class_ref is not None:
                school_class = await resolve_class(tx, class_ref)
                if schedule is None or schedule.class_id != school_class.id:
                    raise NotFound(M_NO_SCHEDULE_IN_CLASS, id=schedule_id, klas=school_class.code)
            if schedule is None:
                raise NotFound(M_NO_SCHEDULE, id=schedule_id)
            if actor is not None:
                roster = await tx.roster.class_roster(schedule.class_id)
                authorization.require_may_cancel_schedule(
                    actor, schedule_id, schedule.author_id, roster
                )
            if not await tx.schedules.cancel(schedule_id, actor.id if actor else None, now):
                raise InvalidInput(M_ALREADY_CANCELLED, id=schedule_id)
            await ctx.audit(
                tx,
                "schedule-cancelled",
                actor.id if actor else None,
                [schedule.author_id],
                schedule=schedule_id,
                class_id=schedule.class_id,
                source=source,
            )
            return replace(schedule, cancelled_at=now, cancelled_by=actor.id if actor else None)
    except KlasbotError as error:
        await ctx.audit_refusal(
            error,
            actor=actor.id if actor else None,
            schedule=schedule_id,
            source=source,
        )
        raise

"""Scheduled reminders (`bot.usecases.scheduling`): planning, limits, firing exactly once, the
grace period, holidays, daylight saving time, cancelling and the firer's lease — on the
in-memory unit of work with a clock that only moves when told."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import FrozenClock
from bot.domain import FiringOutcome, Holiday, Kind
from bot.errors import InvalidInput, NotFound, RuleViolation
from bot.notices import ScheduleNotice
from bot.usecases import firing, scheduling
from bot.usecases.context import Context
from bot.usecases.scheduling import ScheduleRequest
from bot.when import parse_when
from tests.unit.usecases.conftest import AMSTERDAM, notice_rows, person

# DEMO_NOW is Monday 23 November 2026, 10:00 in Amsterdam.


def request(
    ctx: Context, when: str, text: str = "Neem je gymkleren mee", **kw: object
) -> ScheduleRequest:
    parsed = parse_when(when, now=ctx.clock.now(), tz=AMSTERDAM)
    return ScheduleRequest("2B", kw.pop("author", "t-devries"), parsed, text, **kw)  # type: ignore[arg-type]


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=AMSTERDAM)


def move(ctx: Context, instant: datetime) -> None:
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    clock.at = instant.astimezone(UTC)


async def announcements(ctx: Context) -> list:
    async with ctx.db.transaction() as tx:
        return await tx.announcements.list()


async def test_a_weekly_reminder_is_planned_with_its_next_dates(ctx: Context) -> None:
    plan = await scheduling.plan(ctx, request(ctx, "elke maandag 08:00"))
    assert [o.at for o in plan.next] == [
        at(2026, 11, 30, 8),
        at(2026, 12, 7, 8),
        at(2026, 12, 14, 8),
    ]
    assert plan.recurring
    assert plan.rule is not None
    # Without an end of its own it ends with the school year (school.year_end, 31 July).
    assert plan.until == date(2027, 7, 31)
    assert plan.text.endswith("De Passie Utrecht")
    assert await announcements(ctx) == []


async def test_adding_stores_it_and_nothing_is_sent(ctx: Context) -> None:
    schedule, plan = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    assert schedule.id > 0
    assert schedule.next_run == at(2026, 11, 30, 8).astimezone(UTC)
    views = await scheduling.list_schedules(ctx, "2B")
    assert [v.schedule.id for v in views] == [schedule.id]
    assert [o.at for o in views[0].next] == [o.at for o in plan.next]
    assert await announcements(ctx) == []


async def test_an_occurrence_fires_once_as_an_announcement(ctx: Context) -> None:
    schedule, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    move(ctx, at(2026, 11, 30, 7, 59))
    assert (await firing.fire_due(ctx)).total == 0
    move(ctx, at(2026, 11, 30, 8, 0))
    stats = await firing.fire_due(ctx)
    assert (stats.fired, stats.missed, stats.refused) == (1, 0, 0)
    again = await firing.fire_due(ctx)
    assert again.total == 0
    made = await announcements(ctx)
    assert [(a.schedule_id, a.kind, a.text) for a in made] == [
        (schedule.id, Kind.REMINDER, "Neem je gymkleren mee")
    ]
    async with ctx.db.transaction() as tx:
        stored = await tx.schedules.get(schedule.id)
        firings = await tx.schedules.firings(schedule.id)
    assert stored is not None
    assert stored.next_run == at(2026, 12, 7, 8).astimezone(UTC)
    assert [(f.occurrence, f.outcome, f.announcement_id) for f in firings] == [
        (at(2026, 11, 30, 8).astimezone(UTC), FiringOutcome.FIRED, made[0].id)
    ]


async def test_a_recorded_occurrence_never_fires_again(ctx: Context) -> None:
    """Another process recorded the occurrence (a crash after its commit): nothing fires."""
    schedule, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    move(ctx, at(2026, 11, 30, 8, 0))
    assert (await firing.fire_due(ctx)).fired == 1
    async with ctx.db.transaction() as tx:  # as if the move to the next week were lost
        await tx.schedules.set_next_run(schedule.id, at(2026, 11, 30, 8).astimezone(UTC))
    assert (await firing.fire_due(ctx)).fired == 0
    assert len(await announcements(ctx)) == 1


async def test_late_within_the_grace_period_it_still_fires(ctx: Context) -> None:
    await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    move(ctx, at(2026, 11, 30, 8, 59))
    assert (await firing.fire_due(ctx)).fired == 1


async def test_past_the_grace_period_it_is_skipped_and_the_author_told(ctx: Context) -> None:
    schedule, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    # Down for two weeks and a bit: two occurrences missed, none sent late.
    move(ctx, at(2026, 12, 7, 9, 1))
    stats = await firing.fire_due(ctx)
    assert (stats.fired, stats.missed) == (0, 2)
    assert await announcements(ctx) == []
    notices = [r.notice for r in await notice_rows(ctx, "schedule-missed")]
    assert all(isinstance(n, ScheduleNotice) for n in notices)
    assert sorted(n.occurrence for n in notices if isinstance(n, ScheduleNotice)) == [
        "maandag 30 november 2026 08:00",
        "maandag 7 december 2026 08:00",
    ]
    author = await person(ctx, "t-devries")
    assert all(
        r.recipients[0].email == author.email for r in await notice_rows(ctx, "schedule-missed")
    )
    async with ctx.db.transaction() as tx:
        stored = await tx.schedules.get(schedule.id)
    assert stored is not None
    assert stored.next_run == at(2026, 12, 14, 8).astimezone(UTC)


async def test_a_grace_of_a_day_sends_the_latest_late(ctx: Context) -> None:
    ctx.policy = replace(ctx.policy, schedule_grace=timedelta(days=1))
    await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    move(ctx, at(2026, 11, 30, 20, 0))
    assert (await firing.fire_due(ctx)).fired == 1


async def test_recurring_reminders_skip_holidays(ctx: Context) -> None:
    kerst = Holiday(date(2026, 12, 19), date(2027, 1, 3), "kerstvakantie")
    ctx.policy = replace(ctx.policy, holidays=(kerst,))
    schedule, plan = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    assert [o.at.date() for o in plan.next] == [
        date(2026, 11, 30),
        date(2026, 12, 7),
        date(2026, 12, 14),
    ]
    fired: list[date] = []
    for day in (
        date(2026, 11, 30),
        date(2026, 12, 7),
        date(2026, 12, 14),
        date(2026, 12, 21),
        date(2026, 12, 28),
        date(2027, 1, 4),
    ):
        move(ctx, at(day.year, day.month, day.day, 8, 5))
        if (await firing.fire_due(ctx)).fired:
            fired.append(day)
    assert fired == [date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14), date(2027, 1, 4)]


async def test_imported_holidays_count_too(ctx: Context) -> None:
    async with ctx.db.transaction() as tx:
        await tx.holidays.add(
            [Holiday(date(2026, 11, 30), date(2026, 12, 4), "studieweek", "x.ics")]
        )
    plan = await scheduling.plan(ctx, request(ctx, "elke maandag 08:00"))
    assert plan.first.at == at(2026, 12, 7, 8)


async def test_a_one_off_in_a_holiday_is_allowed_and_flagged(ctx: Context) -> None:
    kerst = Holiday(date(2026, 12, 19), date(2027, 1, 3), "kerstvakantie")
    ctx.policy = replace(ctx.policy, holidays=(kerst,))
    plan = await scheduling.plan(ctx, request(ctx, "2026-12-22 10:00"))
    assert plan.first.holiday == kerst
    assert not plan.recurring


async def test_weekly_08_00_stays_08_00_local_across_both_dst_switches(ctx: Context) -> None:
    move(ctx, at(2027, 3, 15, 12))
    plan_march = await scheduling.plan(ctx, request(ctx, "elke maandag 08:00"))
    assert [o.at.astimezone(AMSTERDAM).strftime("%d-%m %H:%M %z") for o in plan_march.next] == [
        "22-03 08:00 +0100",
        "29-03 08:00 +0200",
        "05-04 08:00 +0200",
    ]
    move(ctx, at(2026, 10, 13, 12))
    plan_october = await scheduling.plan(ctx, request(ctx, "elke maandag 08:00"))
    assert [o.at.astimezone(AMSTERDAM).strftime("%d-%m %H:%M %z") for o in plan_october.next] == [
        "19-10 08:00 +0200",
        "26-10 08:00 +0100",
        "02-11 08:00 +0100",
    ]


async def test_the_spring_forward_night_fires_once_at_03_00_and_warns(ctx: Context) -> None:
    move(ctx, at(2027, 3, 20, 12))
    ctx.policy = replace(ctx.policy, quiet_hours=None)
    schedule, plan = await scheduling.add(ctx, request(ctx, "elke zondag 02:30"))
    assert plan.moved
    assert plan.moved[0].at == at(2027, 3, 28, 3, 0)
    fired = 0
    instant = at(2027, 3, 27, 23, 0)
    while instant < at(2027, 3, 28, 6, 0):
        move(ctx, instant)
        fired += (await firing.fire_due(ctx)).fired
        instant += timedelta(minutes=15)
    assert fired == 1
    made = await announcements(ctx)
    assert made[0].created_at == at(2027, 3, 28, 3, 0).astimezone(UTC)


async def test_the_autumn_night_fires_02_30_once(ctx: Context) -> None:
    move(ctx, at(2026, 10, 20, 12))
    ctx.policy = replace(ctx.policy, quiet_hours=None)
    await scheduling.add(ctx, request(ctx, "elke zondag 02:30"))
    fired = 0
    instant = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    while instant < datetime(2026, 10, 25, 4, 0, tzinfo=UTC):
        move(ctx, instant)
        fired += (await firing.fire_due(ctx)).fired
        instant += timedelta(minutes=10)
    assert fired == 1


async def test_no_more_often_than_the_minimum_interval(ctx: Context) -> None:
    await scheduling.plan(ctx, request(ctx, "elke dag 08:00"))  # daily: allowed by default
    ctx.policy = replace(ctx.policy, schedule_min_interval=timedelta(days=7))
    with pytest.raises(RuleViolation) as refused:
        await scheduling.plan(ctx, request(ctx, "elke werkdag 07:45"))
    assert refused.value.code == "too-often"
    assert "7 dagen" in refused.value.render("nl")


async def test_a_class_has_at_most_the_configured_number(ctx: Context) -> None:
    ctx.policy = replace(ctx.policy, schedule_max_per_class=2)
    await scheduling.add(ctx, request(ctx, "elke maandag 08:00", "Gym"))
    await scheduling.add(ctx, request(ctx, "elke dinsdag 08:00", "Tekenen"))
    with pytest.raises(RuleViolation) as refused:
        await scheduling.add(ctx, request(ctx, "elke woensdag 08:00", "Muziek"))
    assert refused.value.code == "too-many-schedules"
    assert "2B" in refused.value.render("nl")


async def test_only_staff_of_the_class_may_schedule(ctx: Context) -> None:
    with pytest.raises(RuleViolation):
        await scheduling.add(ctx, request(ctx, "elke maandag 08:00", author="t-jansen"))
    with pytest.raises(RuleViolation):
        await scheduling.add(ctx, request(ctx, "elke maandag 08:00", author="p-2b-01"))


async def test_personal_data_is_refused_before_saving(ctx: Context) -> None:
    with pytest.raises(RuleViolation):
        await scheduling.add(ctx, request(ctx, "elke maandag 08:00", "Bel 06-12345678"))
    async with ctx.db.transaction() as tx:
        assert await tx.schedules.list() == []


async def test_an_end_that_passed_is_refused(ctx: Context) -> None:
    with pytest.raises(InvalidInput):
        await scheduling.plan(ctx, request(ctx, "elke maandag 08:00", until=date(2026, 11, 1)))


async def test_the_end_stops_it(ctx: Context) -> None:
    schedule, plan = await scheduling.add(
        ctx, request(ctx, "elke maandag 08:00", until=date(2026, 12, 7))
    )
    assert [o.at.date() for o in plan.next] == [date(2026, 11, 30), date(2026, 12, 7)]
    for day in (30, 7):
        month = 11 if day == 30 else 12
        move(ctx, at(2026, month, day, 8, 0))
        await firing.fire_due(ctx)
    async with ctx.db.transaction() as tx:
        stored = await tx.schedules.get(schedule.id)
    assert stored is not None
    assert stored.next_run is None
    assert not stored.active
    assert await scheduling.list_schedules(ctx, "2B") == []


async def test_a_one_off_fires_once_at_its_moment(ctx: Context) -> None:
    schedule, plan = await scheduling.add(ctx, request(ctx, "morgen 07:30"))
    assert not plan.recurring
    assert plan.first.at == at(2026, 11, 24, 7, 30)
    move(ctx, at(2026, 11, 24, 7, 30))
    assert (await firing.fire_due(ctx)).fired == 1
    move(ctx, at(2026, 11, 25, 7, 30))
    assert (await firing.fire_due(ctx)).fired == 0
    async with ctx.db.transaction() as tx:
        stored = await tx.schedules.get(schedule.id)
    assert stored is not None
    assert not stored.active


async def test_the_preview_says_quiet_hours_and_silence(ctx: Context) -> None:
    night = await scheduling.plan(ctx, request(ctx, "morgen 06:00"))
    assert night.held_until == at(2026, 11, 24, 7, 0)
    lesson = await scheduling.plan(ctx, request(ctx, "morgen 10:00"))
    assert lesson.silent
    assert lesson.held_until is None
    evening = await scheduling.plan(ctx, request(ctx, "morgen 18:00"))
    assert not evening.silent


async def test_a_refusal_at_firing_time_is_recorded_and_the_author_told(ctx: Context) -> None:
    schedule, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    ctx.policy = replace(ctx.policy, allowed_kinds=(Kind.HOMEWORK,))
    move(ctx, at(2026, 11, 30, 8, 0))
    stats = await firing.fire_due(ctx)
    assert (stats.fired, stats.refused) == (0, 1)
    notices = [r.notice for r in await notice_rows(ctx, "schedule-missed")]
    assert len(notices) == 1
    assert isinstance(notices[0], ScheduleNotice)
    assert notices[0].outcome == "refused"
    assert notices[0].reason
    async with ctx.db.transaction() as tx:
        firings = await tx.schedules.firings(schedule.id)
    assert [f.outcome for f in firings] == [FiringOutcome.REFUSED]


async def test_cancelling(ctx: Context) -> None:
    schedule, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00"))
    jansen = await person(ctx, "t-jansen")
    with pytest.raises(RuleViolation):
        await scheduling.cancel(ctx, schedule.id, jansen)
    with pytest.raises(NotFound):
        await scheduling.cancel(ctx, schedule.id, None, class_ref="4C")
    bakker = await person(ctx, "t-bakker")  # a colleague of the class may
    cancelled = await scheduling.cancel(ctx, schedule.id, bakker, class_ref="2B")
    assert cancelled.cancelled_by == "t-bakker"
    with pytest.raises(InvalidInput):
        await scheduling.cancel(ctx, schedule.id, None)
    move(ctx, at(2026, 11, 30, 8, 0))
    assert (await firing.fire_due(ctx)).total == 0


async def test_one_firer_holds_the_lease_and_another_takes_over(ctx: Context) -> None:
    lease = timedelta(seconds=30)
    assert await firing.hold_firer_lease(ctx, "a", lease)
    assert not await firing.hold_firer_lease(ctx, "b", lease)
    move(ctx, ctx.clock.now() + timedelta(seconds=20))
    assert await firing.hold_firer_lease(ctx, "a", lease)  # renewed
    move(ctx, ctx.clock.now() + timedelta(seconds=29))
    assert not await firing.hold_firer_lease(ctx, "b", lease)
    move(ctx, ctx.clock.now() + timedelta(seconds=2))  # a died: its lease ran out
    assert await firing.hold_firer_lease(ctx, "b", lease)
    assert not await firing.hold_firer_lease(ctx, "a", lease)
    await firing.release_firer_lease(ctx, "b")
    assert await firing.hold_firer_lease(ctx, "a", lease)


async def test_exception_days_are_skipped(ctx: Context) -> None:
    schedule, plan = await scheduling.add(
        ctx, request(ctx, "elke maandag 08:00", exceptions=(date(2026, 12, 7),))
    )
    assert [o.at.date() for o in plan.next] == [
        date(2026, 11, 30),
        date(2026, 12, 14),
        date(2026, 12, 21),
    ]
    assert schedule.exceptions == (date(2026, 12, 7),)
    move(ctx, at(2026, 11, 30, 8, 0))
    assert (await firing.fire_due(ctx)).fired == 1
    move(ctx, at(2026, 12, 7, 8, 0))
    assert (await firing.fire_due(ctx)).fired == 0
    async with ctx.db.transaction() as tx:
        stored = await tx.schedules.get(schedule.id)
    assert stored is not None
    assert stored.next_run == at(2026, 12, 14, 8).astimezone(UTC)
    assert stored.exceptions == (date(2026, 12, 7),)


async def test_a_schedule_that_cannot_fire_does_not_keep_the_others_back(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00", "Gym"))
    fine, _ = await scheduling.add(ctx, request(ctx, "elke maandag 08:00", "Tekenen"))
    real = scheduling.announcing.announce_in

    async def failing(ctx: Context, tx: object, draft: object, **kw: object) -> object:
        if kw.get("schedule_id") == broken.id:
            raise RuntimeError("the database went away")
        return await real(ctx, tx, draft, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduling.announcing, "announce_in", failing)
    move(ctx, at(2026, 11, 30, 8, 0))
    assert (await firing.fire_due(ctx)).fired == 1
    assert [a.schedule_id for a in await announcements(ctx)] == [fine.id]
    async with ctx.db.transaction() as tx:
        still = await tx.schedules.get(broken.id)
    assert still is not None
    assert still.next_run == at(2026, 11, 30, 8).astimezone(UTC)
    monkeypatch.setattr(scheduling.announcing, "announce_in", real)
    assert (await firing.fire_due(ctx)).fired == 1

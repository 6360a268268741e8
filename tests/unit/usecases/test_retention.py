"""The retention period (`bot.usecases.retention`): a record is kept until the end of its school
year plus `school.retention_years` school years, then purged — by hand (`klasbot purge`, with
`--dry-run`) and once a day from the sweep. Open reports and what is still being delivered are
kept however old.

The demo clock starts on Monday 23 November 2026 (school year 2026-2027): what is made then is
kept until 31 July 2028 and purged from 1 August 2028."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta
from pathlib import Path

from bot.clock import FrozenClock
from bot.dispatch import Dispatcher
from bot.domain import Kind
from bot.policy import SchoolPolicy
from bot.usecases import announcing, queries, reports, retention, scheduling, sweep
from bot.usecases.context import Context
from bot.usecases.scheduling import ScheduleRequest
from bot.when import parse_when
from tests.unit.usecases.conftest import (
    add_invite,
    class_2b_with_group,
    events,
    homework,
    local,
    person,
)


def test_a_school_year_is_kept_until_the_end_of_the_next_one() -> None:
    policy = SchoolPolicy()
    assert retention.kept_from(policy, date(2027, 7, 31)) == date(2025, 8, 1)
    assert retention.kept_from(policy, date(2027, 8, 1)) == date(2026, 8, 1)
    assert retention.kept_from(policy, date(2028, 3, 1)) == date(2026, 8, 1)
    two_years = replace(policy, retention_years=2)
    assert retention.kept_from(two_years, date(2027, 8, 1)) == date(2025, 8, 1)
    june = replace(policy, year_end=(6, 30))
    assert retention.kept_from(june, date(2027, 7, 1)) == date(2026, 7, 1)


def test_discarding_files_counts_what_was_deleted(tmp_path: Path) -> None:
    there = tmp_path / "a.pdf"
    there.write_bytes(b"%PDF")
    assert retention.discard_files([str(there), str(tmp_path / "gone.pdf"), str(there)]) == 1
    assert not there.exists()


async def school_year_of_work(ctx: Context, dispatcher: Dispatcher, clock: FrozenClock) -> None:
    """Announcements (group, e-mail and letters, all delivered, the day's overview of who was
    not reached too), a closed and an open report, used codes and an unused one: the work of
    2026-2027, and a schedule made and cancelled."""
    await class_2b_with_group(ctx)
    await announcing.announce(ctx, homework())
    await announcing.announce(ctx, homework(kind=Kind.HOMEWORK, subject="Engels"))
    await dispatcher.run_once()
    assert await queries.mark_posted(ctx, [], every=True)
    zoe = await person(ctx, "p-2b-01")
    closed = await reports.report(ctx, zoe, "Iemand scheldt.", escalation=False, source="console")
    await reports.close_report(ctx, closed.id, by="directie", note="Besproken.")
    await reports.report(ctx, zoe, "Het gaat door.", escalation=False, source="console")
    await add_invite(ctx, "p-2b-02", "UNUSEDCODE")
    when = parse_when("elke maandag 08:00", now=ctx.clock.now(), tz=ctx.policy.timezone)
    schedule, _ = await scheduling.add(
        ctx, ScheduleRequest("2B", "t-devries", when, "Neem je gymkleren mee")
    )
    await scheduling.cancel(ctx, schedule.id, None)
    clock.at = local(date(2026, 11, 23), 16, 30).astimezone(UTC)
    await dispatcher.run_once()


async def counts(ctx: Context) -> dict[str, int]:
    async with ctx.db.transaction() as tx:
        return {
            "announcements": len(await tx.announcements.list()),
            "reports": len(await tx.reports.list()),
            "open": len(await tx.reports.list(open_only=True)),
            "events": len(await tx.audit.events()),
            "letters": len(await tx.letters.list()),
            "outbox": len(await tx.outbox.get(range(1, 1000))),
            "schedules": len(await tx.schedules.list()),
        }


async def test_nothing_is_purged_before_its_time_and_everything_done_after_it(
    ctx: Context, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    await school_year_of_work(ctx, dispatcher, clock)
    made = await counts(ctx)
    assert made["announcements"] == 2
    assert made["letters"] >= 1

    clock.at = local(date(2028, 7, 31), 12).astimezone(UTC)
    kept = await retention.purge(ctx, dry_run=True)
    assert kept.kept_from == date(2026, 8, 1)
    assert kept.total == 0

    clock.at = local(date(2028, 8, 1), 12).astimezone(UTC)
    would = await retention.purge(ctx, dry_run=True, by="beheerder")
    assert would.dry_run
    assert would.kept_from == date(2027, 8, 1)
    assert would.counts["announcements"] == 2
    assert would.counts["deliveries"] + would.counts["notices"] == made["outbox"]
    assert would.counts["reports"] == 1  # the open one is kept
    assert would.counts["letters"] == made["letters"]
    assert would.counts["audit_events"] == made["events"]
    assert would.counts["schedules"] == 1
    assert would.counts["invites"] >= 3  # the linked ones (used) and the unused one (expired)
    assert await counts(ctx) == made
    assert await events(ctx, "purged") == []

    done = await retention.purge(ctx, dry_run=False, by="beheerder")

    assert done.counts == would.counts
    left = await counts(ctx)
    assert left == {
        "announcements": 0,
        "reports": 1,
        "open": 1,
        "events": 1,  # the purge's own
        "letters": 0,
        "outbox": 0,
        "schedules": 0,
    }
    [purged] = await events(ctx, "purged")
    assert purged.details["by"] == "beheerder"
    assert purged.details["announcements"] == 2
    assert (await retention.purge(ctx, dry_run=False)).total == 0


async def test_an_announcement_still_being_delivered_is_kept(
    ctx: Context, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    await announcing.announce(ctx, homework())
    await dispatcher.run_once()  # the letters wait for the office

    clock.at = local(date(2028, 8, 1), 12).astimezone(UTC)
    result = await retention.purge(ctx, dry_run=False)

    assert result.counts["announcements"] == 0
    assert result.counts["letters"] == 0
    assert (await counts(ctx))["announcements"] == 1


async def test_the_sweep_purges_once_a_day(
    ctx: Context, dispatcher: Dispatcher, clock: FrozenClock
) -> None:
    await school_year_of_work(ctx, dispatcher, clock)
    first_day = date(2028, 8, 1)  # a Tuesday
    clock.at = local(first_day, 7, 30).astimezone(UTC)

    stats = await sweep.run_due(ctx)
    again = await sweep.run_due(ctx)
    clock.at += timedelta(days=1)
    next_day = await sweep.run_due(ctx)

    assert stats.ran
    assert stats.purged > 0
    assert not again.ran
    assert again.purged == 0
    assert next_day.ran
    assert next_day.purged == 0
    assert len(await events(ctx, "purged")) == 1
    [swept] = [e for e in await events(ctx, "sweep") if e.details["day"] == "2028-08-01"]
    assert swept.details["purged"] == stats.purged
    assert (await counts(ctx))["announcements"] == 0

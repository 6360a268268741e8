"""The daily sweep: once per school day, from `school.sweep_at` (default 07:00, school time),
klasbot does what the calendar asks of it (SPEC "klasbot dispatch"):

- **13th birthdays** (B.1; SPEC "Linking accounts"): every pupil enrolled in a class who turned 13
  since the last sweep (`bot.rules.age`, with its leap-day rule), has no linked account and holds
  no usable code gets their personal code through their fallback channel, exactly as
  `klasbot invites create --class` sends it (`bot.usecases.invites.invite_on_birthday`). Once they
  link, routing reaches them in the group.
- **Expired codes, weekly**: on the first sweep of an ISO week, each class's mentors (staff with
  `primary=true`, else the class's teachers) get one e-mail naming the pupils whose code expired
  unused since the last report. A mentor without an e-mail address is skipped (and counted).
- **The school year's last day** (`school.year_end`): every class group is archived — a closing
  post in the group, its members removed, its state `archived` (routing then counts it as no
  group: pupils are reached by e-mail or letter), the class's staff told by e-mail — and every
  active schedule of the class is cancelled.
- **The retention period** (`bot.usecases.retention`): what is older than the school keeps it is
  purged, once a day (`retention:last`).

School days are Monday to Friday, holidays included: a code for a birthday in the summer holiday
should not wait six weeks, and the year's last day usually falls in one. A weekend is caught up on
Monday (a pupil who turned 13 on Saturday gets their code on Monday), and so is any stretch
klasbot was down: a sweep covers every day since the last one (`sweep:last`).

Safe to run twice, from any number of processes at once, and after a crash halfway: the day is
recorded only when the sweep is done, and every effect is idempotent on its own — each runs in a
transaction that takes the sweep's lock and checks its own key first (a birthday's outbox keys and
the pupil's unused code, a report's key per mentor, class and ISO week, a group's state, a
schedule's cancellation). Members of an archived group are removed once its closing post went out
(they read it first), by the process that runs the group's platform: which groups still wait for
that is kept under `sweep:removals`, and every call of `run_due` (each round of `klasbot run` and
`klasbot dispatch --once`) looks there first — and at the removals of erased persons still to be
made (`bot.usecases.erasure.REMOVALS`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.domain import (
    Channel,
    DeliveryStatus,
    GroupState,
    Kind,
    MemberState,
    NewDelivery,
    Person,
    Recipient,
    Route,
    School,
    SchoolClass,
)
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.i18n import Msg
from bot.notices import ExpiredCodesNotice, GroupPostNotice, YearEndNotice
from bot.outbox import DUE_AT_ONCE, STATE_SCOPE, add_notice, notice_key
from bot.policy import SchoolPolicy
from bot.repositories import Repositories
from bot.rules.age import MINIMUM_AGE, date_turning, is_old_enough, local_today
from bot.usecases import erasure, invites, retention
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

LOCK = "sweep"
"""The `PlatformStateRepository` lock every effect of the sweep takes (scope `STATE_SCOPE`)."""
LAST_RUN = "sweep:last"
"""The last school day the sweep was completed (ISO date)."""
REPORTED_WEEK = "sweep:expired-week"
"""The ISO week (`2026-W50`) of the last report of expired codes."""
REPORTED_UNTIL = "sweep:expired-until"
"""The instant up to which expired codes were reported (ISO 8601)."""
REMOVALS = "sweep:removals"
"""Archived groups whose members are still to be removed: `group:post …`, where post is the
closing post's outbox row (0: none)."""

SWEEP_WEEKDAYS = frozenset(range(5))
"""Monday to Friday (`date.weekday`)."""
YEAR_END = "year-end"
"""The reason given to the platform (and the audit) for the removals at the school year's end."""
FIRST_REPORT_SPAN = timedelta(days=7)
"""How far back the first report of expired codes looks."""

M_CLOSING_POST = Msg(
    "The school year is over and this class group closes today. Its members are removed from "
    "it; from now on, messages for the class come by e-mail or letter. Have a good holiday!"
    "\n\n— {school}"
)


@dataclass
class SweepStats:
    ran: bool = False
    """Whether the daily part ran (it was due and no other run had done it)."""
    birthday_invites: int = 0
    birthday_skipped: int = 0
    """Pupils who turned 13 but have nothing to send a code by (audited)."""
    expired_reports: int = 0
    """E-mails to mentors about expired codes."""
    mentors_without_email: int = 0
    archived_groups: int = 0
    ended_schedules: int = 0
    removed_members: int = 0
    purged: int = 0
    """Records the retention period removed (`bot.usecases.retention`)."""


def is_sweep_day(day: date) -> bool:
    return day.weekday() in SWEEP_WEEKDAYS


def previous_sweep_day(day: date) -> date:
    before = day - timedelta(days=1)
    while not is_sweep_day(before):
        before -= timedelta(days=1)
    return before


def sweep_instant(policy: SchoolPolicy, day: date) -> datetime:
    """When the sweep of `day` is due (aware, UTC)."""
    return datetime.combine(day, policy.sweep_at, tzinfo=policy.timezone).astimezone(UTC)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def run_due(ctx: Context, now: datetime | None = None) -> SweepStats:
    """Run the daily sweep when it is due (once per school day, from `policy.sweep_at`), after
    removing the members of archived groups whose closing post went out. Returns what it did;
    `ran` is False when the day's sweep was not due or was done already."""
    now = now or ctx.clock.now()
    stats = SweepStats()
    policy = ctx.policy
    today = local_today(now, policy.timezone)
    async with ctx.db.transaction() as tx:
        last = await tx.state.get(STATE_SCOPE, LAST_RUN)
        removals = await tx.state.get(STATE_SCOPE, REMOVALS)
        erased = await tx.state.get(STATE_SCOPE, erasure.REMOVALS)
    if removals:
        await _remove_members(ctx, stats)
    if erased:
        stats.removed_members += await erasure.remove_from_groups(ctx)
    if not is_sweep_day(today) or now < sweep_instant(policy, today):
        return stats
    since = date.fromisoformat(last) if last else previous_sweep_day(today)
    if since >= today:
        return stats
    stats.ran = True
    await _birthdays(ctx, since, today, now, stats)
    await _expired_codes(ctx, today, stats)
    year_end = policy.school_year_end(since + timedelta(days=1))
    if year_end <= today:
        await _close_year(ctx, year_end, now, stats)
    purged = await retention.purge_daily(ctx, today)
    stats.purged = purged.total if purged is not None else 0
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, LOCK)
        done = await tx.state.get(STATE_SCOPE, LAST_RUN)
        if done is None or date.fromisoformat(done) < today:
            await tx.state.set(STATE_SCOPE, LAST_RUN, today.isoformat())
            await ctx.audit(
                tx,
                "sweep",
                None,
                [],
                day=today.isoformat(),
                since=since.isoformat(),
                birthday_invites=stats.birthday_invites,
                expired_reports=stats.expired_reports,
                archived_groups=stats.archived_groups,
                ended_schedules=stats.ended_schedules,
                purged=stats.purged,
            )
    logger.info(
        "daily sweep %s: %d birthday codes, %d expired-code reports, %d groups archived, "
        "%d schedules ended",
        today.isoformat(),
        stats.birthday_invites,
        stats.expired_reports,
        stats.archived_groups,
        stats.ended_schedules,
    )
    return stats


# --- 13th birthdays (B.1) ---------------------------------------------------------------------


def turned_13(birth: date | None, since: date, today: date) -> bool:
    """Whether a pupil born on `birth` turned 13 after the day `since`, up to `today` (local
    dates): old enough today by the age rule, and not yet on `since`."""
    return is_old_enough(birth, today) and not is_old_enough(birth, since)


async def _birthdays(
    ctx: Context, since: date, today: date, now: datetime, stats: SweepStats
) -> None:
    birthdays: dict[str, date] = {}
    async with ctx.db.transaction() as tx:
        for school_class, _school, _pupils, _staff in await tx.roster.classes():
            roster = await tx.roster.class_roster(school_class.id)
            for pupil in roster.pupils:
                if pupil.birth_date is not None and turned_13(pupil.birth_date, since, today):
                    birthdays[pupil.id] = date_turning(pupil.birth_date, MINIMUM_AGE)
    for pupil_id, birthday in sorted(birthdays.items()):
        async with ctx.db.transaction() as tx:
            await tx.state.lock(STATE_SCOPE, LOCK)
            result = await invites.invite_on_birthday(ctx, tx, pupil_id, birthday, now)
        if isinstance(result, invites.IssuedInvite):
            stats.birthday_invites += 1
        elif isinstance(result, invites.SkippedInvite):
            stats.birthday_skipped += 1


# --- expired codes, weekly ------------------------------------------------------------------------


async def _expired_codes(ctx: Context, today: date, stats: SweepStats) -> None:
    """The first sweep of an ISO week reports the codes that expired unused since the last
    report (the first report: in the week before), up to today's sweep time — the same window
    however often or late the sweep runs that day."""
    week = iso_week(today)
    until = sweep_instant(ctx.policy, today)
    async with ctx.db.transaction() as tx:
        if await tx.state.get(STATE_SCOPE, REPORTED_WEEK) == week:
            return
        stored = await tx.state.get(STATE_SCOPE, REPORTED_UNTIL)
        classes = [(c, s) for c, s, _pupils, _staff in await tx.roster.classes()]
    since = datetime.fromisoformat(stored) if stored else until - FIRST_REPORT_SPAN
    for school_class, school in classes:
        async with ctx.db.transaction() as tx:
            await tx.state.lock(STATE_SCOPE, LOCK)
            await _report_class(ctx, tx, school_class, school, since, until, week, stats)
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, LOCK)
        await tx.state.set(STATE_SCOPE, REPORTED_WEEK, week)
        await tx.state.set(STATE_SCOPE, REPORTED_UNTIL, until.isoformat())


async def _report_class(
    ctx: Context,
    tx: Repositories,
    school_class: SchoolClass,
    school: School,
    since: datetime,
    until: datetime,
    week: str,
    stats: SweepStats,
) -> None:
    tz = ctx.policy.timezone
    roster = await tx.roster.class_roster(school_class.id)
    expired: list[tuple[Person, datetime]] = []
    for pupil in roster.pupils:
        code = await invites.current_code(tx, pupil.id)
        if code is None or code.used_at is not None or not since < code.expires_at <= until:
            continue
        if await tx.accounts.of_person(pupil.id):
            continue  # linked another way since: nothing to follow up
        expired.append((pupil, code.expires_at))
    if not expired:
        return
    mentors = [s for s in roster.staff if s.id in roster.mentor_ids] or list(roster.staff)
    pupils = tuple(
        (pupil.full_name, expires_at.astimezone(tz).date().isoformat())
        for pupil, expires_at in expired
    )
    told: list[str] = []
    for mentor in mentors:
        if not mentor.email:
            stats.mentors_without_email += 1
            continue
        key = notice_key("expired-codes", mentor.id, school_class.id, week)
        if await tx.outbox.existing_keys([key]):
            continue
        notice = ExpiredCodesNotice(
            class_code=school_class.code,
            school_name=ctx.policy.name_of_school([school], school.id),
            recipient_name=mentor.full_name,
            since=since.astimezone(tz).date().isoformat(),
            until=until.astimezone(tz).date().isoformat(),
            pupils=pupils,
        )
        recipient = Recipient(mentor.id, mentor.full_name, email=mentor.email)
        route = Route(mentor.id, Channel.EMAIL, None, (recipient,))
        await add_notice(tx, notice, person_id=mentor.id, route=route, key=key)
        told.append(mentor.id)
        stats.expired_reports += 1
    if told or not any(m.email for m in mentors):
        if not told:
            logger.warning(
                "class %s: %d expired codes and no mentor with an e-mail address to tell",
                school_class.id,
                len(expired),
            )
        await ctx.audit(
            tx,
            "expired-codes-reported",
            None,
            [*(p.id for p, _ in expired), *told],
            class_id=school_class.id,
            week=week,
            told=told,
        )


# --- the school year's last day -------------------------------------------------------------------


async def _close_year(ctx: Context, year_end: date, now: datetime, stats: SweepStats) -> None:
    """Archive every class group and end every class's schedules. When the sweep catches up
    after the year ended, groups bound and schedules made since belong to the next school year
    and are left alone."""
    tz = ctx.policy.timezone
    year_over = datetime.combine(year_end + timedelta(days=1), time(0), tzinfo=tz)
    async with ctx.db.transaction() as tx:
        classes = [c for c, _school, _pupils, _staff in await tx.roster.classes()]
        newer = await _bound_since(tx, year_over) if now >= year_over else set()
    for school_class in classes:
        async with ctx.db.transaction() as tx:
            await tx.state.lock(STATE_SCOPE, LOCK)
            await _close_class(ctx, tx, school_class, year_end, year_over, newer, now, stats)


async def _bound_since(tx: Repositories, instant: datetime) -> set[tuple[str, str]]:
    """(platform, chat) of the groups created or bound at or after `instant` (the audit says)."""
    found: set[tuple[str, str]] = set()
    for kind in ("group-created", "group-bound"):
        for event in await tx.audit.events(kind=kind):
            if event.at >= instant:
                found.add((str(event.details.get("platform")), str(event.details.get("chat"))))
    return found


async def _close_class(
    ctx: Context,
    tx: Repositories,
    school_class: SchoolClass,
    year_end: date,
    year_over: datetime,
    newer: set[tuple[str, str]],
    now: datetime,
    stats: SweepStats,
) -> None:
    policy = ctx.policy
    groups = [
        g
        for g in await tx.groups.list(school_class.id)
        if g.state != GroupState.ARCHIVED and (g.platform, g.chat_id) not in newer
    ]
    schedules = [
        s
        for s in await tx.schedules.list(school_class.id, active_only=True)
        if s.created_at < year_over
    ]
    if not groups and not schedules:
        return
    roster = await tx.roster.class_roster(school_class.id)
    school_name = policy.name_of_school([roster.school], roster.school.id)
    mentor = next((s.id for s in roster.staff if s.id in roster.mentor_ids), "")
    # Rule 8: a group post waits for the end of the quiet hours, like a reminder.
    post_due = policy.release_at(now, Kind.REMINDER) or DUE_AT_ONCE
    waiting: list[str] = []
    for group in groups:
        post_id = 0
        if group.state == GroupState.ACTIVE:
            key = notice_key("year-end-post", group.id, year_end.isoformat())
            if not await tx.outbox.existing_keys([key]):
                post = GroupPostNotice(
                    M_CLOSING_POST(policy.language, school=school_name), YEAR_END
                )
                [post_id] = await tx.outbox.add(
                    [
                        NewDelivery(
                            person_id=mentor,
                            channel=Channel.GROUP,
                            reason=None,
                            status=DeliveryStatus.PENDING,
                            due_at=post_due,
                            idempotency_key=key,
                            group_id=group.id,
                            notice=post,
                        )
                    ]
                )
        await tx.groups.update(group.id, state=GroupState.ARCHIVED)
        if group.state != GroupState.LOST:  # the bot is no longer in a lost group
            waiting.append(f"{group.id}:{post_id}")
        await ctx.audit(
            tx,
            "group-archived",
            None,
            [s.id for s in roster.staff],
            group=group.id,
            class_id=school_class.id,
            platform=group.platform,
            year_end=year_end.isoformat(),
        )
        stats.archived_groups += 1
    cancelled = 0
    for schedule in schedules:
        if await tx.schedules.cancel(schedule.id, None, now):
            cancelled += 1
            await ctx.audit(
                tx,
                "schedule-cancelled",
                None,
                [schedule.author_id],
                schedule=schedule.id,
                class_id=school_class.id,
                source=YEAR_END,
            )
    stats.ended_schedules += cancelled
    if waiting:
        pending = (await tx.state.get(STATE_SCOPE, REMOVALS) or "").split()
        await tx.state.set(STATE_SCOPE, REMOVALS, " ".join([*pending, *waiting]))
    staff = [s for s in roster.staff if s.email]
    key = notice_key("year-end", school_class.id, year_end.isoformat())
    if not staff:
        logger.warning(
            "class %s: no staff e-mail address to tell of the year's end", school_class.id
        )
    elif not await tx.outbox.existing_keys([key]):
        notice = YearEndNotice(
            class_code=school_class.code,
            school_name=school_name,
            year_end=year_end.isoformat(),
            platforms=tuple(sorted({g.platform for g in groups})),
            schedules=cancelled,
        )
        recipients = tuple(Recipient(s.id, s.full_name, email=s.email) for s in staff)
        route = Route(staff[0].id, Channel.EMAIL, None, recipients)
        await add_notice(tx, notice, person_id=staff[0].id, route=route, key=key)


async def _remove_members(ctx: Context, stats: SweepStats) -> None:
    """Remove the members of archived groups whose closing post went out (or could not), on the
    platforms connected in this process; the others wait for the process that runs theirs."""
    async with ctx.db.transaction() as tx:
        entries = (await tx.state.get(STATE_SCOPE, REMOVALS) or "").split()
    finished: set[str] = set()
    for entry in entries:
        group_id, post_id = (int(part) for part in entry.split(":"))
        async with ctx.db.transaction() as tx:
            group = await tx.groups.get(group_id)
            post = await tx.outbox.get([post_id]) if post_id else []
            members = await tx.groups.members(group_id)
        if group is None or group.state != GroupState.ARCHIVED:
            finished.add(entry)  # gone, or bound again since: nothing to end
            continue
        if post and post[0].status in (DeliveryStatus.PENDING, DeliveryStatus.HELD):
            continue  # the members read the closing post first
        capabilities = ctx.policy.capabilities(group.platform)
        if capabilities is not None and not capabilities.can_remove_members:
            logger.info("group %s: the platform cannot remove members; left as they are", group_id)
            finished.add(entry)
            continue
        platform = ctx.platforms.get(group.platform)
        if platform is None:
            continue
        present = {
            person_id: membership
            for person_id, membership in members.items()
            if membership.state in (MemberState.MEMBER, MemberState.INVITED)
        }
        complete = True
        for person_id, membership in sorted(present.items()):
            try:
                await platform.remove(group.chat_id, membership.account_id, YEAR_END)
            except TransientDeliveryError as error:
                logger.warning("group %s: removals wait for the next round: %s", group_id, error)
                complete = False
                break
            except PermanentDeliveryError as error:
                # The group is closed all the same; the member counts as gone (rule 6).
                logger.warning("group %s: could not remove a member: %s", group_id, error)
            async with ctx.db.transaction() as tx:
                now_member = (await tx.groups.members(group_id)).get(person_id)
                if now_member != membership:
                    continue  # recorded by another process meanwhile
                await tx.groups.set_member(
                    group_id,
                    person_id,
                    membership.account_id,
                    MemberState.REMOVED,
                    ctx.clock.now(),
                )
                await ctx.audit(
                    tx,
                    "member-removed",
                    None,
                    [person_id],
                    group=group_id,
                    class_id=group.class_id,
                    reason=YEAR_END,
                )
            stats.removed_members += 1
        if complete:
            finished.add(entry)
    if finished:
        async with ctx.db.transaction() as tx:
            await tx.state.lock(STATE_SCOPE, LOCK)
            left = [
                e
                for e in (await tx.state.get(STATE_SCOPE, REMOVALS) or "").split()
                if e not in finished
            ]
            await tx.state.set(STATE_SCOPE, REMOVALS, " ".join(left))

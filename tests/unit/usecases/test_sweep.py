"""The daily sweep (`bot.usecases.sweep`): 13th-birthday codes, the weekly report of codes that
expired unused, and the end of the school year — each once, however often it runs.

The demo school's birthdays used here: Milan (p-2b-05) turns 13 on Friday 15 January 2027 (his
mother has e-mail); Sem (p-2b-04) on Saturday 5 September 2026 (his mother wants letters); Lotte
(p-2b-07), born 29 February 2012, on 1 March 2025 (a Saturday); Sophie (p-2b-06), whom nothing
reaches, on Tuesday 19 August 2025.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from adapters.email.render import MailRenderer
from bot.clock import FrozenClock
from bot.dispatch import Dispatcher
from bot.domain import (
    AnnouncementDraft,
    Channel,
    GroupState,
    Kind,
    RosterSnapshot,
    Schedule,
)
from bot.notices import ExpiredCodesNotice, GroupPostNotice, InviteNotice, YearEndNotice
from bot.outbox import STATE_SCOPE
from bot.ports import MailMessage
from bot.usecases import announcing, linking, sweep
from bot.usecases import groups as groups_uc
from bot.usecases import invites as invites_uc
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    FakeMailer,
    FakePlatform,
    FakePrinter,
    by_pupil,
    class_2b_with_group,
    events,
    link,
    local,
    member_states,
    notice_of,
    notice_rows,
)

MILAN_MOTHER = "ayse.celik@mail.example"


def at(clock: FrozenClock, day: date, hour: int = 7, minute: int = 30) -> None:
    clock.at = local(day, hour, minute).astimezone(UTC)


async def codes_for(ctx: Context, pupil_id: str) -> list[InviteNotice]:
    found = []
    for row in await notice_rows(ctx, "invite"):
        notice = notice_of(row)
        if row.pupil_id == pupil_id and isinstance(notice, InviteNotice):
            found.append(notice)
    return found


def homework_for(day: date) -> AnnouncementDraft:
    return AnnouncementDraft(
        class_id="2B",
        author_id="t-devries",
        kind=Kind.HOMEWORK,
        date=day,
        subject="wiskunde",
        text="Maak opgave 1 t/m 5.",
    )


# --- 13th birthdays -------------------------------------------------------------------------------


async def test_a_pupil_turning_13_today_gets_a_code_by_email_and_then_joins_the_group(
    ctx: Context, clock: FrozenClock, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    at(clock, date(2027, 1, 14), 10)
    group = await groups_uc.create_group(ctx, "2B", "console")
    at(clock, date(2027, 1, 14))  # Thursday: Milan is 12

    before = await sweep.run_due(ctx)

    assert before.ran
    assert before.birthday_invites == 0
    assert await codes_for(ctx, "p-2b-05") == []

    at(clock, date(2027, 1, 15))  # Friday: his 13th birthday
    stats = await sweep.run_due(ctx)

    assert stats.birthday_invites == 1
    [notice] = await codes_for(ctx, "p-2b-05")
    # As `invites create --class 2B` would send it: to his mother, about him.
    assert (notice.audience, notice.pupil_name, notice.class_code) == ("guardian", "Milan", "2B")
    [event] = await events(ctx, "birthday-invite", "p-2b-05")
    assert event.details["birthday"] == "2027-01-15"
    assert event.details["channel"] == "email"

    await dispatcher.run_once()

    [mail] = mailer.of("invite")
    assert mail.to == (MILAN_MOTHER,)
    assert isinstance(mail.notice, InviteNotice)
    code = mail.notice.code
    assert len(code) == 10

    # He links with it; from then on routing reaches him in the group.
    await linking.link_account(ctx, "console", "milan", code)
    result = await announcing.announce(ctx, homework_for(date(2027, 1, 18)))
    milan = (await by_pupil(ctx, result.announcement.id))["p-2b-05"]
    assert (milan.channel, milan.group_id) == (Channel.GROUP, group.id)


async def test_the_sweep_waits_for_its_hour_and_for_a_school_day(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2027, 1, 15), 6, 59)  # Friday, before 07:00
    assert not (await sweep.run_due(ctx)).ran
    at(clock, date(2027, 1, 16), 12)  # Saturday
    assert not (await sweep.run_due(ctx)).ran
    assert await codes_for(ctx, "p-2b-05") == []


async def test_a_birthday_on_saturday_gets_its_letter_on_monday(
    ctx: Context, clock: FrozenClock, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    at(clock, date(2026, 9, 4))  # Friday: Sem is 12
    assert (await sweep.run_due(ctx)).birthday_invites == 0
    at(clock, date(2026, 9, 5))  # Saturday: his birthday, no sweep
    assert not (await sweep.run_due(ctx)).ran

    at(clock, date(2026, 9, 7))  # Monday
    stats = await sweep.run_due(ctx)

    assert stats.birthday_invites == 1
    [row] = [r for r in await notice_rows(ctx, "invite") if r.pupil_id == "p-2b-04"]
    assert row.channel == Channel.POST  # his mother chose letters
    notice = notice_of(row)
    assert isinstance(notice, InviteNotice)
    code = notice.code
    [event] = await events(ctx, "birthday-invite", "p-2b-04")
    assert event.details["birthday"] == "2026-09-05"

    await dispatcher.run_once()

    [letter] = printer.to("Kanaalstraat 41")
    assert any(code in item.body for item in letter.items)


async def test_born_on_29_february_the_code_comes_on_1_march_in_a_year_without_it(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2025, 2, 28))  # Friday: not 13 yet by the age rule (never a day early)
    assert (await sweep.run_due(ctx)).birthday_invites == 0
    assert await codes_for(ctx, "p-2b-07") == []

    at(clock, date(2025, 3, 3))  # Monday, after Saturday 1 March
    assert (await sweep.run_due(ctx)).birthday_invites == 1

    [notice] = await codes_for(ctx, "p-2b-07")
    assert notice.recipient_name == "Sanne 't Hart"
    [event] = await events(ctx, "birthday-invite", "p-2b-07")
    assert event.details["birthday"] == "2025-03-01"


async def test_twice_the_same_day_or_after_a_crash_sends_nothing_new(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2027, 1, 15))
    assert (await sweep.run_due(ctx)).birthday_invites == 1
    rows = await notice_rows(ctx)

    at(clock, date(2027, 1, 15), 14)
    again = await sweep.run_due(ctx)

    assert not again.ran
    # A sweep that crashed before it recorded the day runs again: each effect checks itself.
    async with ctx.db.transaction() as tx:
        await tx.state.set(STATE_SCOPE, sweep.LAST_RUN, "2027-01-14")
    rerun = await sweep.run_due(ctx)

    assert rerun.ran
    assert rerun.birthday_invites == 0
    assert await notice_rows(ctx) == rows
    assert len(await events(ctx, "birthday-invite")) == 1


async def test_days_klasbot_was_down_are_caught_up(ctx: Context, clock: FrozenClock) -> None:
    at(clock, date(2027, 1, 13))  # Wednesday
    assert (await sweep.run_due(ctx)).ran
    # Down on Thursday and Friday (Milan's birthday) ...
    at(clock, date(2027, 1, 18), 9)  # ... back on Monday
    stats = await sweep.run_due(ctx)

    assert stats.birthday_invites == 1
    [event] = await events(ctx, "birthday-invite", "p-2b-05")
    assert event.details["birthday"] == "2027-01-15"
    [run] = [e for e in await events(ctx, "sweep") if e.details["day"] == "2027-01-18"]
    assert run.details["since"] == "2027-01-13"


async def test_no_birthday_code_for_a_pupil_who_linked_already(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2027, 1, 15), 6, 30)
    await link(ctx, "p-2b-05")  # with a code the office gave him this morning
    at(clock, date(2027, 1, 15))

    stats = await sweep.run_due(ctx)

    assert stats.ran
    assert stats.birthday_invites == 0
    assert await codes_for(ctx, "p-2b-05") == []


async def test_no_birthday_code_for_a_pupil_holding_an_unused_one(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2027, 1, 15), 6, 30)
    [made] = await invites_uc.create_invites(ctx, person_ref="p-2b-05")
    at(clock, date(2027, 1, 15))

    stats = await sweep.run_due(ctx)

    assert stats.birthday_invites == 0
    assert [n.code for n in await codes_for(ctx, "p-2b-05")] == [made.code]
    assert await events(ctx, "birthday-invite") == []


async def test_a_pupil_nothing_reaches_is_counted_and_audited(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2025, 8, 19))  # Sophie turns 13; nobody has an address

    stats = await sweep.run_due(ctx)

    assert (stats.birthday_invites, stats.birthday_skipped) == (0, 1)
    [event] = await events(ctx, "birthday-invite", "p-2b-06")
    assert event.details["skipped"] == invites_uc.UNREACHABLE
    assert await codes_for(ctx, "p-2b-06") == []


# --- expired codes, weekly ------------------------------------------------------------------------


async def expired_mails(ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer) -> list[str]:
    await dispatcher.run_once()
    found = []
    for mail in mailer.of("expired-codes"):
        assert isinstance(mail.notice, ExpiredCodesNotice)
        found.append(f"{','.join(mail.to)}: {[name for name, _ in mail.notice.pupils]}")
    mailer.accepted.clear()
    return found


async def test_codes_that_expired_unused_are_reported_to_the_mentor_once_a_week(
    ctx: Context, clock: FrozenClock, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    # Monday 23 November 2026, 10:00: codes for 2B, valid until Monday 7 December 10:00.
    made = {i.person_id: i.code for i in await invites_uc.create_invites(ctx, class_ref="2B")}
    await linking.link_account(ctx, "console", "zoe", made["p-2b-01"])  # Zoë used hers

    at(clock, date(2026, 11, 30))
    assert await expired_mails(ctx, dispatcher, mailer) == []
    await sweep.run_due(ctx)
    assert await expired_mails(ctx, dispatcher, mailer) == []
    at(clock, date(2026, 12, 7))  # the codes expire at 10:00, after this week's report
    await sweep.run_due(ctx)
    assert await expired_mails(ctx, dispatcher, mailer) == []
    at(clock, date(2026, 12, 8))
    await sweep.run_due(ctx)
    assert await expired_mails(ctx, dispatcher, mailer) == []

    at(clock, date(2026, 12, 14))
    stats = await sweep.run_due(ctx)

    assert stats.expired_reports == 1
    [row] = await notice_rows(ctx, "expired-codes")
    notice = notice_of(row)
    assert isinstance(notice, ExpiredCodesNotice)
    assert notice.class_code == "2B"
    assert (notice.since, notice.until) == ("2026-12-07", "2026-12-14")
    assert notice.pupils == (
        ("Daan de Jong", "2026-12-07"),
        ("Noor El Amrani", "2026-12-07"),
        ("Sem Bakker", "2026-12-07"),
        ("Lotte 't Hart", "2026-12-07"),
    )
    # To the class's mentor (primary), not to the other teacher of 2B.
    assert await expired_mails(ctx, dispatcher, mailer) == [
        f"{DEVRIES_MAIL}: ['Daan de Jong', 'Noor El Amrani', 'Sem Bakker', \"Lotte 't Hart\"]"
    ]

    # A sweep that crashed before it recorded the report runs it again: nothing is sent twice.
    last_week = sweep.sweep_instant(ctx.policy, date(2026, 12, 7))
    async with ctx.db.transaction() as tx:
        await tx.state.set(STATE_SCOPE, sweep.REPORTED_WEEK, "2026-W50")
        await tx.state.set(STATE_SCOPE, sweep.REPORTED_UNTIL, last_week.isoformat())
        await tx.state.set(STATE_SCOPE, sweep.LAST_RUN, "2026-12-08")
    assert (await sweep.run_due(ctx)).expired_reports == 0
    assert await expired_mails(ctx, dispatcher, mailer) == []

    for day in (date(2026, 12, 15), date(2026, 12, 21)):  # the same week; the next one
        at(clock, day)
        assert (await sweep.run_due(ctx)).ran
        assert await expired_mails(ctx, dispatcher, mailer) == []


async def test_a_mentor_without_email_is_skipped_and_counted(
    ctx: Context, clock: FrozenClock, snapshot: RosterSnapshot
) -> None:
    persons = tuple(
        dataclasses.replace(p, email=None) if p.id == "t-devries" else p for p in snapshot.persons
    )
    await roster_uc.import_roster(ctx, dataclasses.replace(snapshot, persons=persons))
    await invites_uc.create_invites(ctx, class_ref="2B")
    at(clock, date(2026, 12, 14))

    stats = await sweep.run_due(ctx)

    assert (stats.expired_reports, stats.mentors_without_email) == (0, 1)
    assert await notice_rows(ctx, "expired-codes") == []
    [event] = await events(ctx, "expired-codes-reported")
    assert event.details["told"] == []


# --- the school year's last day -------------------------------------------------------------------


async def add_schedule(ctx: Context, class_id: str = "cls-2b") -> int:
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        return await tx.schedules.add(
            Schedule(
                id=0,
                class_id=class_id,
                author_id="t-devries",
                kind=Kind.REMINDER,
                text="Neem je gymkleren mee.",
                when="elke maandag 08:00",
                rule="FREQ=WEEKLY;BYDAY=MO",
                start=datetime(2026, 6, 1, 8, 0),
                timezone="Europe/Amsterdam",
                created_at=now,
                next_run=now + timedelta(days=3),
            )
        )


async def test_on_the_years_last_day_the_class_group_is_archived(
    ctx: Context,
    clock: FrozenClock,
    console: FakePlatform,
    dispatcher: Dispatcher,
    mailer: FakeMailer,
) -> None:
    at(clock, date(2026, 7, 30), 10)
    group = await class_2b_with_group(ctx)  # Zoë, Noor and their mentor are in it
    schedule_id = await add_schedule(ctx)
    at(clock, date(2026, 7, 31))  # Friday 31 July: the school year's last day

    stats = await sweep.run_due(ctx)

    assert (stats.archived_groups, stats.ended_schedules) == (1, 1)
    async with ctx.db.transaction() as tx:
        archived = await tx.groups.get(group.id)
        schedule = await tx.schedules.get(schedule_id)
        assert await tx.schedules.list("cls-2b", active_only=True) == []
    assert archived is not None
    assert archived.state == GroupState.ARCHIVED
    assert schedule is not None
    assert schedule.cancelled_at == clock.now()
    [post] = await notice_rows(ctx, "group-post")
    assert (post.channel, post.group_id) == (Channel.GROUP, group.id)
    [staff_mail] = await notice_rows(ctx, "year-end")
    assert sorted(r.email or "" for r in staff_mail.recipients) == [
        "f.bakker@passie-utrecht.example",
        DEVRIES_MAIL,
    ]
    notice = notice_of(staff_mail)
    assert isinstance(notice, YearEndNotice)
    assert (notice.platforms, notice.schedules) == (("console",), 1)

    # The members are not removed before the closing post has gone out.
    await sweep.run_due(ctx)
    assert console.removed == []

    await dispatcher.run_once()

    [closing] = console.posted
    closing_notice = notice_of(post)
    assert isinstance(closing_notice, GroupPostNotice)
    assert closing.text == closing_notice.text
    assert "De Passie Utrecht" in closing.text
    assert len(mailer.of("year-end")) == 1

    removed = await sweep.run_due(ctx)

    assert removed.removed_members == 3
    assert sorted(console.accounts_removed()) == ["p-2b-01", "p-2b-03", "t-devries"]
    assert set((await member_states(ctx, group.id)).values()) == {"removed"}
    assert (await sweep.run_due(ctx)).removed_members == 0
    assert len(console.removed) == 3

    # The archived group is no group: the next announcement reaches Zoë by e-mail.
    result = await announcing.announce(ctx, homework_for(date(2026, 8, 3)))
    rows = await by_pupil(ctx, result.announcement.id)
    assert all(r.channel != Channel.GROUP for r in rows.values())
    zoe = rows["p-2b-01"]
    assert (zoe.channel, zoe.reason and zoe.reason.value) == (Channel.EMAIL, "no-group")
    await dispatcher.run_once()
    assert len(console.posted) == 1

    # Running it again the same day, or after a crash, archives and sends nothing more.
    async with ctx.db.transaction() as tx:
        await tx.state.set(STATE_SCOPE, sweep.LAST_RUN, "2026-07-30")
    again = await sweep.run_due(ctx)
    assert (again.archived_groups, again.ended_schedules) == (0, 0)
    assert len(await notice_rows(ctx, "group-post")) == 1
    assert len(await notice_rows(ctx, "year-end")) == 1


async def test_a_year_end_missed_while_down_leaves_the_next_years_groups_alone(
    ctx: Context, clock: FrozenClock
) -> None:
    at(clock, date(2027, 7, 29), 10)
    old = await groups_uc.create_group(ctx, "2B", "console")
    at(clock, date(2027, 7, 30))  # Friday; Saturday 31 July ends the year
    assert (await sweep.run_due(ctx)).archived_groups == 0
    at(clock, date(2027, 8, 20), 10)  # klasbot is down; the new year's 4C group is made
    new = await groups_uc.create_group(ctx, "4C", "console")
    new_schedule = await add_schedule(ctx, "cls-4c")

    at(clock, date(2027, 8, 23))  # back
    stats = await sweep.run_due(ctx)

    assert (stats.archived_groups, stats.ended_schedules) == (1, 0)
    async with ctx.db.transaction() as tx:
        states = {g.id: g.state for g in await tx.groups.list()}
        schedule = await tx.schedules.get(new_schedule)
    assert states == {old.id: GroupState.ARCHIVED, new.id: GroupState.ACTIVE}
    assert schedule is not None
    assert schedule.active


# --- the e-mails ----------------------------------------------------------------------------------


def render(notice: ExpiredCodesNotice | YearEndNotice, lang: str = "nl") -> tuple[str, str]:
    renderer = MailRenderer(
        school_name="De Passie Utrecht", from_address="klasbot@school.example", reply_to=None
    )
    subject, text, _html = renderer.render_parts(
        MailMessage(to=("x@example.org",), notice=notice, message_id="<1@klasbot>", lang=lang)
    )
    return subject, text


def test_the_expired_codes_mail_names_the_pupils_and_the_class() -> None:
    notice = ExpiredCodesNotice(
        class_code="2B",
        school_name="De Passie Utrecht",
        recipient_name="Jan de Vries",
        since="2026-12-07",
        until="2026-12-14",
        pupils=(("Daan de Jong", "2026-12-07"), ("Sem Bakker", "2026-12-08")),
    )

    subject, text = render(notice)

    assert subject == "Koppelcodes ongebruikt verlopen – klas 2B – De Passie Utrecht"
    assert "Beste Jan de Vries," in text
    assert "tussen maandag 7 december 2026 en maandag 14 december 2026 verlopen" in text
    assert "- Sem Bakker (verlopen op dinsdag 8 december 2026)" in text


def test_the_year_end_mail_says_what_was_archived_and_cancelled() -> None:
    notice = YearEndNotice(
        class_code="2B",
        school_name="De Passie Utrecht",
        year_end="2026-07-31",
        platforms=("matrix", "telegram"),
        schedules=2,
    )

    subject, text = render(notice, "en")

    assert subject == "End of the school year – class 2B – De Passie Utrecht"
    assert "The class groups of class 2B (Matrix, Telegram) have been archived" in text
    assert "2 scheduled messages of the class have been cancelled." in text

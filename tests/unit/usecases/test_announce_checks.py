"""What is decided before an announcement goes out, for the chat and the command line alike:
letters that cannot arrive before the date it is about (a call list for the author), dates in the
past (refused), and the same announcement again within a day (asked about first)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta

import pytest

from bot.chat.front import ChatFrontEnd
from bot.clock import FrozenClock
from bot.domain import Address, AnnouncementDraft, Channel, Kind, RosterSnapshot
from bot.errors import RuleViolation
from bot.notices import CallListEntry, LateLettersNotice
from bot.usecases import announcing, undo
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    DEVRIES_MAIL,
    TODAY,
    TOMORROW,
    by_pupil,
    events,
    homework,
    link,
    local,
    notice_of,
    notice_rows,
)

WEDNESDAY = TODAY + timedelta(days=2)  # TODAY is Monday 23 November 2026
THURSDAY = TODAY + timedelta(days=3)
DAAN = CallListEntry("Daan de Jong", ("Peter de Jong",), "Oudegracht 112, 3511 AX Utrecht")
SEM = CallListEntry("Sem Bakker", ("Ingrid Bakker",), "Kanaalstraat 41, 3531 CE Utrecht")


def cancelled(day: date = TOMORROW, period: str = "3", **changes: object) -> AnnouncementDraft:
    draft = AnnouncementDraft(
        "2B", "t-devries", Kind.LESSON_CANCELLED, date=day, period=period, subject="wiskunde"
    )
    return replace(draft, **changes)  # type: ignore[arg-type]


async def stored(ctx: Context) -> list[int]:
    async with ctx.db.transaction() as tx:
        return [a.id for a in await tx.announcements.list()]


# --- letters that cannot arrive in time ---------------------------------------------------------


async def test_letters_for_tomorrow_come_too_late_and_the_author_gets_a_call_list(
    ctx: Context,
) -> None:
    result = await announcing.announce(ctx, homework(date=TOMORROW))
    late = result.late
    assert late is not None
    assert (late.about, late.arrives_on) == (TOMORROW, WEDNESDAY)  # made Monday, two days
    assert [(x.pupil_id, x.call) for x in late.letters] == [("p-2b-02", DAAN), ("p-2b-04", SEM)]
    assert late.mailed
    [row] = await notice_rows(ctx, "late-letters")
    notice = notice_of(row)
    assert isinstance(notice, LateLettersNotice)
    assert notice.entries == (DAAN, SEM)
    assert (notice.date, notice.arrives_on) == (TOMORROW.isoformat(), WEDNESDAY.isoformat())
    assert [r.email for r in row.recipients] == [DEVRIES_MAIL]  # the author only
    # The letters are made all the same: they are the school's record.
    rows = await by_pupil(ctx, result.announcement.id)
    assert rows["p-2b-02"].channel == rows["p-2b-04"].channel == Channel.POST
    [event] = await events(ctx, "announcement")
    assert event.details["late_letters"] == ["p-2b-02", "p-2b-04"]


async def test_a_letter_that_arrives_the_day_before_is_in_time(ctx: Context) -> None:
    result = await announcing.announce(ctx, homework(date=THURSDAY))
    assert result.late is None
    assert await notice_rows(ctx, "late-letters") == []


async def test_a_letter_that_arrives_on_the_day_itself_is_too_late(ctx: Context) -> None:
    result = await announcing.announce(ctx, homework(date=WEDNESDAY))
    assert result.late is not None
    assert result.late.arrives_on == WEDNESDAY


async def test_the_schools_delivery_days_count(ctx: Context) -> None:
    ctx.policy = replace(ctx.policy, post_delivery_days=1)
    assert (await announcing.announce(ctx, homework(date=WEDNESDAY))).late is None
    ctx.policy = replace(ctx.policy, post_delivery_days=4)
    late = (await announcing.announce(ctx, cancelled(TODAY + timedelta(days=4)))).late
    assert late is not None
    assert late.arrives_on == TODAY + timedelta(days=4)  # Friday


async def test_a_letter_made_on_friday_is_posted_then_and_delivered_after_the_weekend(
    ctx: Context, clock: FrozenClock
) -> None:
    friday = TODAY + timedelta(days=4)
    clock.at = local(friday, 10).astimezone(UTC)
    monday, tuesday, wednesday = (friday + timedelta(days=n) for n in (3, 4, 5))
    late = (await announcing.announce(ctx, homework(date=monday))).late
    assert late is not None
    assert late.arrives_on == tuesday
    assert (await announcing.announce(ctx, cancelled(wednesday))).late is None


async def test_quiet_hours_make_the_letter_a_day_later(ctx: Context, clock: FrozenClock) -> None:
    """At 22:00 nothing goes out until 07:00: the letter is made tomorrow."""
    clock.at = local(TODAY, 22).astimezone(UTC)
    late = (await announcing.announce(ctx, homework(date=THURSDAY))).late
    assert late is not None
    assert late.arrives_on == THURSDAY


async def test_without_an_address_for_the_author_the_call_list_is_not_mailed(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    persons = tuple(replace(p, email=None) if p.id == "t-devries" else p for p in snapshot.persons)
    await roster_uc.import_roster(ctx, replace(snapshot, persons=persons))
    late = (await announcing.announce(ctx, homework(date=TOMORROW))).late
    assert late is not None
    assert not late.mailed
    assert await notice_rows(ctx, "late-letters") == []


async def test_the_preview_says_which_letters_come_too_late_and_stores_nothing(
    ctx: Context,
) -> None:
    shown = await announcing.preview(ctx, homework(date=TOMORROW))
    assert shown.late is not None
    assert shown.late.pupils == ("Daan de Jong", "Sem Bakker")
    assert await stored(ctx) == []
    assert await notice_rows(ctx) == []


def test_a_call_list_survives_storage() -> None:
    notice = LateLettersNotice(1, "2B", "Huiswerk", "2026-11-24", "2026-11-25", (DAAN, SEM), "X")
    from bot.notices import notice_from_json

    assert notice_from_json(notice.to_json()) == notice


# --- dates in the past ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draft",
    [
        cancelled(TODAY - timedelta(days=1)),
        homework(date=TODAY - timedelta(days=7)),
        AnnouncementDraft("2B", "t-devries", Kind.TRIP, date=date(2025, 11, 23), text="Uitje."),
    ],
    ids=["lesson-cancelled", "homework", "trip"],
)
async def test_a_date_in_the_past_is_refused_with_the_reason(
    ctx: Context, draft: AnnouncementDraft
) -> None:
    with pytest.raises(RuleViolation) as caught:
        await announcing.announce(ctx, draft)
    assert caught.value.code == "date-in-past"
    assert "is al voorbij" in caught.value.render("nl")
    assert caught.value.render("en").endswith(
        "has already passed; give today or a later date (option --date)."
    )
    assert await stored(ctx) == []
    [event] = await events(ctx, "refusal")
    assert event.details["code"] == "date-in-past"
    with pytest.raises(RuleViolation):
        await announcing.preview(ctx, draft)


async def test_the_chat_refuses_a_date_in_the_past_too(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", "/lesuitval 2B 2026-11-20 3", preview=True)
    assert reply.confirmation is None
    [text] = reply.texts
    assert text.startswith("Lesuitval: vrijdag 20 november 2026 is al voorbij; geef vandaag")
    assert await stored(ctx) == []


async def test_today_is_not_in_the_past(ctx: Context) -> None:
    result = await announcing.announce(ctx, cancelled(TODAY))
    assert result.announcement.date == TODAY


async def test_the_past_is_the_schools_past(ctx: Context, clock: FrozenClock) -> None:
    """00:30 on Tuesday in Amsterdam is still Monday in UTC: Monday has passed."""
    clock.at = local(TOMORROW, 0, 30).astimezone(UTC)
    with pytest.raises(RuleViolation):
        await announcing.announce(ctx, cancelled(TODAY))


# --- the same announcement again ----------------------------------------------------------------


async def test_the_same_cancellation_again_is_refused_until_asked_for(ctx: Context) -> None:
    first = (await announcing.announce(ctx, cancelled())).announcement
    with pytest.raises(announcing.AlreadySent) as caught:
        await announcing.announce(ctx, cancelled(text="Neem je leesboek mee."))
    assert caught.value.earlier.id == first.id
    assert caught.value.render("nl") == f"Let op: dit is al verstuurd als #{first.id} om 10:00."
    assert await stored(ctx) == [first.id]
    [event] = await events(ctx, "refusal")
    assert event.details["code"] == "already-sent"

    again = await announcing.announce(ctx, cancelled(), again=True)
    assert again.repeat_of == first.id
    assert await stored(ctx) == [first.id, again.announcement.id]


async def test_an_id_allows_exactly_the_repeat_that_was_shown(ctx: Context) -> None:
    first = (await announcing.announce(ctx, cancelled())).announcement
    with pytest.raises(announcing.AlreadySent):
        await announcing.announce(ctx, cancelled(), again=first.id + 100)
    second = await announcing.announce(ctx, cancelled(), again=first.id)
    # A third is a repeat of the second now: the first's id no longer allows it.
    with pytest.raises(announcing.AlreadySent) as caught:
        await announcing.announce(ctx, cancelled(), again=first.id)
    assert caught.value.earlier.id == second.announcement.id


@pytest.mark.parametrize(
    "other",
    [
        cancelled(period="4"),
        cancelled(TOMORROW + timedelta(days=1)),
        homework(date=TOMORROW),
    ],
    ids=["another-period", "another-date", "another-kind"],
)
async def test_another_period_date_or_kind_is_no_repeat(
    ctx: Context, other: AnnouncementDraft
) -> None:
    await announcing.announce(ctx, cancelled())
    assert (await announcing.announce(ctx, other)).repeat_of is None


async def test_the_same_period_written_otherwise_is_a_repeat(ctx: Context) -> None:
    await announcing.announce(ctx, cancelled(period="3-4"))
    with pytest.raises(announcing.AlreadySent):
        await announcing.announce(ctx, cancelled(period="3 \u2013 4"))


async def test_homework_for_another_subject_on_the_same_day_is_no_repeat(ctx: Context) -> None:
    await announcing.announce(ctx, homework())
    assert (await announcing.announce(ctx, homework(subject="biologie"))).repeat_of is None
    with pytest.raises(announcing.AlreadySent):
        await announcing.announce(ctx, homework(subject="Wiskunde", text="Opgave 6 ook."))


async def test_a_withdrawn_or_day_old_announcement_is_no_repeat(
    ctx: Context, clock: FrozenClock
) -> None:
    first = (await announcing.announce(ctx, cancelled(THURSDAY))).announcement
    await undo.withdraw(ctx, first.id, "t-devries")
    second = await announcing.announce(ctx, cancelled(THURSDAY))
    assert second.repeat_of is None
    clock.advance(hours=24, seconds=1)
    assert (await announcing.announce(ctx, cancelled(THURSDAY))).repeat_of is None


async def test_the_preview_names_the_earlier_announcement(ctx: Context) -> None:
    first = (await announcing.announce(ctx, cancelled())).announcement
    shown = await announcing.preview(ctx, cancelled())
    assert shown.repeat_of is not None
    assert shown.repeat_of.id == first.id


# --- the chat says so -------------------------------------------------------------------------

CANCEL_3 = "/lesuitval 2B morgen 3 wiskunde"


async def test_the_chat_preview_warns_and_its_confirmation_sends_it_anyway(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    first = await front.confirm(
        "console",
        "t-devries",
        (await front.handle("console", "t-devries", CANCEL_3, preview=True)).confirmation,
    )
    assert first.announcement_id is not None
    shown = await front.handle("console", "t-devries", CANCEL_3, preview=True)
    assert shown.texts[1] == f"Let op: dit is al verstuurd als #{first.announcement_id} om 10:00."
    sent = await front.confirm("console", "t-devries", shown.confirmation)
    assert sent.announcement_id is not None
    assert len(await stored(ctx)) == 2


async def test_a_repeat_made_between_preview_and_confirmation_is_asked_about(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    shown = await front.handle("console", "t-devries", CANCEL_3, preview=True)
    assert not any("al verstuurd" in text for text in shown.texts)  # no repeat yet
    colleague = await announcing.announce(ctx, cancelled(author_id="t-bakker"))
    asked = await front.confirm("console", "t-devries", shown.confirmation)
    assert asked.announcement_id is None
    assert asked.confirmation is not None
    assert asked.texts[1] == (
        f"Let op: dit is al verstuurd als #{colleague.announcement.id} om 10:00."
    )
    assert len(await stored(ctx)) == 1
    assert (await front.confirm("console", "t-devries", asked.confirmation)).announcement_id


async def test_without_a_preview_a_repeat_becomes_one(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    assert (await front.handle("console", "t-devries", CANCEL_3)).announcement_id is not None
    again = await front.handle("console", "t-devries", CANCEL_3)
    assert again.announcement_id is None
    assert again.confirmation is not None
    assert again.texts[1].startswith("Let op: dit is al verstuurd als #1 om 10:00.")
    assert len(await stored(ctx)) == 1


async def test_the_chat_says_who_is_told_and_which_letters_come_too_late(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", CANCEL_3)
    text = "\n".join(reply.texts)
    assert "beheerder" not in text
    assert "via geen enkel kanaal bereikbaar: Sophie Mulder." in text
    assert "Jij en de schoolleiding krijgen hun namen om 16:00 per e-mail" in text
    assert "en alleen een brief bereikt: Daan de Jong, Sem Bakker." in text
    assert "De namen en adressen van hun ouders/verzorgers krijg je per e-mail." in text


async def test_the_chat_does_not_claim_leadership_was_told_when_it_was_not(
    ctx: Context, front: ChatFrontEnd, snapshot: RosterSnapshot
) -> None:
    # Leadership unknown: nothing configured, and the roster's administrator has no address.
    ctx.policy = replace(ctx.policy, leadership_emails=())
    persons = tuple(replace(p, email=None) if p.id == "l-visser" else p for p in snapshot.persons)
    await roster_uc.import_roster(ctx, replace(snapshot, persons=persons))
    await link(ctx, "t-devries")
    text = "\n".join((await front.handle("console", "t-devries", CANCEL_3)).texts)
    assert "De schoolleiding wordt niet ingelicht" in text
    assert "Je krijgt hun namen om 16:00 per e-mail" in text


async def test_the_rosters_administrator_is_told_about_unreachable_pupils_without_configuration(
    ctx: Context, front: ChatFrontEnd
) -> None:
    ctx.policy = replace(ctx.policy, leadership_emails=())
    await link(ctx, "t-devries")
    text = "\n".join((await front.handle("console", "t-devries", CANCEL_3)).texts)
    assert "Jij en de schoolleiding krijgen hun namen om 16:00 per e-mail" in text


async def test_an_adults_own_letter_names_the_adult_not_the_parent_at_that_address(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    """Rule 6: Daan at 18, living with his father Peter, gets his letter himself; the author's
    call list names Daan, not Peter (no consent to share with his guardians)."""
    home = Address("Oudegracht 112", "3511 AX", "Utrecht")
    persons = tuple(
        replace(p, birth_date=date(2008, 1, 1), address=home) if p.id == "p-2b-02" else p
        for p in snapshot.persons
    )
    await roster_uc.import_roster(ctx, replace(snapshot, persons=persons))
    late = (await announcing.announce(ctx, homework(date=TOMORROW))).late
    assert late is not None
    calls = {x.pupil_id: x.call for x in late.letters}
    assert calls["p-2b-02"] == CallListEntry(
        "Daan de Jong", ("Daan de Jong",), "Oudegracht 112, 3511 AX Utrecht"
    )
    assert calls["p-2b-04"] == SEM  # a minor's letter still names the parent

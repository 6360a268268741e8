"""`/herinnering KLAS wanneer tekst` and `/planning KLAS [annuleer N]` in chat: a reminder for
later is previewed in words with its next dates, confirmed, and said to be *scheduled* (never
"sent"); `/planning` lists and cancels."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat.front import ChatFrontEnd
from bot.clock import FrozenClock
from bot.usecases import firing
from bot.usecases.context import Context
from tests.unit.usecases.conftest import AMSTERDAM, link


async def schedules(ctx: Context) -> list:
    async with ctx.db.transaction() as tx:
        return await tx.schedules.list()


async def announcements(ctx: Context) -> list:
    async with ctx.db.transaction() as tx:
        return await tx.announcements.list()


async def test_a_weekday_without_a_time_is_scheduled_not_sent_as_text(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "/herinnering 2B maandag Neem je gymkleren mee", preview=True
    )
    assert reply.confirmation
    assert "Neem je gymkleren mee" in reply.texts[0]
    assert "maandag Neem" not in reply.texts[0]
    assert "Gepland voor maandag 30 november 08:00" in reply.texts[1]
    assert await announcements(ctx) == []
    done = await front.confirm("console", "t-devries", reply.confirmation)
    text = "\n".join(done.texts)
    assert "Gepland voor maandag 30 november 08:00" in text
    assert "verstuurd" not in text.lower()
    assert await announcements(ctx) == []
    [stored] = await schedules(ctx)
    assert stored.rule is None
    assert stored.next_run == datetime(2026, 11, 30, 8, tzinfo=AMSTERDAM).astimezone(UTC)


async def test_a_weekly_reminder_preview_shows_words_and_three_dates(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "/herinnering 2B elke maandag 08:00 Gymspullen mee", preview=True
    )
    note = reply.texts[1]
    assert "elke maandag om 08:00" in note
    assert "maandag 30 november 08:00" in note
    assert "maandag 7 december 08:00" in note
    assert "maandag 14 december 08:00" in note
    assert "31 juli 2027" in note
    done = await front.confirm("console", "t-devries", reply.confirmation)
    assert "Gepland (nummer" in done.texts[0]
    assert len(await schedules(ctx)) == 1


async def test_quiet_hours_are_said(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "/herinnering 2B morgen 06:15 Vroeg op", preview=True
    )
    assert "Gaat om 07:00 de deur uit (stille uren)" in reply.texts[1]


async def test_yesterday_is_refused_never_sent_as_text(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle(
        "console", "t-devries", "/herinnering 2B gisteren 08:00 Toets", preview=True
    )
    assert reply.confirmation is None
    assert await announcements(ctx) == []
    assert await schedules(ctx) == []


async def test_without_a_moment_it_goes_out_now(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", "/herinnering 2B Toets morgen", preview=True)
    await front.confirm("console", "t-devries", reply.confirmation)
    assert len(await announcements(ctx)) == 1
    assert await schedules(ctx) == []


async def test_planning_lists_and_cancels(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "t-devries")
    await link(ctx, "t-jansen")
    empty = await front.handle("console", "t-devries", "/planning 2B")
    assert "geen geplande berichten" in empty.texts[0]
    for line in ("/herinnering 2B elke maandag 08:00 Gym", "/herinnering 2B morgen 07:30 Toets"):
        token = (await front.handle("console", "t-devries", line, preview=True)).confirmation
        await front.confirm("console", "t-devries", token)
    first, second = await schedules(ctx)
    listed = await front.handle("console", "t-devries", "/planning 2B")
    text = listed.texts[0]
    assert f"#{first.id} elke maandag om 08:00" in text
    assert f"#{second.id} dinsdag 24 november 2026 om 07:30" in text
    assert [cmd for _, cmd in listed.actions] == [
        f"/planning 2B annuleer {first.id}",
        f"/planning 2B annuleer {second.id}",
    ]
    # A teacher of another class may not look or cancel.
    other = await front.handle("console", "t-jansen", "/planning 2B")
    assert "Gym" not in other.texts[0]
    refused = await front.handle("console", "t-jansen", f"/planning 2B annuleer {first.id}")
    assert "geannuleerd" not in refused.texts[0]
    cancelled = await front.handle("console", "t-devries", f"/planning 2B annuleer {first.id}")
    assert "geannuleerd" in cancelled.texts[0]
    after = await front.handle("console", "t-devries", "/schedule 2B")
    assert "Gym" not in after.texts[0]
    assert "Toets" in after.texts[0]


async def test_a_confirmed_schedule_fires_as_an_announcement(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    token = (
        await front.handle(
            "console", "t-devries", "/herinnering 2B morgen 07:30 Toets", preview=True
        )
    ).confirmation
    await front.confirm("console", "t-devries", token)
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    clock.at = datetime(2026, 11, 24, 7, 30, tzinfo=AMSTERDAM).astimezone(UTC)
    assert (await firing.fire_due(ctx)).fired == 1
    [made] = await announcements(ctx)
    assert made.schedule_id is not None
    assert made.text == "Toets"


async def test_an_announcements_preview_says_when_the_group_gets_it_silently(
    ctx: Context, front: ChatFrontEnd
) -> None:
    """A.1: at 10:00 on a Monday lessons run; homework goes silently, a cancellation does not."""
    await link(ctx, "t-devries")
    silent = "De groep krijgt het stil: dan zijn er lessen"
    homework = await front.handle(
        "console", "t-devries", "/huiswerk 2B wiskunde morgen Maak opgave 3", preview=True
    )
    assert any(t.startswith(silent) for t in homework.texts)
    cancelled = await front.handle(
        "console", "t-devries", "/lesuitval 2B morgen 3 wiskunde", preview=True
    )
    assert not any(t.startswith(silent) for t in cancelled.texts)
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    clock.at = datetime(2026, 11, 23, 17, 0, tzinfo=AMSTERDAM).astimezone(UTC)
    evening = await front.handle(
        "console", "t-devries", "/huiswerk 2B wiskunde morgen Maak opgave 4", preview=True
    )
    assert not any(t.startswith(silent) for t in evening.texts)

"""Protocol A.1 on Telegram, through python-telegram-bot against the Bot API emulator: a group post
that goes out while lessons run (default 08:30-16:00 on weekdays) is sent with
`disable_notification`; one after school, and a lesson cancellation (urgent) at any time, notify.
The dispatcher decides when the post goes out, not when it was announced."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import AnnouncementDraft, Kind
from bot.usecases import announcing, queries, undo
from tests.integration.telegram.conftest import Telegram

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TOMORROW = date(2026, 11, 24)


def at(hour: int, minute: int = 0) -> datetime:
    """Monday 23 November 2026 at this time in Amsterdam."""
    return datetime(2026, 11, 23, hour, minute, tzinfo=AMSTERDAM)


def homework(text: str, subject: str = "wiskunde") -> AnnouncementDraft:
    return AnnouncementDraft(
        "2B", "t-devries", Kind.HOMEWORK, date=TOMORROW, subject=subject, text=text
    )


async def posted(telegram: Telegram, chat: int, draft: AnnouncementDraft) -> dict[str, Any]:
    """Announce `draft`, run the dispatcher at the clock's time and return the parameters of the
    one sendMessage that put it in the group, as the emulator received them."""
    announcement = (await announcing.announce(telegram.app.ctx, draft)).announcement
    await telegram.app.dispatcher.run_once()
    calls = [
        params
        for method, params in telegram.emulator.calls
        if method == "sendMessage"
        and params.get("chat_id") == chat
        and params.get("text") == announcement.signed_text
    ]
    assert len(calls) == 1, telegram.emulator.texts(chat)
    return calls[0]


async def member_group(telegram: Telegram) -> int:
    chat = await telegram.class_group()
    await telegram.join("p-2b-01", chat)
    await telegram.join("p-2b-03", chat)
    return chat


async def test_posts_in_lesson_hours_are_silent_except_urgent_ones(telegram: Telegram) -> None:
    telegram.clock.at = at(10)
    chat = await member_group(telegram)

    during = await posted(telegram, chat, homework("Maak opgave 1 t/m 5."))
    assert during["disable_notification"] is True

    cancelled = await posted(
        telegram,
        chat,
        AnnouncementDraft(
            "2B", "t-devries", Kind.LESSON_CANCELLED, date=TOMORROW, period="3", subject="wiskunde"
        ),
    )
    assert cancelled["disable_notification"] is False

    telegram.clock.at = at(17)
    after = await posted(telegram, chat, homework("Lees paragraaf 2.1.", "biologie"))
    assert after["disable_notification"] is False


async def test_a_post_is_judged_when_it_goes_out(telegram: Telegram) -> None:
    """Announced in the last minute of the lessons, sent by a dispatcher that runs at 16:00 (a
    post that waited for the platform): it goes out with a notification."""
    telegram.clock.at = at(15, 59)
    chat = await member_group(telegram)
    announcement = (
        await announcing.announce(telegram.app.ctx, homework("Maak opgave 6."))
    ).announcement
    telegram.clock.at = at(16)
    await telegram.app.dispatcher.run_once()
    [call] = [
        params
        for method, params in telegram.emulator.calls
        if method == "sendMessage" and params.get("text") == announcement.signed_text
    ]
    assert call["chat_id"] == chat
    assert call["disable_notification"] is False


async def test_a_school_without_lesson_hours_never_posts_silently(telegram: Telegram) -> None:
    telegram.clock.at = at(10)
    ctx = telegram.app.ctx
    ctx.policy = dataclasses.replace(ctx.policy, lesson_hours=None)  # school.lesson_hours = ""
    chat = await member_group(telegram)
    call = await posted(telegram, chat, homework("Maak opgave 7."))
    assert call["disable_notification"] is False


async def test_a_withdrawal_posted_anew_is_judged_like_the_post_it_is_about(
    telegram: Telegram,
) -> None:
    """On a platform that cannot edit, a withdrawal is a new post (`bot.dispatch.group_edits`):
    silent in lessons, but heard at once when it says a cancelled lesson goes on after all."""
    platform = telegram.platform
    platform.capabilities = dataclasses.replace(platform.capabilities, can_edit_posts=False)
    telegram.clock.at = at(10)
    chat = await member_group(telegram)
    homework_post = await posted(telegram, chat, homework("Maak opgave 8."))
    cancellation = await posted(
        telegram,
        chat,
        AnnouncementDraft(
            "2B", "t-devries", Kind.LESSON_CANCELLED, date=TOMORROW, period="4", subject="Engels"
        ),
    )
    assert (homework_post["disable_notification"], cancellation["disable_notification"]) == (
        True,
        False,
    )
    announcements = await queries.announcements(telegram.app.ctx, "2B")
    sent = len(telegram.emulator.calls)

    telegram.clock.at = at(10, 30)
    for announcement in announcements:
        await undo.withdraw(telegram.app.ctx, announcement.id, "t-devries")
    await telegram.app.dispatcher.run_once()

    calls = telegram.emulator.calls[sent:]
    assert not any(method == "editMessageText" for method, _ in calls)
    withdrawals = [
        params
        for method, params in calls
        if method == "sendMessage" and params.get("chat_id") == chat
    ]
    assert all(p["text"].startswith("❌ INGETROKKEN") for p in withdrawals), withdrawals
    silent = {
        a.kind: [p["disable_notification"] for p in withdrawals if a.body in p["text"]]
        for a in announcements
    }
    assert silent == {Kind.HOMEWORK: [True], Kind.LESSON_CANCELLED: [False]}

"""Scheduled reminders on Telegram: `/herinnering` for later is previewed with its dates and
buttons, confirming schedules it (nothing is posted), it fires into the group at its moment, and
`/planning` offers a button per schedule that cancels it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.usecases import firing, queries, scheduling
from tests.integration.telegram.conftest import Telegram

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


async def test_a_weekly_reminder_is_scheduled_fires_and_is_cancelled_by_button(
    telegram: Telegram,
) -> None:
    emulator, app = telegram.emulator, telegram.app
    chat = await telegram.class_group()
    await telegram.join("p-2b-01", chat)
    teacher = telegram.account("t-devries")

    await telegram.say("t-devries", "/herinnering 2B elke maandag 08:00 Neem je gymkleren mee")
    preview = telegram.last("t-devries")
    assert preview.text.startswith("Voorbeeld")
    assert "elke maandag om 08:00" in preview.text
    assert "maandag 30 november 08:00" in preview.text
    emulator.press_button(teacher, preview, preview.buttons()[0]["callback_data"])
    await telegram.settle()
    done = telegram.last("t-devries").text
    assert done.startswith("Gepland (nummer 1): elke maandag om 08:00")
    assert "verstuurd" not in done
    assert await queries.announcements(app.ctx, "2B") == []

    telegram.clock.at = datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM).astimezone(UTC)
    assert (await firing.fire_due(app.ctx)).fired == 1
    await app.dispatcher.run_once()
    post = emulator.messages(chat)[-1]
    assert "Neem je gymkleren mee" in post.text
    [announcement] = await queries.announcements(app.ctx, "2B")
    assert announcement.schedule_id == 1

    await telegram.say("t-devries", "/planning 2B")
    listing = telegram.last("t-devries")
    assert "#1 elke maandag om 08:00" in listing.text
    assert "maandag 7 december 08:00" in listing.text
    [button] = listing.buttons()
    assert button["text"] == "Annuleer #1"
    # A pupil pressing the same button is refused by the core: they may not plan.
    emulator.press_button(telegram.account("p-2b-01"), listing, button["callback_data"])
    await telegram.settle()
    assert len(await scheduling.list_schedules(app.ctx, "2B")) == 1
    emulator.press_button(teacher, listing, button["callback_data"])
    await telegram.settle()
    assert "is geannuleerd" in telegram.last("t-devries").text
    assert await scheduling.list_schedules(app.ctx, "2B") == []

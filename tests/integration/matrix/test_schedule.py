"""Scheduled reminders on a real Synapse (room versions 11 and 12): a teacher schedules a weekly
reminder in their direct chat (preview, `!ja`), it is said to be *scheduled* (nothing is posted),
it fires into the class room at its moment, and `!planning` lists and cancels it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.clock import FrozenClock
from bot.usecases import firing, queries, scheduling
from bot.usecases import groups as group_uc
from tests.integration.matrix.conftest import Klasbot
from tests.integration.matrix.helpers import MatrixUser
from tests.integration.matrix.test_matrix import join_class_room, link

Users = Callable[[str], Awaitable[MatrixUser]]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


async def test_a_weekly_reminder_scheduled_in_chat_fires_into_the_room(
    klasbot: Klasbot, matrix_users: Users
) -> None:
    kb = klasbot
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    zoe, teacher = await matrix_users("zoe"), await matrix_users("devries")
    await link(kb, zoe, "p-2b-01")
    await join_class_room(kb, zoe, group, "p-2b-01")
    direct, _ = await link(kb, teacher, "t-devries")

    preview = await teacher.ask(
        direct, "!herinnering 2B elke maandag 08:00 Neem je gymkleren mee", kb.bot_id
    )
    assert "elke maandag om 08:00" in preview, preview
    assert "maandag 30 november 08:00" in preview, preview
    assert "!ja" in preview, preview
    done = await teacher.ask(direct, "!ja", kb.bot_id)
    assert done.startswith("Gepland (nummer 1): elke maandag om 08:00"), done
    assert "verstuurd" not in done, done
    assert await queries.announcements(kb.app.ctx, "2B") == []

    clock = kb.app.clock
    assert isinstance(clock, FrozenClock)
    clock.at = datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM).astimezone(UTC)
    assert (await firing.fire_due(kb.app.ctx)).fired == 1
    await kb.app.dispatcher.run_once()
    await zoe.until(lambda: bool(zoe.messages(group.chat_id, kb.bot_id)), what="the reminder")
    [post] = zoe.messages(group.chat_id, kb.bot_id)
    assert "Neem je gymkleren mee" in post.body  # type: ignore[attr-defined]

    listed = await teacher.ask(direct, "!planning 2B", kb.bot_id)
    assert "#1 elke maandag om 08:00" in listed, listed
    assert "maandag 7 december 08:00" in listed, listed
    cancelled = await teacher.ask(direct, "!planning 2B annuleer 1", kb.bot_id)
    assert "is geannuleerd" in cancelled, cancelled
    assert await scheduling.list_schedules(kb.app.ctx, "2B") == []

"""Protocol A.1 on a real Synapse (room versions 11 and 12): a group post that goes out while
lessons run (default 08:30-16:00 on weekdays) is an `m.notice`, which the default push rules keep
silent, with its HTML body as usual; one after school, and a lesson cancellation (urgent) at any
time, is an `m.text`. A pupil's own client receives them, and the homeserver's notifications list
shows which ones made her phone buzz."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, Kind
from bot.usecases import announcing
from bot.usecases import groups as group_uc
from tests.integration.matrix.conftest import Klasbot
from tests.integration.matrix.helpers import MatrixUser
from tests.integration.matrix.test_matrix import SIGNATURE, join_class_room, link

Users = Callable[[str], Awaitable[MatrixUser]]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TOMORROW = date(2026, 11, 24)


def at(hour: int) -> datetime:
    """Monday 23 November 2026 at this hour in Amsterdam."""
    return datetime(2026, 11, 23, hour, tzinfo=AMSTERDAM)


def homework(text: str, subject: str) -> AnnouncementDraft:
    return AnnouncementDraft(
        "2B", "t-devries", Kind.HOMEWORK, date=TOMORROW, subject=subject, text=text
    )


async def test_posts_in_lesson_hours_are_notices_except_urgent_ones(
    klasbot: Klasbot, matrix_users: Users
) -> None:
    kb = klasbot
    clock = kb.app.clock
    assert isinstance(clock, FrozenClock)
    clock.at = at(10)
    group = await group_uc.create_group(kb.app.ctx, "2B", "matrix")
    zoe = await matrix_users("zoe")
    await link(kb, zoe, "p-2b-01")
    await join_class_room(kb, zoe, group, "p-2b-01")

    async def received(draft: AnnouncementDraft) -> dict[str, Any]:
        """The content of the post of `draft` as Zoë's client received it."""
        announcement = (await announcing.announce(kb.app.ctx, draft)).announcement

        def found() -> list[Any]:
            return [
                m
                for m in zoe.messages(group.chat_id, kb.bot_id)
                if m.source["content"].get("body") == announcement.signed_text
            ]

        await kb.app.dispatcher.run_once()
        await zoe.until(lambda: bool(found()), what=f"the post of {draft.kind}")
        [message] = found()
        content: dict[str, Any] = message.source["content"]
        return {**content, "event_id": message.event_id}

    during = await received(homework("Maak opgave 1 t/m 5.", "wiskunde"))
    assert during["msgtype"] == "m.notice"
    assert during["format"] == "org.matrix.custom.html"
    assert f"<i>{SIGNATURE}</i>" in during["formatted_body"]

    cancelled = await received(
        AnnouncementDraft(
            "2B", "t-devries", Kind.LESSON_CANCELLED, date=TOMORROW, period="3", subject="wiskunde"
        )
    )
    assert cancelled["msgtype"] == "m.text"

    clock.at = at(17)
    after = await received(homework("Lees paragraaf 2.1.", "biologie"))
    assert after["msgtype"] == "m.text"
    assert f"<i>{SIGNATURE}</i>" in after["formatted_body"]

    # What made Zoë's phone buzz, by Synapse's default push rules (read after the last post,
    # so the first one's verdict is surely in): not the notice (`.m.rule.suppress_notices`).
    got = await asyncio.to_thread(
        kb.server.request, "GET", "/_matrix/client/v3/notifications", token=zoe.user.access_token
    )
    notified = {n["event"]["event_id"] for n in got["notifications"]}
    assert cancelled["event_id"] in notified
    assert after["event_id"] in notified
    assert during["event_id"] not in notified

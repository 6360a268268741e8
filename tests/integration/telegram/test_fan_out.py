"""Group posts fan out several at once (`bot.dispatch.group_posts.PostPipeline`) through the real
python-telegram-bot against the Bot API emulator, which enforces Telegram's limits: the limits
hold (no 429), each group gets each post exactly once and in order; and when Telegram's limits
are tighter than klasbot was told, the 429s are retried later and still nothing is lost or
posted twice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.oneroster.reader import read_roster
from adapters.telegram.platform import TelegramPlatform
from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, GroupState, MemberState
from bot.ports import GroupMessage
from bot.usecases import announcing
from bot.usecases import roster as roster_uc
from tests.conftest import make_settings
from tests.integration.telegram.conftest import TOKEN
from tests.support.rosters import Roster, User
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after:telegram.warnings.PTBDeprecationWarning"
)

# A Monday morning: outside quiet hours.
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
GROUPS = 8
PER_GROUP = 3


@asynccontextmanager
async def school(
    tmp_path: Path, emulator: BotApiEmulator, *, per_second: int
) -> AsyncIterator[tuple[bootstrap.App, TelegramPlatform, FrozenClock, list[int]]]:
    """GROUPS classes, each with a bound group whose pupil is a member, and PER_GROUP
    announcements per class waiting in the outbox; klasbot told Telegram allows `per_second`."""
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'klasbot.db'}",
        KLASBOT_TELEGRAM__TOKEN=TOKEN,
        KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
        KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
        KLASBOT_TELEGRAM__RATE_GLOBAL_PER_SECOND=str(per_second),
    )
    await bootstrap.migrate(settings)
    roster = Roster(school=("org-fan", "Fan-out College"))
    for n in range(GROUPS):
        roster.classes.append((f"cls-{n}", f"K{n}"))
        roster.users.append(User(f"t-{n}", "teacher", "Docent", f"Nummer{n}"))
        roster.users.append(User(f"p-{n}", "student", "Leerling", f"Nummer{n}", birth="2011-05-01"))
        roster.enrollments.append((f"cls-{n}", f"t-{n}", "teacher", True))
        roster.enrollments.append((f"cls-{n}", f"p-{n}", "student", False))
    platform = TelegramPlatform(settings.telegram)
    clock = FrozenClock(NOW)
    async with (
        bootstrap.build(settings, clock=clock, extra_platforms={"telegram": platform}) as app,
        platform.running(app.chat, receive=False),
    ):
        await roster_uc.import_roster(
            app.ctx, read_roster(roster.write(tmp_path / "roster", version="1.1"))
        )
        owner = emulator.user("Docent")
        chats = []
        async with app.db.transaction() as store:
            for n in range(GROUPS):
                chat = emulator.group(f"Klas K{n}", owner=owner, notify=False)
                account = emulator.user("Leerling", f"Nummer{n}")
                emulator.chats[chat].members[account] = "member"
                group = await store.groups.add(
                    f"cls-{n}", "telegram", str(chat), GroupState.ACTIVE, NOW
                )
                await store.accounts.link("telegram", str(account), f"p-{n}", NOW)
                await store.groups.set_member(
                    group.id, f"p-{n}", str(account), MemberState.MEMBER, NOW
                )
                chats.append(chat)
        for round_ in range(PER_GROUP):
            for n in range(GROUPS):
                draft = AnnouncementDraft(f"K{n}", f"t-{n}", "reminder", text=f"Bericht {round_}")
                await announcing.announce(app.ctx, draft, source="test")
        yield app, platform, clock, chats


def count_in_flight(platform: TelegramPlatform) -> list[int]:
    """Wraps the platform's `post` (klasbot's own method): [posts in flight now, the most]."""
    seen = [0, 0]
    post: Callable[..., Awaitable[str]] = platform.post

    async def counting(message: GroupMessage, *, silent: bool = False) -> str:
        seen[0] += 1
        seen[1] = max(seen[1], seen[0])
        try:
            return await post(message, silent=silent)
        finally:
            seen[0] -= 1

    platform.post = counting  # type: ignore[method-assign]
    return seen


def posted(emulator: BotApiEmulator, chat: int) -> list[str]:
    """The posts in a group, by their text ("Herinnering K0: Bericht 0" → "Bericht 0")."""
    return [text.split("\n")[0].split(": ", 1)[-1] for text in emulator.texts(chat)]


async def test_fan_out_keeps_every_limit_and_posts_each_once_in_order(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    emulator.global_per_second = 10
    emulator.group_per_minute = 20
    async with school(tmp_path, emulator, per_second=10) as (app, platform, _, chats):
        in_flight = count_in_flight(platform)

        stats = await app.dispatcher.run_once()

        assert emulator.rate_limited == 0
        assert stats.sent == GROUPS * PER_GROUP
        assert in_flight[1] > 1  # several posts were out at once
        for chat in chats:
            # Each group: every post exactly once, in the order they were announced.
            assert posted(emulator, chat) == [f"Bericht {r}" for r in range(PER_GROUP)]
        assert (await app.dispatcher.run_once()).sent == 0  # nothing left to send


async def test_429s_from_tighter_limits_are_retried_without_loss_or_repeat(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # Telegram allows 4 a second; klasbot was told 20.
    emulator.global_per_second = 4
    async with school(tmp_path, emulator, per_second=20) as (app, _, clock, chats):
        sent = (await app.dispatcher.run_once()).sent
        assert emulator.rate_limited > 0
        for _ in range(20):
            if sent == GROUPS * PER_GROUP:
                break
            clock.advance(minutes=5)  # the retries are due
            sent += (await app.dispatcher.run_once()).sent
        assert sent == GROUPS * PER_GROUP
        for chat in chats:
            assert sorted(posted(emulator, chat)) == [f"Bericht {r}" for r in range(PER_GROUP)]

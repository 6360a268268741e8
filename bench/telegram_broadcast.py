"""Benchmark: 500 announcements across 100 Telegram groups (5 per group), delivered by the outbox
dispatcher through TelegramPlatform and the real python-telegram-bot library, against the Bot
API emulator enforcing Telegram's limits (30 messages/s overall, 20/min per group).

Prints the wall time of the delivery, the lower bound those limits allow, their ratio and the
number of 429 answers the bot received (the goal: none, and a ratio close to 1).

    python bench/telegram_broadcast.py
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.oneroster.reader import read_roster  # noqa: E402
from adapters.telegram.platform import TelegramPlatform  # noqa: E402
from bot import bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.domain import AnnouncementDraft, GroupState  # noqa: E402
from config.settings import load_settings  # noqa: E402
from tests.support.environ import local_environ  # noqa: E402
from tests.support.rosters import Roster, User  # noqa: E402
from tests.support.telegram_emulator import BotApiEmulator  # noqa: E402

GROUPS = 100
PER_GROUP = 5
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
TOKEN = "123456:BENCH-TOKEN"
# A Monday morning: outside quiet hours.
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def write_roster(directory: Path) -> Path:
    """A school with GROUPS classes of one teacher and one pupil (13+) each."""
    roster = Roster(school=("org-bench", "Benchmark College"))
    for n in range(GROUPS):
        class_id, teacher, pupil = f"cls-{n:03}", f"t-{n:03}", f"p-{n:03}"
        roster.classes.append((class_id, f"K{n:03}"))
        roster.users.append(User(teacher, "teacher", "Docent", f"Nummer{n:03}"))
        roster.users.append(User(pupil, "student", "Leerling", f"Nummer{n:03}", birth="2011-05-01"))
        roster.enrollments.append((class_id, teacher, "teacher", True))
        roster.enrollments.append((class_id, pupil, "student", False))
    return roster.write(directory, version="1.1")


def lower_bound(messages: int, groups: int) -> tuple[float, float]:
    """(overall bound, per-group bound) in seconds. Overall: `messages` at OVERALL_PER_SECOND.
    Per group: each full window of GROUP_PER_MINUTE messages beyond the first costs a minute."""
    per_group = messages / groups
    return messages / OVERALL_PER_SECOND, (math.ceil(per_group / GROUP_PER_MINUTE) - 1) * 60.0


async def run(tmp: Path) -> None:
    async with BotApiEmulator(
        TOKEN, global_per_second=OVERALL_PER_SECOND, group_per_minute=GROUP_PER_MINUTE
    ) as emulator:
        settings = load_settings(
            environ=local_environ(
                tmp,
                KLASBOT_TELEGRAM__TOKEN=TOKEN,
                KLASBOT_TELEGRAM__BASE_URL=emulator.base_url,
                KLASBOT_TELEGRAM__BASE_FILE_URL=emulator.base_file_url,
                KLASBOT_TELEGRAM__RATE_GLOBAL_PER_SECOND=str(OVERALL_PER_SECOND),
                KLASBOT_TELEGRAM__RATE_GROUP_PER_MINUTE=str(GROUP_PER_MINUTE),
            )
        )
        await bootstrap.migrate(settings)
        platform = TelegramPlatform(settings.telegram)
        clock = FrozenClock(NOW)
        async with bootstrap.build(
            settings, clock=clock, extra_platforms={"telegram": platform}
        ) as app:
            await app.service.import_roster(read_roster(write_roster(tmp / "roster")))
            async with platform.running(app.chat, app.service):
                # Set-up (not measured): bound groups, each with its pupil as a member.
                owner = emulator.user("Docent")
                async with app.db.transaction() as store:
                    for n in range(GROUPS):
                        chat = emulator.group(f"Klas K{n:03}", owner=owner, notify=False)
                        account = emulator.user("Leerling", f"Nummer{n:03}")
                        emulator.chats[chat].members[account] = "member"
                        group = await store.add_group(
                            f"cls-{n:03}", "telegram", str(chat), GroupState.ACTIVE, NOW
                        )
                        await store.link_account("telegram", str(account), f"p-{n:03}", NOW)
                        await store.set_member(group.id, f"p-{n:03}", str(account), "member", NOW)
                for round_ in range(PER_GROUP):
                    for n in range(GROUPS):
                        draft = AnnouncementDraft(
                            f"K{n:03}", f"t-{n:03}", "reminder", text=f"Herinnering {round_ + 1}"
                        )
                        await app.service.announce(draft, source="bench")
                before = len(emulator.sent)

                started = time.monotonic()
                stats = await app.dispatcher.run_once()
                wall = time.monotonic() - started

        posted = len(emulator.sent) - before
        messages = GROUPS * PER_GROUP
        overall, per_group = lower_bound(messages, GROUPS)
        bound = max(overall, per_group)
        print(f"messages       {posted} of {messages} posted in {GROUPS} groups")
        print(f"deliveries     {stats.sent} sent")
        print(f"wall time      {wall:.2f} s")
        print(f"lower bound    {bound:.2f} s")
        print(f"  overall      {overall:.2f} s ({messages} messages at {OVERALL_PER_SECOND}/s)")
        print(
            f"  per group    {per_group:.2f} s ({PER_GROUP} messages within {GROUP_PER_MINUTE}/min)"
        )
        print(f"ratio          {wall / bound:.3f}")
        print(f"429 answers    {emulator.rate_limited}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp)))


if __name__ == "__main__":
    main()

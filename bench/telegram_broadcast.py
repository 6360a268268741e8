"""Benchmark: announcements fanned out to many Telegram groups (500 posts to 100 groups, 5 each),
against the Bot API emulator enforcing Telegram's limits (30 messages in any second overall, 20
in any minute per group; tests/support/telegram_emulator.py answers 429 beyond them).

Side by side, in the same run, each against a fresh emulator:

- the library: python-telegram-bot's own limiter, `AIORateLimiter` (overall 30/s, 20/min per
  group, retrying a 429 itself up to `AIO_MAX_RETRIES` times), with bare `bot.send_message`
  calls: each group's posts one after the other, all groups at once;
- klasbot: the announcements waiting in the outbox, delivered by `Dispatcher.run_once()` through
  TelegramPlatform (the real python-telegram-bot, klasbot's own limits `adapters.telegram.chats
  .limits`), every outcome recorded in the database (SQLite).

Figures: wall time of the sending (klasbot: of the whole delivery, database included) and the
429 answers the emulator gave. The limits' own bound: 30 messages in any second lets 500 go in
16 s (30 at once, then 30 a second later, ...). "doubled": klasbot's time for half the groups
against the full size. All traffic stays on loopback; the emulator runs in a process of its own
(`RemoteEmulator`), as Telegram does not share the bot's event loop and CPU.

    .venv/bin/python bench/telegram_broadcast.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.oneroster.reader import read_roster  # noqa: E402
from adapters.telegram.platform import TelegramPlatform  # noqa: E402
from bench.suite import Row  # noqa: E402
from bot import bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.domain import AnnouncementDraft, GroupState, MemberState  # noqa: E402
from bot.usecases import announcing  # noqa: E402
from bot.usecases import roster as roster_uc  # noqa: E402
from config.settings import load_settings  # noqa: E402
from tests.support.environ import local_environ  # noqa: E402
from tests.support.rosters import Roster, User  # noqa: E402
from tests.support.telegram_emulator import BotApiEmulator  # noqa: E402

GROUPS, QUICK_GROUPS = 100, 20
PER_GROUP, QUICK_PER_GROUP = 5, 3
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# How often AIORateLimiter retries a request Telegram answered with 429 (its default is 0).
AIO_MAX_RETRIES = 3
# Seconds one delivery may take before it is cut off (a safety net).
DEADLINE = 120.0
TOKEN = "123456:BENCH-TOKEN"
# A Monday morning: outside quiet hours.
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    posted: int  # messages the emulator accepted
    wall: float
    rate_limited: int  # 429 answers
    sent: int = 0  # deliveries recorded as sent (klasbot)


def _serve(conn: Connection) -> None:
    """The emulator's process: serves until told to stop, doing what the parent asks."""
    asyncio.run(_serving(conn))


async def _serving(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    async with BotApiEmulator(
        TOKEN, global_per_second=OVERALL_PER_SECOND, group_per_minute=GROUP_PER_MINUTE
    ) as emulator:
        conn.send((emulator.base_url, emulator.base_file_url))
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            if command == "user":
                conn.send(emulator.user(*args))
            elif command == "group":
                conn.send(emulator.group(args[0], owner=args[1], notify=False))
            elif command == "member":
                emulator.chats[args[0]].members[args[1]] = "member"
                conn.send(None)
            elif command == "counts":
                conn.send((len(emulator.sent), emulator.rate_limited))
            else:
                conn.send(None)
                return


class RemoteEmulator:
    """The Bot API emulator in a process of its own, driven over a pipe."""

    async def __aenter__(self) -> RemoteEmulator:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.base_url, self.base_file_url = await asyncio.to_thread(self._conn.recv)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._call("stop")
        await asyncio.to_thread(self._process.join, 10)

    def _call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def user(self, first: str, last: str | None = None) -> int:
        return int(self._call("user", first, last))

    def group(self, title: str, owner: int) -> int:
        return int(self._call("group", title, owner))

    def member(self, chat: int, account: int) -> None:
        self._call("member", chat, account)

    def counts(self) -> tuple[int, int]:
        """(messages accepted, 429 answers) so far."""
        sent, limited = self._call("counts")
        return int(sent), int(limited)


def _emulator() -> RemoteEmulator:
    return RemoteEmulator()


def write_roster(directory: Path, groups: int) -> Path:
    """A school with `groups` classes of one teacher and one pupil (13+) each."""
    roster = Roster(school=("org-bench", "Benchmark College"))
    for n in range(groups):
        class_id, teacher, pupil = f"cls-{n:03}", f"t-{n:03}", f"p-{n:03}"
        roster.classes.append((class_id, f"K{n:03}"))
        roster.users.append(User(teacher, "teacher", "Docent", f"Nummer{n:03}"))
        roster.users.append(User(pupil, "student", "Leerling", f"Nummer{n:03}", birth="2011-05-01"))
        roster.enrollments.append((class_id, teacher, "teacher", True))
        roster.enrollments.append((class_id, pupil, "student", False))
    return roster.write(directory, version="1.1")


async def prepare(
    app: Any, emulator: RemoteEmulator, roster_dir: Path, groups: int, per_group: int
) -> None:
    """Set-up (not measured): the roster, bound groups each with its pupil as a member, and
    `per_group` announcements per group waiting in the outbox."""
    await roster_uc.import_roster(app.ctx, read_roster(write_roster(roster_dir, groups)))
    owner = emulator.user("Docent")
    async with app.db.transaction() as store:
        for n in range(groups):
            chat = emulator.group(f"Klas K{n:03}", owner)
            account = emulator.user("Leerling", f"Nummer{n:03}")
            emulator.member(chat, account)
            group = await store.groups.add(
                f"cls-{n:03}", "telegram", str(chat), GroupState.ACTIVE, NOW
            )
            await store.accounts.link("telegram", str(account), f"p-{n:03}", NOW)
            await store.groups.set_member(
                group.id, f"p-{n:03}", str(account), MemberState.MEMBER, NOW
            )
    for round_ in range(per_group):
        for n in range(groups):
            draft = AnnouncementDraft(
                f"K{n:03}", f"t-{n:03}", "reminder", text=f"Herinnering {round_ + 1}"
            )
            await announcing.announce(app.ctx, draft, source="bench")


async def klasbot(tmp: Path, groups: int, per_group: int) -> Result:
    """The outbox delivers `groups × per_group` announcements through TelegramPlatform."""
    async with _emulator() as emulator:
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
        async with (
            bootstrap.build(
                settings, clock=FrozenClock(NOW), extra_platforms={"telegram": platform}
            ) as app,
            platform.running(app.chat, receive=False),
        ):
            await prepare(app, emulator, tmp / "roster", groups, per_group)
            before, limited = emulator.counts()
            started = time.monotonic()
            # A 429 retried later by the dispatcher is not due again within this run (frozen
            # clock), so run_once ends by itself; the deadline is a safety net.
            async with asyncio.timeout(DEADLINE):
                sent = (await app.dispatcher.run_once()).sent
            wall = time.monotonic() - started
            after, limited_after = emulator.counts()
            return Result(after - before, wall, limited_after - limited, sent)


async def library(groups: int, per_group: int) -> Result:
    """python-telegram-bot alone: AIORateLimiter and bare `send_message` calls."""
    async with _emulator() as emulator:
        owner = emulator.user("Docent")
        chats = [emulator.group(f"Klas K{n:03}", owner) for n in range(groups)]
        limiter = AIORateLimiter(
            overall_max_rate=OVERALL_PER_SECOND,
            overall_time_period=1,
            group_max_rate=GROUP_PER_MINUTE,
            group_time_period=60,
            max_retries=AIO_MAX_RETRIES,
        )
        bot = ExtBot(
            TOKEN,
            base_url=emulator.base_url,
            base_file_url=emulator.base_file_url,
            rate_limiter=limiter,
        )
        async with bot:

            async def group_posts(chat: int) -> None:
                for round_ in range(per_group):
                    while True:  # past its retries the limiter raises: wait as told, again
                        try:
                            await bot.send_message(chat, f"Herinnering {round_ + 1}")
                            break
                        except RetryAfter as error:
                            wait = error.retry_after
                            seconds = getattr(wait, "total_seconds", None)
                            await asyncio.sleep(seconds() if seconds else float(wait))

            before, limited = emulator.counts()
            started = time.monotonic()
            async with asyncio.timeout(DEADLINE):
                await asyncio.gather(*(group_posts(chat) for chat in chats))
            wall = time.monotonic() - started
        after, limited_after = emulator.counts()
        return Result(after - before, wall, limited_after - limited)


async def _klasbot(groups: int, per_group: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        return await klasbot(Path(tmp), groups, per_group)


def bound(messages: int) -> float:
    """The limits' own minimum: OVERALL_PER_SECOND in any second, the first at once."""
    return float((messages - 1) // OVERALL_PER_SECOND)


def measure(quick: bool = False) -> list[Row]:
    # PTB logs every 429 it gives up on with a traceback; the count is reported.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    groups = QUICK_GROUPS if quick else GROUPS
    per_group = QUICK_PER_GROUP if quick else PER_GROUP
    messages = groups * per_group
    ptb = asyncio.run(library(groups, per_group))
    ours = asyncio.run(_klasbot(groups, per_group))
    half = asyncio.run(_klasbot(groups // 2, per_group))
    for result, label in ((ptb, "PTB"), (ours, "klasbot"), (half, "klasbot, half")):
        expected = messages // 2 if result is half else messages
        if result.posted != expected:
            raise RuntimeError(f"{label}: {result.posted} of {expected} messages posted")
    if ours.sent != messages:
        raise RuntimeError(f"klasbot: {ours.sent} of {messages} deliveries recorded as sent")
    return [
        Row(
            work=f"Telegram fan-out, {messages} posts to {groups} groups",
            library=(
                f"PTB AIORateLimiter, bare sends: {ptb.wall:.1f} s, {ptb.rate_limited} 429s "
                f"(limits' bound {bound(messages):.0f} s)"
            ),
            klasbot=f"{ours.wall:.1f} s, {ours.rate_limited} 429s",
            ratio=f"{ours.wall / ptb.wall:.2f}x time",
            goal="<= 1.05x, 0 429s",
            doubled=f"x{ours.wall / half.wall:.2f} ({messages // 2} -> {messages} posts)",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 posts to 20 groups")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for row in measure(quick=args.quick):
        print(f"work      {row.work}")
        print(f"library   {row.library}")
        print(f"klasbot   {row.klasbot}")
        print(f"ratio     {row.ratio}  (goal {row.goal})")
        print(f"doubled   {row.doubled}")


if __name__ == "__main__":
    main()

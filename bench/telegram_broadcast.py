"""Benchmark: 500 announcements across 100 Telegram groups (5 per group), delivered by the outbox
dispatcher through TelegramPlatform and the real python-telegram-bot library, against the Bot
API emulator enforcing Telegram's limits (30 messages/s overall, 20/min per group).

One run measures two ways of staying inside those limits on the same workload, one after the
other, each against a fresh emulator and a fresh database:

- "bucket": klasbot's own token buckets (`bot/ratelimit.py`, built by the adapter's `limits()`);
- "aio": python-telegram-bot's `AIORateLimiter` (overall 30/s, 20/min per group, retrying a 429
  itself up to `AIO_MAX_RETRIES` times), plugged in with `ApplicationBuilder().rate_limiter(...)`,
  with klasbot's bucket switched off.

For each it prints the wall time of the delivery, messages per second, the ratio of that
throughput to the one the limits allow for this workload (1 = as fast as allowed) and the number
of 429 answers the emulator gave; then the winner: fewest 429s first, then the ratio closest to 1.
All traffic stays on loopback; each variant is cut off after `VARIANT_DEADLINE` seconds.

    python bench/telegram_broadcast.py
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from telegram.ext import AIORateLimiter, Application

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import adapters.telegram.platform as telegram_platform  # noqa: E402
from adapters.oneroster.reader import read_roster  # noqa: E402
from adapters.telegram.platform import TelegramPlatform  # noqa: E402
from bot import bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.domain import AnnouncementDraft, GroupState, MemberState  # noqa: E402
from bot.ratelimit import RateLimiter  # noqa: E402
from bot.usecases import announcing  # noqa: E402
from bot.usecases import roster as roster_uc  # noqa: E402
from config.settings import load_settings  # noqa: E402
from tests.support.environ import local_environ  # noqa: E402
from tests.support.rosters import Roster, User  # noqa: E402
from tests.support.telegram_emulator import BotApiEmulator  # noqa: E402

GROUPS = 100
PER_GROUP = 5
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# How often AIORateLimiter retries a request Telegram answered with 429 (its default is 0).
AIO_MAX_RETRIES = 3
# Seconds one variant (set-up and delivery) may take before it is cut off.
VARIANT_DEADLINE = 120.0
TOKEN = "123456:BENCH-TOKEN"
# A Monday morning: outside quiet hours.
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)

BUCKET = "bucket"
AIO = "aio"
LABELS = {BUCKET: "klasbot token bucket", AIO: "PTB AIORateLimiter"}


@dataclass(frozen=True)
class Result:
    variant: str
    posted: int  # messages the emulator accepted during the delivery
    sent: int  # deliveries the dispatcher recorded as sent
    wall: float
    rate_limited: int  # 429 answers during the delivery
    timed_out: bool = False

    @property
    def per_second(self) -> float:
        return self.posted / self.wall if self.wall > 0 else 0.0

    @property
    def ratio(self) -> float:
        """Achieved throughput over the throughput the limits allow for this workload."""
        messages = GROUPS * PER_GROUP
        return self.per_second / (messages / bound())


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


def bound() -> float:
    return max(lower_bound(GROUPS * PER_GROUP, GROUPS))


@contextmanager
def ptb_rate_limiter(limiter: AIORateLimiter) -> Iterator[None]:
    """While active, the adapter's `Application.builder()` is PTB's own builder with
    `.rate_limiter(limiter)` applied (PTB's documented way to plug in a rate limiter), so the
    adapter's start-up code runs unchanged."""

    class _Application:
        @staticmethod
        def builder() -> Any:
            return Application.builder().rate_limiter(limiter)

    with mock.patch.object(telegram_platform, "Application", _Application):
        yield


async def prepare(app: Any, emulator: BotApiEmulator, roster_dir: Path) -> None:
    """Set-up (not measured): the roster, bound groups each with its pupil as a member, and
    PER_GROUP announcements per group waiting in the outbox."""
    await roster_uc.import_roster(app.ctx, read_roster(write_roster(roster_dir)))
    owner = emulator.user("Docent")
    async with app.db.transaction() as store:
        for n in range(GROUPS):
            chat = emulator.group(f"Klas K{n:03}", owner=owner, notify=False)
            account = emulator.user("Leerling", f"Nummer{n:03}")
            emulator.chats[chat].members[account] = "member"
            group = await store.groups.add(
                f"cls-{n:03}", "telegram", str(chat), GroupState.ACTIVE, NOW
            )
            await store.accounts.link("telegram", str(account), f"p-{n:03}", NOW)
            await store.groups.set_member(
                group.id, f"p-{n:03}", str(account), MemberState.MEMBER, NOW
            )
    for round_ in range(PER_GROUP):
        for n in range(GROUPS):
            text = f"Herinnering {round_ + 1}"
            draft = AnnouncementDraft(f"K{n:03}", f"t-{n:03}", "reminder", text=text)
            await announcing.announce(app.ctx, draft, source="bench")


async def run(tmp: Path, variant: str, deadline: float) -> Result:
    """Set up and deliver with `variant`; the delivery is cut off at `deadline` (monotonic)."""
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
        ptb_limiter: AIORateLimiter | None = None
        if variant == AIO:
            ptb_limiter = AIORateLimiter(
                overall_max_rate=OVERALL_PER_SECOND,
                overall_time_period=1,
                group_max_rate=GROUP_PER_MINUTE,
                group_time_period=60,
                max_retries=AIO_MAX_RETRIES,
            )
            # klasbot's bucket off: a limiter without buckets never waits.
            platform = TelegramPlatform(settings.telegram, limiter=RateLimiter(None))
        else:
            platform = TelegramPlatform(settings.telegram)
        plugged = ptb_rate_limiter(ptb_limiter) if ptb_limiter is not None else nullcontext()
        with plugged:
            async with (
                bootstrap.build(
                    settings, clock=FrozenClock(NOW), extra_platforms={"telegram": platform}
                ) as app,
                platform.running(app.chat),
            ):
                # The variant is really in place.
                assert platform.bot.rate_limiter is ptb_limiter
                await prepare(app, emulator, tmp / "roster")
                before, limited_before = len(emulator.sent), emulator.rate_limited

                started = time.monotonic()
                sent, timed_out = 0, False
                try:
                    # A 429 retried later by the dispatcher is not due again within this run
                    # (frozen clock), so run_once ends by itself; the deadline is a safety net.
                    async with asyncio.timeout(max(0.0, deadline - started)):
                        sent = (await app.dispatcher.run_once()).sent
                except TimeoutError:
                    timed_out = True
                wall = time.monotonic() - started
                return Result(
                    variant,
                    posted=len(emulator.sent) - before,
                    sent=sent,
                    wall=wall,
                    rate_limited=emulator.rate_limited - limited_before,
                    timed_out=timed_out,
                )


async def measure(variant: str) -> Result:
    deadline = time.monotonic() + VARIANT_DEADLINE
    with tempfile.TemporaryDirectory() as tmp:
        # A hard stop for the whole variant (set-up and shutdown included).
        async with asyncio.timeout(VARIANT_DEADLINE + 30):
            return await run(Path(tmp), variant, deadline)


def report(result: Result) -> None:
    messages = GROUPS * PER_GROUP
    cut = "  (cut off at the deadline)" if result.timed_out else ""
    print(f"== {LABELS[result.variant]}{cut}")
    print(f"messages       {result.posted} of {messages} posted in {GROUPS} groups")
    print(f"deliveries     {result.sent} recorded as sent")
    print(f"wall time      {result.wall:.2f} s")
    print(f"throughput     {result.per_second:.2f} messages/s")
    print(f"ratio          {result.ratio:.3f} of the {messages / bound():.2f} messages/s allowed")
    print(f"429 answers    {result.rate_limited}")
    print()


def winner(results: list[Result]) -> Result:
    """Fewest 429s first, then the throughput closest to the bound."""
    return min(results, key=lambda r: (r.rate_limited, abs(1.0 - r.ratio), r.timed_out))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # PTB logs every 429 it gives up on with a traceback; the count is reported below.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    messages = GROUPS * PER_GROUP
    overall, per_group = lower_bound(messages, GROUPS)
    print(f"workload       {messages} announcements, {GROUPS} groups, {PER_GROUP} per group")
    print(f"lower bound    {bound():.2f} s ({messages / bound():.2f} messages/s)")
    print(f"  overall      {overall:.2f} s ({messages} messages at {OVERALL_PER_SECOND}/s)")
    print(f"  per group    {per_group:.2f} s ({PER_GROUP} messages within {GROUP_PER_MINUTE}/min)")
    print()
    results = []
    for variant in (BUCKET, AIO):
        result = asyncio.run(measure(variant))
        report(result)
        results.append(result)

    print(f"{'variant':<22}{'wall s':>8}{'msg/s':>8}{'ratio':>8}{'429s':>6}{'posted':>8}")
    for r in results:
        print(
            f"{LABELS[r.variant]:<22}{r.wall:>8.2f}{r.per_second:>8.2f}{r.ratio:>8.3f}"
            f"{r.rate_limited:>6}{r.posted:>8}"
        )
    best = winner(results)
    print(
        f"winner         {LABELS[best.variant]} ({best.rate_limited} 429s, ratio {best.ratio:.3f})"
    )


if __name__ == "__main__":
    main()

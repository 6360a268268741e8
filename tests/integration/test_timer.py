"""The timer of `klasbot run` (`adapters.timer.ApschedulerTimer`, APScheduler 3): it wakes the
loop at the planned clock instant — on a clock that runs shifted (`KLASBOT_NOW`) too — and a new
wake-up replaces the old one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from adapters.timer import ApschedulerTimer
from bot.clock import ShiftedClock


async def woken(timer: ApschedulerTimer, timeout: float) -> bool:
    """Whether `wait` returned well before its timeout (the wake-up came)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await timer.wait(timeout)
    return loop.time() - started < timeout / 2


async def test_it_wakes_at_the_planned_instant_of_a_shifted_clock() -> None:
    clock = ShiftedClock(datetime(2027, 3, 28, 0, 59, 59, 500000, tzinfo=UTC))
    async with ApschedulerTimer(clock) as timer:
        timer.wake_at(clock.now() + timedelta(milliseconds=300))
        assert await woken(timer, 20)
        assert timer.planned is not None


async def test_without_a_wake_up_it_waits_for_the_timeout() -> None:
    clock = ShiftedClock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    async with ApschedulerTimer(clock) as timer:
        timer.wake_at(None)
        assert not await woken(timer, 0.4)


async def test_a_new_wake_up_replaces_the_old_one() -> None:
    clock = ShiftedClock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    async with ApschedulerTimer(clock) as timer:
        timer.wake_at(clock.now() + timedelta(hours=1))
        timer.wake_at(clock.now() + timedelta(milliseconds=200))
        assert await woken(timer, 20)
        timer.wake_at(clock.now() + timedelta(hours=1))
        assert not await woken(timer, 0.4)


async def test_a_past_instant_wakes_at_once() -> None:
    clock = ShiftedClock(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    async with ApschedulerTimer(clock) as timer:
        timer.wake_at(clock.now() - timedelta(minutes=5))
        assert await woken(timer, 20)

"""The timer of `klasbot run`: APScheduler 3's `AsyncIOScheduler` with one date job that wakes
the run loop at the next due schedule occurrence (`bot.ports.Timer`).

It stores no jobs of its own beyond that one wake-up in memory: APScheduler's job stores pickle
their jobs and cannot be shared by several processes, so the schedules live in klasbot's database
and the firer reads them there (`bot.usecases.scheduling`). The bot's clock may run shifted
(`KLASBOT_NOW`); a wake-up at a clock instant is planned at the same distance in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from types import TracebackType

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.ports import Clock

JOB_ID = "klasbot-wake"


class ApschedulerTimer:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scheduler: AsyncIOScheduler | None = None
        self._event = asyncio.Event()
        self.planned: datetime | None = None
        """The clock instant of the planned wake-up (for tests and logs)."""

    async def __aenter__(self) -> ApschedulerTimer:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    def _wake(self) -> None:
        self._event.set()

    def wake_at(self, instant: datetime | None) -> None:
        self.planned = instant
        if self._scheduler is None:
            return
        with contextlib.suppress(JobLookupError):  # no wake-up was planned
            self._scheduler.remove_job(JOB_ID)
        if instant is None:
            return
        real = datetime.now(UTC) + (instant - self._clock.now())
        if real <= datetime.now(UTC):
            self._event.set()
            return
        self._scheduler.add_job(
            self._wake,
            DateTrigger(run_date=real, timezone=UTC),
            id=JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 (the port's contract)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

"""One round of the bot's work, and the loop of `klasbot run` around it.

A round fires the schedule occurrences that are due (`bot.usecases.scheduling`), runs the daily
sweep when it is due (`bot.usecases.sweep`), then delivers what is due (the outbox). `klasbot
dispatch --once` runs one round; `klasbot run` runs rounds until it is stopped, waking at the next
due occurrence (the `Timer`, APScheduler in production) or after the poll interval, whichever is
first, so that a schedule added by another process takes effect without a restart.

With several `klasbot run` processes (on PostgreSQL), one of them fires schedules: the holder of
the firer lease, which another takes over within `FIRER_LEASE` when the holder dies. Exactly-once
does not depend on the lease (each occurrence is recorded once); a cron `dispatch --once` beside
`klasbot run` fires too, safely. The same kind of lease (`bot.usecases.leases`) says which process
receives for a platform where only one may (Telegram polling, the Matrix sync loop).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from bot.dispatch.dispatcher import Dispatcher
from bot.dispatch.retry import DispatchStats
from bot.ports import Timer
from bot.usecases import firing, leases, sweep
from bot.usecases.context import Context
from bot.usecases.firing import FireStats
from bot.usecases.sweep import SweepStats

logger = logging.getLogger(__name__)

FIRER_LEASE = timedelta(seconds=30)
"""How long the firer's lease lasts without renewal: another process takes over within it."""


@dataclass
class RoundStats:
    fired: FireStats = field(default_factory=FireStats)
    swept: SweepStats = field(default_factory=SweepStats)
    delivered: DispatchStats = field(default_factory=DispatchStats)


async def run_round(ctx: Context, dispatcher: Dispatcher, *, fire: bool = True) -> RoundStats:
    """Fire what is due and sweep when due (when `fire`: the process holding the firer's
    lease, or a `dispatch --once`), then deliver what is due. Several workers do not all sweep:
    each sweep step is recorded once anyway, but a board's sweep reads every pupil."""
    stats = RoundStats()
    if fire:
        stats.fired = await firing.fire_due(ctx)
        stats.swept = await sweep.run_due(ctx)
    stats.delivered = await dispatcher.run_once()
    return stats


class Runner:
    """The loop of `klasbot run`."""

    def __init__(
        self,
        ctx: Context,
        dispatcher: Dispatcher,
        timer: Timer | None = None,
        *,
        poll_interval: float = 2.0,
        lease: timedelta = FIRER_LEASE,
        owner: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.dispatcher = dispatcher
        self.timer = timer
        self.poll_interval = poll_interval
        self.lease = lease
        self.owner = owner or leases.process_owner()
        self.firer = False

    async def round(self) -> RoundStats:
        self.firer = await firing.hold_firer_lease(self.ctx, self.owner, self.lease)
        stats = await run_round(self.ctx, self.dispatcher, fire=self.firer)
        if self.timer is not None:
            self.timer.wake_at(await firing.next_due(self.ctx) if self.firer else None)
        return stats

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    await self.round()
                except Exception:  # a bad round must not stop the bot; the work stays stored
                    logger.exception("round failed; retrying in %.0fs", self.poll_interval)
                await self._wait(stop)
        finally:
            try:
                await firing.release_firer_lease(self.ctx, self.owner)
            except Exception:
                logger.warning("could not release the firer lease; it expires by itself")

    async def _wait(self, stop: asyncio.Event) -> None:
        waits: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
        if self.timer is not None:
            waits.append(asyncio.ensure_future(self.timer.wait(self.poll_interval)))
        try:
            await asyncio.wait(waits, timeout=self.poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for task in waits:
                task.cancel()

"""Named leases: which one of several klasbot processes on one database does a job that only one
may do at a time (fire schedules, poll Telegram for updates, run the Matrix sync loop).

A lease is a row in the platform state (scope `klasbot`, key = the lease's name) holding its
owner and the instant it runs out. `hold` takes it when it is free or ran out and renews it for
its owner; the read and the write are one transaction that holds the row's lock (PostgreSQL: a
transaction advisory lock, so two processes take turns even before the row exists; SQLite: every
transaction holds the write lock), so two processes never both win. A holder that dies stops
renewing and another takes over when the lease runs out; a clean stop gives it up at once
(`release`).

A lease is an optimisation, never the guarantee: a holder that stalls past its lease may briefly
overlap with the next one. What must happen once is fenced where it is stored (an occurrence is
recorded once, a delivery's outcome only under its own claim), and Telegram refuses a second
`getUpdates` poller (409 Conflict) while the first one waits.

`Leadership` keeps one lease for a whole run and starts or stops a job as the lease comes and
goes; `receiving` does that for every chat platform whose receiving must be done by one process
at a time (`Receiver.exclusive_receiving`: Telegram polling, the Matrix sync loop). A platform
that receives through a webhook receives in every process and needs no lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.outbox import STATE_SCOPE
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

FIRER = "schedule-firer"
"""The lease of the process that fires mentors' schedules (`bot.usecases.firing`)."""

RECEIVING = {"telegram": "telegram-updates", "matrix": "matrix-sync"}
"""The lease of the process that receives for each platform, when only one may."""

LEASE = timedelta(seconds=15)
"""How long a receiving lease lasts without renewal: another process takes over within it (plus
one retry) when the holder dies."""


def receiving_lease(platform: str) -> str:
    """The name of the lease under which one process receives for `platform`."""
    return RECEIVING.get(platform, f"{platform}-receiving")


@dataclass(frozen=True)
class Holder:
    owner: str
    until: datetime


_owner: str | None = None


def process_owner() -> str:
    """This process's name as a lease owner: host, process id and a random part (a restarted
    process with a recycled pid is a new owner). The same for every lease of the process."""
    global _owner
    if _owner is None:
        host = socket.gethostname().replace(" ", "_") or "host"
        _owner = f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _owner


def _parse(raw: str | None) -> Holder | None:
    owner, _, until = (raw or "").partition(" ")
    if not owner or not until:
        return None
    try:
        return Holder(owner, datetime.fromisoformat(until))
    except ValueError:
        return None


async def hold(ctx: Context, name: str, owner: str, lease: timedelta) -> bool:
    """Whether `owner` holds the lease `name` now: it takes it when it is free or ran out, and
    renews it (until now + `lease`) while it holds it. Atomic: of two processes asking at the
    same moment, one wins."""
    if " " in owner:
        raise ValueError("a lease owner has no spaces")
    now = ctx.clock.now()
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, name)
        current = _parse(await tx.state.get(STATE_SCOPE, name))
        if current is not None and current.owner != owner and current.until > now:
            return False
        await tx.state.set(STATE_SCOPE, name, f"{owner} {(now + lease).isoformat()}")
    if current is None or current.owner != owner:
        logger.info("lease %s taken by this process (%s)", name, owner)
    return True


async def release(ctx: Context, name: str, owner: str) -> None:
    """Give the lease up when `owner` holds it (a clean stop): another process takes over at
    its next try instead of when the lease runs out."""
    async with ctx.db.transaction() as tx:
        await tx.state.lock(STATE_SCOPE, name)
        current = _parse(await tx.state.get(STATE_SCOPE, name))
        if current is not None and current.owner == owner:
            await tx.state.set(STATE_SCOPE, name, "")
            logger.info("lease %s released", name)


async def holder(ctx: Context, name: str) -> Holder | None:
    """Who holds the lease now (None: free or run out)."""
    async with ctx.db.transaction() as tx:
        current = _parse(await tx.state.get(STATE_SCOPE, name))
    return current if current is not None and current.until > ctx.clock.now() else None


class Leadership:
    """Keeps the lease `name` for as long as it runs: tries every `retry` (a third of the lease
    by default), calls `gained` when it takes the lease and `lost` when it loses it, and at the
    end calls `lost` and releases it. A lease it cannot renew (the database is unreachable) it
    counts as lost once it would have run out, since another process may have taken over."""

    def __init__(
        self,
        ctx: Context,
        name: str,
        owner: str,
        *,
        gained: Callable[[], Awaitable[None]],
        lost: Callable[[], Awaitable[None]],
        lease: timedelta = LEASE,
        retry: timedelta | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.owner = owner
        self.gained = gained
        self.lost = lost
        self.lease = lease
        self.retry = retry if retry is not None else lease / 3
        self.held = False
        self._renewed: datetime | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def step(self) -> None:
        """One try: take or renew the lease, and start or stop the job accordingly."""
        try:
            got = await hold(self.ctx, self.name, self.owner, self.lease)
        except Exception as exc:
            logger.warning("lease %s could not be renewed: %s", self.name, type(exc).__name__)
            got = (
                self.held
                and self._renewed is not None
                and self.ctx.clock.now() < self._renewed + self.lease
            )
        else:
            if got:
                self._renewed = self.ctx.clock.now()
        if got and not self.held:
            try:
                await self.gained()
            except Exception:
                logger.exception("lease %s: the job could not start; it is given up", self.name)
                with suppress(Exception):
                    await release(self.ctx, self.name, self.owner)
                return
            self.held = True
        elif not got and self.held:
            logger.warning("lease %s lost to another process: its job stops here", self.name)
            await self._stop_job()

    async def _stop_job(self) -> None:
        self.held = False
        try:
            await self.lost()
        except Exception:
            logger.exception("lease %s: the job did not stop cleanly", self.name)

    async def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.retry.total_seconds())
            if not self._stop.is_set():
                await self.step()

    async def start(self) -> None:
        """The first try at once, then one every `retry` in the background."""
        self._stop.clear()
        await self.step()
        self._task = asyncio.create_task(self._run(), name=f"lease-{self.name}")

    async def stop(self) -> None:
        """Stop trying (after the try under way), stop the job and give the lease up."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            await task
        if self.held:
            await self._stop_job()
        try:
            await release(self.ctx, self.name, self.owner)
        except Exception:
            logger.warning("lease %s could not be released; it runs out by itself", self.name)


class Receiver(Protocol):
    """A chat platform, connected to send, that can start and stop receiving."""

    name: str

    @property
    def exclusive_receiving(self) -> bool:
        """Whether only one process at a time may receive (long polling, a sync loop); False
        when every process may (a webhook)."""
        ...

    async def start_receiving(self) -> None: ...

    async def stop_receiving(self) -> None: ...


@asynccontextmanager
async def receiving(
    ctx: Context,
    receivers: Iterable[Receiver],
    owner: str | None = None,
    *,
    lease: timedelta = LEASE,
    retry: timedelta | None = None,
) -> AsyncIterator[list[Leadership]]:
    """Receive on every platform for the block: at once where every process may, and under its
    lease (`receiving_lease`) where only one may, this process then only sending while another
    holds it. Stops receiving and gives the leases up at the end."""
    owner = owner or process_owner()
    kept: list[Leadership] = []
    async with AsyncExitStack() as stack:
        for receiver in receivers:
            if not receiver.exclusive_receiving:
                await receiver.start_receiving()
                stack.push_async_callback(receiver.stop_receiving)
                continue
            leadership = Leadership(
                ctx,
                receiving_lease(receiver.name),
                owner,
                gained=receiver.start_receiving,
                lost=receiver.stop_receiving,
                lease=lease,
                retry=retry,
            )
            stack.push_async_callback(leadership.stop)
            await leadership.start()
            if not leadership.held:
                logger.info(
                    "%s: another process receives (lease %s); this one only sends",
                    receiver.name,
                    leadership.name,
                )
            kept.append(leadership)
        yield kept

"""Named leases (`bot.usecases.leases`): one process receives for a platform at a time, another
takes over when the holder's lease runs out, a clean stop hands it over at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.clock import FrozenClock
from bot.usecases import leases
from bot.usecases.context import Context
from bot.usecases.leases import Leadership

LEASE = timedelta(seconds=15)


class Receiver:
    """A platform that records when it was told to start and stop receiving."""

    def __init__(self, name: str, *, exclusive: bool = True) -> None:
        self.name = name
        self.exclusive_receiving = exclusive
        self.receiving = False
        self.calls: list[str] = []
        self.start_errors: list[Exception] = []

    async def start_receiving(self) -> None:
        self.calls.append("start")
        if self.start_errors:
            raise self.start_errors.pop(0)
        assert not self.receiving
        self.receiving = True

    async def stop_receiving(self) -> None:
        self.calls.append("stop")
        self.receiving = False


def later(ctx: Context, seconds: float) -> None:
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(seconds=seconds)


def leadership(ctx: Context, owner: str, receiver: Receiver) -> Leadership:
    return Leadership(
        ctx,
        leases.receiving_lease(receiver.name),
        owner,
        gained=receiver.start_receiving,
        lost=receiver.stop_receiving,
        lease=LEASE,
    )


async def test_one_holder_receives_and_another_takes_over_when_it_dies(ctx: Context) -> None:
    a_platform, b_platform = Receiver("telegram"), Receiver("telegram")
    a, b = leadership(ctx, "a", a_platform), leadership(ctx, "b", b_platform)
    await a.step()
    await b.step()
    assert (a.held, a_platform.receiving) == (True, True)
    assert (b.held, b_platform.receiving, b_platform.calls) == (False, False, [])
    holder = await leases.holder(ctx, "telegram-updates")
    assert holder is not None
    assert holder.owner == "a"

    later(ctx, 10)
    await a.step()  # renewed for another 15 s
    later(ctx, 10)
    await b.step()
    assert not b.held
    # a dies: it renews no more, and b takes over once a's lease has run out.
    later(ctx, 6)
    await b.step()
    assert (b.held, b_platform.receiving) == (True, True)
    # a was only stalled: at its next try it finds the lease taken and stops receiving.
    await a.step()
    assert (a.held, a_platform.receiving, a_platform.calls) == (False, False, ["start", "stop"])


async def test_a_clean_stop_hands_the_lease_over_at_once(ctx: Context) -> None:
    a_platform, b_platform = Receiver("matrix"), Receiver("matrix")
    a, b = leadership(ctx, "a", a_platform), leadership(ctx, "b", b_platform)
    await a.start()
    await b.start()
    assert a.held
    assert not b.held
    await a.stop()
    assert a_platform.calls == ["start", "stop"]
    assert await leases.holder(ctx, "matrix-sync") is None
    await b.step()  # no wait for the lease to run out
    assert b.held
    assert b_platform.receiving
    await b.stop()
    assert not b_platform.receiving


async def test_a_job_that_cannot_start_gives_the_lease_up(ctx: Context) -> None:
    a_platform, b_platform = Receiver("telegram"), Receiver("telegram")
    a_platform.start_errors.append(ConnectionError("Telegram is unreachable"))
    a, b = leadership(ctx, "a", a_platform), leadership(ctx, "b", b_platform)
    await a.step()
    assert not a.held
    assert await leases.holder(ctx, "telegram-updates") is None
    await b.step()
    assert b.held
    assert b_platform.receiving
    await a.step()
    assert not a.held
    assert a_platform.calls == ["start"]


class Unreachable:
    """A database that is down."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[object]:
        raise ConnectionError("the database is down")
        yield  # pragma: no cover


async def test_a_holder_that_cannot_renew_stops_when_its_lease_would_have_run_out(
    ctx: Context,
) -> None:
    platform = Receiver("telegram")
    a = leadership(ctx, "a", platform)
    await a.step()
    assert a.held
    a.ctx = replace(ctx, db=Unreachable())  # type: ignore[arg-type]
    later(ctx, 10)
    await a.step()
    assert a.held
    assert platform.receiving
    later(ctx, 6)
    await a.step()
    assert not a.held
    assert not platform.receiving


async def test_receiving_starts_webhooks_at_once_and_polling_under_its_lease(
    ctx: Context,
) -> None:
    webhook = Receiver("teams", exclusive=False)
    polling = Receiver("telegram")
    other = Receiver("telegram")
    async with leases.receiving(ctx, [webhook, polling], owner="a") as kept:
        assert webhook.receiving
        assert polling.receiving
        assert [k.name for k in kept] == ["telegram-updates"]
        async with leases.receiving(ctx, [other], owner="b") as kept_b:
            assert not other.receiving
            assert not kept_b[0].held
    assert webhook.calls == ["start", "stop"]
    assert polling.calls == ["start", "stop"]
    assert await leases.holder(ctx, "telegram-updates") is None


async def test_an_owner_has_no_spaces(ctx: Context) -> None:
    with pytest.raises(ValueError, match="spaces"):
        await leases.hold(ctx, leases.FIRER, "a b", LEASE)
    assert " " not in leases.process_owner()

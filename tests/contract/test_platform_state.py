"""A platform's small state (`PlatformStateRepository`): set and read back, and set by two
transactions at once (two `klasbot run` starting together)."""

from __future__ import annotations

import asyncio

from bot.repositories import UnitOfWork


async def test_a_value_set_is_read_back_in_the_same_transaction_and_after(uow: UnitOfWork) -> None:
    async with uow.transaction() as r:
        assert await r.state.get("telegram", "k") is None
        await r.state.set("telegram", "k", "1")
        assert await r.state.get("telegram", "k") == "1"
        await r.state.set("telegram", "k", "2")
        assert await r.state.get("telegram", "k") == "2"
    async with uow.transaction() as r:
        assert await r.state.get("telegram", "k") == "2"


async def test_two_transactions_setting_a_new_key_at_once_both_succeed(uow: UnitOfWork) -> None:
    read = asyncio.Event()
    seen: list[str | None] = []

    async def one(value: str) -> None:
        async with uow.transaction() as r:
            seen.append(await r.state.get("telegram", "fresh"))
            if len(seen) == 2:
                read.set()
            # On PostgreSQL both have read that the key is not there before either writes;
            # SQLite and the memory take turns (the wait ends when the first is done).
            try:
                await asyncio.wait_for(read.wait(), 0.5)
            except TimeoutError:
                pass
            await r.state.set("telegram", "fresh", value)

    await asyncio.gather(one("a"), one("b"))
    async with uow.transaction() as r:
        assert await r.state.get("telegram", "fresh") in ("a", "b")

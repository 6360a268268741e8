"""What only the in-memory unit of work needs checking: its transactions side by side."""

from __future__ import annotations

import pytest

from storage.memory import DuplicateKeyError, InMemoryUnitOfWork
from tests.contract.test_repositories import T0, row


async def test_interleaved_transactions_keep_both_writes() -> None:
    uow = InMemoryUnitOfWork()
    async with uow.transaction() as first:
        await first.state.set("matrix", "a", "1")
        async with uow.transaction() as second:
            await second.state.set("matrix", "b", "2")
    async with uow.transaction() as r:
        assert await r.state.get("matrix", "a") == "1"
        assert await r.state.get("matrix", "b") == "2"


async def test_an_uncommitted_write_is_not_seen_by_another_transaction() -> None:
    uow = InMemoryUnitOfWork()
    async with uow.transaction() as first:
        await first.state.set("matrix", "a", "1")
        async with uow.transaction() as second:
            assert await second.state.get("matrix", "a") is None


async def test_a_key_added_by_two_transactions_at_once_is_refused() -> None:
    uow = InMemoryUnitOfWork()
    with pytest.raises(DuplicateKeyError):
        await add_the_same_key_twice_side_by_side(uow)
    async with uow.transaction() as r:
        assert len(await r.outbox.claim_due(T0, T0, 10)) == 1


async def add_the_same_key_twice_side_by_side(uow: InMemoryUnitOfWork) -> None:
    async with uow.transaction() as first:
        await first.outbox.add([row("n1")])
        async with uow.transaction() as second:
            await second.outbox.add([row("n1")])


async def test_repositories_refuse_work_after_the_transaction() -> None:
    uow = InMemoryUnitOfWork()
    async with uow.transaction() as r:
        pass
    with pytest.raises(RuntimeError):
        await r.state.get("matrix", "a")

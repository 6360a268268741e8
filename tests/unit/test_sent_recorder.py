"""`SentRecorder` records accepted e-mails in the background once three quarters of its limit
wait, and holds a connection back only when the limit is unrecorded (the bound on what a crash
may resend)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bot.dispatch.dispatcher import SentRecorder
from bot.dispatch.retry import DispatchStats


class SlowDispatcher:
    """Records nothing until `gate` is set; remembers what each recording held."""

    def __init__(self) -> None:
        self.recordings: list[list[int]] = []
        self.gate = asyncio.Event()

    async def sent(self, rows: Sequence[int], external_id: str | None, stats: Any) -> None:
        self.recordings.append(list(rows))
        await self.gate.wait()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_recorded_in_the_background_then_held_back_at_the_limit() -> None:
    dispatcher = SlowDispatcher()
    rows = list(range(20))
    recorder = SentRecorder(dispatcher, rows, DispatchStats(), limit=8, every=3600)  # type: ignore[arg-type]
    async with recorder:
        for index in range(5):
            await recorder.accepted(index)
        await settle()
        assert dispatcher.recordings == []  # 5 waiting: fewer than 6, three quarters of 8

        await recorder.accepted(5)  # returns at once: the recording runs beside the sending
        await settle()
        assert dispatcher.recordings == [[0, 1, 2, 3, 4, 5]]

        await recorder.accepted(6)  # 6 being recorded and 1 waiting: 7 unrecorded
        held = asyncio.create_task(recorder.accepted(7))  # 8: the limit
        await settle()
        assert not held.done()

        dispatcher.gate.set()
        await held
        assert dispatcher.recordings == [[0, 1, 2, 3, 4, 5], [6, 7]]
        await recorder.accepted(8)
    assert dispatcher.recordings[-1] == [8]  # the rest, when the block ends
    assert recorder.recorded == set(range(9))

from __future__ import annotations

import asyncio

import pytest

from bot.ratelimit import Rate, RateLimiter, SlidingWindow, TokenBucket, Window


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_its_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(Rate(20, 60), t)  # 20 per minute, bursts of 20
    for _ in range(20):
        assert bucket.wait_time() == 0
        bucket.tokens -= 1
    assert bucket.wait_time() == 3.0  # one token every 3 s
    t.now = 3.0
    assert bucket.wait_time() == 0


def test_penalty_blocks_everyone_for_the_retry_after() -> None:
    t = FakeTime()
    bucket = TokenBucket(Rate(30, 1), t)
    bucket.penalise(7)
    assert bucket.wait_time() == 7
    t.now = 7.0
    assert bucket.wait_time() == 0


async def test_limiter_spreads_a_broadcast() -> None:
    # Real time, small numbers: 5 per 0.1 s overall, bursts of 5 → 15 sends take >= 0.2 s.
    limiter = RateLimiter(Rate(5, 0.1))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(limiter.acquire(f"chat{i % 3}") for i in range(15)))
    assert loop.time() - start >= 0.19


async def test_per_chat_limit_applies_only_to_that_chat() -> None:
    t = FakeTime()
    limiter = RateLimiter(
        None, lambda chat: Rate(1, 10, burst=1) if chat.startswith("-") else None, t
    )
    await limiter.acquire("-100")
    bucket = limiter._chat("-100")
    assert bucket is not None
    assert bucket.wait_time() == 10
    await limiter.acquire("42")  # a chat without its own limit does not wait


def test_window_lets_a_full_window_go_then_counts_from_each_end() -> None:
    t = FakeTime()
    window = SlidingWindow(Window(3, 1.0), t)
    for _ in range(3):
        assert window.wait_time() == 0
        window.in_flight += 1
    # Three in flight: only an end can make room, and an end counts for a whole window.
    assert window.wait_time() is None
    t.now = 0.25
    window.release()
    assert window.wait_time() == 1.0  # the send that ended at 0.25 counts until 1.25
    t.now = 0.5
    window.release()
    window.release()
    t.now = 1.25
    assert window.wait_time() == 0  # the first end left the window
    window.in_flight += 1
    assert window.wait_time() == 0.25  # the other two count until 1.5


def test_window_penalty_and_a_send_that_never_went() -> None:
    t = FakeTime()
    window = SlidingWindow(Window(1, 1.0), t)
    window.in_flight += 1
    window.release(sent=False)  # cancelled before it went out: it does not count
    assert window.wait_time() == 0
    window.penalise(5)
    assert window.wait_time() == 5


async def test_slot_holds_both_limits_until_the_send_ends() -> None:
    t = FakeTime()
    limiter = RateLimiter(Window(2, 1.0), lambda chat: Window(1, 60.0), t)
    async with limiter.slot("-1"):
        overall, chat = limiter.overall, limiter._chat("-1")
        assert isinstance(overall, SlidingWindow)
        assert isinstance(chat, SlidingWindow)
        assert (overall.in_flight, chat.in_flight) == (1, 1)
    assert (overall.in_flight, len(overall.ended)) == (0, 1)
    assert chat.wait_time() == 60.0
    with pytest.raises(RuntimeError):
        async with limiter.slot("-2"):
            raise RuntimeError("the send failed")
    assert overall.in_flight == 0
    assert len(overall.ended) == 2
    assert overall.wait_time() == 1.0


async def test_a_sender_cancelled_while_waiting_gives_its_places_back() -> None:
    limiter = RateLimiter(Window(1, 1.0), lambda chat: Window(5, 60.0))
    async with limiter.slot("-1"):
        waiting = asyncio.create_task(limiter.acquire("-2"))
        await asyncio.sleep(0)
        chat = limiter._chat("-2")
        assert isinstance(chat, SlidingWindow)
        assert chat.in_flight == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert chat.in_flight == 0
        assert not chat.ended

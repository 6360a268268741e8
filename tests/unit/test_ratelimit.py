from __future__ import annotations

import asyncio

from bot.ratelimit import Rate, RateLimiter, TokenBucket


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

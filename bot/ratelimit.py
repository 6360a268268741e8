"""Token buckets for the outgoing queues of each channel (global and per chat).

A platform adapter asks `RateLimiter.acquire(chat)` before each call that sends; the call waits
until both the global bucket and the chat's bucket have a token, so a broadcast is spread over
time instead of hitting the platform's limits (python-telegram-bot's `BaseRateLimiter` idea). After
a rate-limit answer the adapter calls `penalise` so every sender pauses, not just the one that was
told off. Waiting is fair: callers are served in the order they asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """`tokens` per `per` seconds, with bursts of at most `burst` (default: `tokens`)."""

    tokens: float
    per: float = 1.0
    burst: float | None = None

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.tokens)

    @property
    def interval(self) -> float:
        return self.per / self.tokens


class TokenBucket:
    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = rate.capacity
        self.updated = clock()
        self.blocked_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.rate.capacity, self.tokens + elapsed / self.rate.interval)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is available now)."""
        now = self.clock()
        self._refill(now)
        blocked = max(0.0, self.blocked_until - now)
        if self.tokens >= 1:
            return blocked
        return max(blocked, (1 - self.tokens) * self.rate.interval)

    async def acquire(self) -> None:
        async with self._lock:
            # The wait is computed from the bucket, not signalled: nothing else refills it.
            while (wait := self.wait_time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            self.tokens -= 1

    def penalise(self, seconds: float) -> None:
        """The peer said to wait: nobody takes a token from this bucket for `seconds`."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)
        self.tokens = min(self.tokens, 0.0)


class RateLimiter:
    """A global bucket and one bucket per chat, whose rate may depend on the chat."""

    def __init__(
        self,
        overall: Rate | None,
        per_chat: Callable[[str], Rate | None] = lambda chat: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.overall = TokenBucket(overall, clock) if overall else None
        self._per_chat = per_chat
        self._chats: dict[str, TokenBucket | None] = {}

    def _chat(self, chat: str) -> TokenBucket | None:
        if chat not in self._chats:
            rate = self._per_chat(chat)
            self._chats[chat] = TokenBucket(rate, self.clock) if rate else None
        return self._chats[chat]

    async def acquire(self, chat: str | None = None) -> None:
        # The chat's bucket first: waiting on it must not hold a global token hostage.
        bucket = self._chat(chat) if chat is not None else None
        if bucket is not None:
            await bucket.acquire()
        if self.overall is not None:
            await self.overall.acquire()

    def penalise(self, seconds: float, chat: str | None = None) -> None:
        bucket = self._chat(chat) if chat is not None else None
        if bucket is not None:
            bucket.penalise(seconds)
        elif self.overall is not None:
            self.overall.penalise(seconds)

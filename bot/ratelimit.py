"""Rate limits for the outgoing queues of each channel (global and per chat).

A platform adapter sends inside `async with RateLimiter.slot(chat):` (or calls `acquire(chat)`
before a call that sends); it waits until both the global limit and the chat's limit allow one
more send, so a broadcast is spread over time instead of hitting the platform's limits
(python-telegram-bot's `BaseRateLimiter` idea). After a rate-limit answer the adapter calls
`penalise` so every sender pauses, not just the one that was told off. Waiting is fair: callers
are served in the order they asked.

Two kinds of limit:
- `Rate`: a token bucket (`TokenBucket`), a steady rate with bursts;
- `Window`: at most N sends in any W seconds, the way Telegram counts (`SlidingWindow`). It lets a
  full window's worth go at once and the next as soon as the window allows, so it reaches the
  peer's own bound; the time a send counts from is when its answer came back (the peer counted it
  before that), so network jitter can never put N + 1 sends into one of the peer's windows. A send
  still in flight holds its place until it ends. Use it through `slot`, which records the end.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
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


@dataclass(frozen=True, slots=True)
class Window:
    """At most `count` sends in any `per` seconds."""

    count: int
    per: float = 1.0


class SlidingWindow:
    """A `Window` limit: the end times of the sends of the last `per` seconds, and the sends in
    flight (each holds a place until it ends). A new send may start when fewer than `count` of
    those remain; it then counts from when it ends (`release`)."""

    def __init__(self, window: Window, clock: Callable[[], float] = time.monotonic) -> None:
        if window.count < 1:
            raise ValueError("a window allows at least one send")
        self.window = window
        self.clock = clock
        self.ended: deque[float] = deque()
        self.in_flight = 0
        self.blocked_until = 0.0
        self._lock = asyncio.Lock()
        self._ended = asyncio.Event()

    def wait_time(self) -> float | None:
        """Seconds until a send may start (0: now); None when only the end of a send in flight
        can make room."""
        now = self.clock()
        per = self.window.per
        while self.ended and self.ended[0] + per <= now:
            self.ended.popleft()
        blocked = max(0.0, self.blocked_until - now)
        excess = self.in_flight + len(self.ended) - self.window.count
        if excess < 0:
            return blocked
        if excess < len(self.ended):
            # The excess + 1 oldest ends must leave the window.
            return max(blocked, self.ended[excess] + per - now, 1e-6)
        return None

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.wait_time()) != 0:
                if wait is None:
                    self._ended.clear()
                    await self._ended.wait()
                else:
                    await asyncio.sleep(wait)
            self.in_flight += 1

    def release(self, sent: bool = True) -> None:
        """A send that `acquire` let through has ended (its answer came, or it failed); with
        `sent=False` it never went out (cancelled while waiting for another limit)."""
        self.in_flight -= 1
        if sent:
            self.ended.append(self.clock())
        self._ended.set()

    def penalise(self, seconds: float) -> None:
        """The peer said to wait: nobody starts a send for `seconds`."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)


Limit = TokenBucket | SlidingWindow


def _limit(rate: Rate | Window, clock: Callable[[], float]) -> Limit:
    return SlidingWindow(rate, clock) if isinstance(rate, Window) else TokenBucket(rate, clock)


class RateLimiter:
    """A global limit and one limit per chat, whose rate may depend on the chat."""

    def __init__(
        self,
        overall: Rate | Window | None,
        per_chat: Callable[[str], Rate | Window | None] = lambda chat: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.overall = _limit(overall, clock) if overall else None
        self._per_chat = per_chat
        self._chats: dict[str, Limit | None] = {}

    def _chat(self, chat: str) -> Limit | None:
        if chat not in self._chats:
            rate = self._per_chat(chat)
            self._chats[chat] = _limit(rate, self.clock) if rate else None
        return self._chats[chat]

    async def acquire(self, chat: str | None = None) -> None:
        """Wait for a place in both limits; the send counts from now (a `Window` limit: use
        `slot`, which counts it from when it ends)."""
        limits = await self._acquire(chat)
        for limit in limits:
            if isinstance(limit, SlidingWindow):
                limit.release()

    @asynccontextmanager
    async def slot(self, chat: str | None = None) -> AsyncIterator[None]:
        """Send inside this: it starts when both limits allow it and counts until it ends."""
        limits = await self._acquire(chat)
        try:
            yield
        finally:
            for limit in limits:
                if isinstance(limit, SlidingWindow):
                    limit.release()

    async def _acquire(self, chat: str | None) -> list[Limit]:
        # The chat's limit first: waiting on it must not hold a global place hostage.
        taken: list[Limit] = []
        bucket = self._chat(chat) if chat is not None else None
        try:
            for limit in (bucket, self.overall):
                if limit is not None:
                    await limit.acquire()
                    taken.append(limit)
        except BaseException:
            for limit in taken:
                if isinstance(limit, SlidingWindow):
                    limit.release(sent=False)
            raise
        return taken

    def penalise(self, seconds: float, chat: str | None = None) -> None:
        bucket = self._chat(chat) if chat is not None else None
        if bucket is not None:
            bucket.penalise(seconds)
        elif self.overall is not None:
            self.overall.penalise(seconds)

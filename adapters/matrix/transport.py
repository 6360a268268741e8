"""Every request the bot makes to the homeserver: paced, its answer checked, retried.

Rate limits: every request the bot makes goes through one RateLimiter (optionally paced by
settings; always paused by the homeserver's M_LIMIT_EXCEEDED answers). `post` never waits for long
and never retries: it raises TransientDeliveryError(retry_after) and the outbox retries. Requests
made while answering a person (replies, invites, kicks) wait and retry a few times themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nio import AsyncClient, ErrorResponse

from adapters.matrix.errors import NETWORK_ERRORS, is_rate_limited, translate, translate_exception
from adapters.matrix.session import MatrixSession
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Transport:
    """Sends the session's requests through `limiter` (always a global bucket, so the
    homeserver's "slow down" pauses every sender)."""

    def __init__(
        self,
        session: MatrixSession,
        limiter: RateLimiter,
        *,
        max_inline_wait: float,
        retries: int,
    ) -> None:
        self._session = session
        self.limiter = limiter
        self.max_inline_wait = max_inline_wait
        self.retries = retries

    async def request(
        self,
        what: str,
        call: Callable[[AsyncClient], Awaitable[T]],
        *,
        retries: int | None = None,
        forbidden_reason: str | None = None,
        paced: bool = True,
    ) -> T:
        """One nio request on the logged-in client, its answer checked. Transient errors are
        retried `retries` times (default: the transport's), honouring retry_after within
        `max_inline_wait`, then raised. Reads are not `paced`: the homeserver's limits count what
        a user does, not what they look at."""
        client = await self._session.connected()
        stats = self._session.stats
        retries = self.retries if retries is None else retries
        attempt = 0
        while True:
            error: DeliveryError
            if paced:
                await self._pace()
            stats.requests += 1
            try:
                response = await call(client)
            except NETWORK_ERRORS as exc:
                stats.network_errors += 1
                error = translate_exception(exc, what)
            else:
                if not isinstance(response, ErrorResponse):
                    return response
                error = translate(response, what, forbidden_reason=forbidden_reason)
                if is_rate_limited(response):
                    stats.rate_limited += 1
                    wait = response.retry_after_ms / 1000 if response.retry_after_ms else 1.0
                    self.limiter.penalise(wait)
            if isinstance(error, PermanentDeliveryError) or attempt >= retries:
                raise error
            attempt += 1
            delay = (
                error.retry_after
                if isinstance(error, TransientDeliveryError) and error.retry_after
                else 0.5 * 2**attempt
            )
            if delay > self.max_inline_wait:
                raise error
            logger.info("matrix: %s failed (%s); retry %d in %.1fs", what, error, attempt, delay)
            await asyncio.sleep(delay)

    async def _pace(self) -> None:
        """Wait for the rate limiter, but never for long: a long pause (the homeserver asked for
        one) is the outbox's business, not a reason to hold up everything else."""
        bucket = self.limiter.overall
        assert bucket is not None
        wait = bucket.wait_time()
        if wait > self.max_inline_wait:
            raise TransientDeliveryError(
                "the homeserver asked the bot to slow down", retry_after=wait
            )
        await self.limiter.acquire()

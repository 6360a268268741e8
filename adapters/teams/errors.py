"""The Bot Connector's answers translated into the core's delivery errors, at this boundary.

The SDK never retries: every non-2xx answer is an `aiohttp.ClientResponseError` (with the
answer's headers, so `Retry-After` survives), an unreachable connector a `ClientConnectionError`.

| answer | core error |
| --- | --- |
| 429 | `TransientDeliveryError(retry_after=Retry-After)` |
| 5xx, 408, 412, time-out, connection errors | transient |
| 401 / token errors | transient, logged as our credentials' problem |
| 403, 404 | `PermanentDeliveryError("group-lost")` in a channel, "blocked" in a personal chat |
| other 4xx | `PermanentDeliveryError` |
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from bot import metrics
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

logger = logging.getLogger(__name__)


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def delivery_error(error: BaseException, *, channel: bool = True) -> DeliveryError:
    """Translate what a connector call raised (`channel`: a class channel, else a personal chat)."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, aiohttp.ClientResponseError):
        status = error.status
        text = f"teams: connector answered {status}"
        if status == 429:
            metrics.rate_limited("teams")
            wait = retry_after(error.headers.get("Retry-After") if error.headers else None)
            return TransientDeliveryError(text, retry_after=wait)
        if status == 401:
            logger.error("teams: the Bot Connector refuses our token; check KLASBOT_TEAMS__*")
            return TransientDeliveryError(text)
        if status in (403, 404):
            return PermanentDeliveryError(text, reason="group-lost" if channel else "blocked")
        if status >= 500 or status in (408, 412):
            return TransientDeliveryError(text)
        return PermanentDeliveryError(text)
    if isinstance(error, TimeoutError):
        return TransientDeliveryError("teams: the connector did not answer in time")
    if isinstance(error, aiohttp.ClientError | OSError):
        return TransientDeliveryError(f"teams: {type(error).__name__}")
    if isinstance(error, ValueError):  # the SDK's "Failed to obtain token ..."
        logger.error("teams: no token for the Bot Connector: %s", error)
        return TransientDeliveryError("teams: no token")
    return TransientDeliveryError(f"teams: {type(error).__name__}")

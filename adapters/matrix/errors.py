"""matrix-nio answers errors with `ErrorResponse` values instead of raising; every answer is
checked here and turned into the core's error types (STYLE lesson 3).

- `M_LIMIT_EXCEEDED` (HTTP 429) → TransientDeliveryError with the server's `retry_after_ms`;
- `M_FORBIDDEN` → PermanentDeliveryError (for a post: the bot can no longer post there, the group
  is lost);
- `M_NOT_FOUND` and any other 4xx answer → permanent as well (a request the server will never
  accept; only a lost room counts as a lost group);
- a lost login (401), a server error (5xx) or anything unknown → transient: the outbox keeps it;
- network errors (aiohttp's ClientError, timeouts, OS errors) → transient.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from nio import ErrorResponse
from nio.exceptions import LocalProtocolError

from bot import metrics
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

RATE_LIMITED = "M_LIMIT_EXCEEDED"
FORBIDDEN = "M_FORBIDDEN"

# Exceptions a request may raise instead of answering (the connection, not the server, failed).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    TimeoutError,
    OSError,
    LocalProtocolError,  # nio: "not logged in" and friends, e.g. during a restart
)

_LOST = {FORBIDDEN, "M_NOT_FOUND"}
_PERMANENT = {*_LOST, "M_BAD_JSON", "M_NOT_JSON", "M_TOO_LARGE", "M_INVALID_PARAM"}
_LOGIN = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"}


def errcode(response: ErrorResponse) -> str:
    return str(response.status_code or "")


def http_status(response: ErrorResponse) -> int | None:
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    return status if isinstance(status, int) else None


def is_rate_limited(response: Any) -> bool:
    return isinstance(response, ErrorResponse) and (
        errcode(response) in (RATE_LIMITED, "429") or http_status(response) == 429
    )


def translate(
    response: ErrorResponse, what: str, *, forbidden_reason: str | None = None
) -> DeliveryError:
    """The core error for a homeserver's error answer to request `what`."""
    code = errcode(response)
    status = http_status(response)
    text = f"{what}: {response.status_code} {response.message}".strip()
    if is_rate_limited(response):
        metrics.rate_limited("matrix")
        retry = response.retry_after_ms / 1000 if response.retry_after_ms else None
        return TransientDeliveryError(text, retry_after=retry)
    if code in _LOGIN or status == 401:
        return TransientDeliveryError(text)  # the bot's login, not the message, is the problem
    if code in _PERMANENT or (status is not None and 400 <= status < 500):
        return PermanentDeliveryError(text, reason=forbidden_reason if code in _LOST else None)
    return TransientDeliveryError(text)  # 5xx, an unknown answer: the outbox tries again


def translate_exception(exc: BaseException, what: str) -> TransientDeliveryError:
    return TransientDeliveryError(f"{what}: {type(exc).__name__}: {exc}")

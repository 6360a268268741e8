"""Every kind of nio error answer becomes the core's error type (no homeserver needed)."""

from __future__ import annotations

import aiohttp
import pytest
from nio import ErrorResponse, RoomSendError

from adapters.matrix.errors import translate, translate_exception
from bot.errors import PermanentDeliveryError, TransientDeliveryError


def test_rate_limited_is_transient_with_the_servers_wait() -> None:
    error = translate(RoomSendError("Too Many Requests", "M_LIMIT_EXCEEDED", 2500), "post")
    assert isinstance(error, TransientDeliveryError)
    assert error.retry_after == 2.5


def test_forbidden_is_permanent_and_for_a_post_means_the_group_is_lost() -> None:
    error = translate(
        RoomSendError("not in room", "M_FORBIDDEN"), "post", forbidden_reason="group-lost"
    )
    assert isinstance(error, PermanentDeliveryError)
    assert error.reason == "group-lost"


@pytest.mark.parametrize("code", ["M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_UNKNOWN", None])
def test_a_lost_login_or_an_unknown_answer_is_transient(code: str | None) -> None:
    assert isinstance(translate(ErrorResponse("?", code), "post"), TransientDeliveryError)


def test_a_request_the_server_will_never_take_is_permanent_without_losing_the_group() -> None:
    error = translate(
        ErrorResponse("too big", "M_TOO_LARGE"), "post", forbidden_reason="group-lost"
    )
    assert isinstance(error, PermanentDeliveryError)
    assert error.reason is None


@pytest.mark.parametrize(
    "exc",
    [aiohttp.ClientConnectionError("refused"), TimeoutError(), ConnectionResetError()],
)
def test_network_errors_are_transient(exc: BaseException) -> None:
    assert isinstance(translate_exception(exc, "post"), TransientDeliveryError)

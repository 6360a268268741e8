"""The Bot Connector's answers mapped onto the core's delivery errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from adapters.teams.capabilities import capabilities
from adapters.teams.errors import delivery_error, retry_after
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from config.settings import TeamsSettings


def answer(status: int, **headers: str) -> aiohttp.ClientResponseError:
    return aiohttp.ClientResponseError(
        None,  # type: ignore[arg-type]
        (),
        status=status,
        message="fake",
        headers=CIMultiDictProxy(CIMultiDict(headers)),
    )


def test_throttling_is_transient_with_the_wait_teams_asks() -> None:
    error = delivery_error(answer(429, **{"Retry-After": "3"}))
    assert isinstance(error, TransientDeliveryError)
    assert error.retry_after == 3.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (retry_after(later) or 0) <= 60
    assert retry_after(None) is None


@pytest.mark.parametrize("status", [403, 404])
def test_forbidden_or_gone_is_a_lost_group_or_a_blocked_person(status: int) -> None:
    error = delivery_error(answer(status))
    assert isinstance(error, PermanentDeliveryError)
    assert error.reason == "group-lost"
    personal = delivery_error(answer(status), channel=False)
    assert isinstance(personal, PermanentDeliveryError)
    assert personal.reason == "blocked"


@pytest.mark.parametrize(
    "raised",
    [answer(500), answer(503), answer(401), TimeoutError(), aiohttp.ClientConnectionError()],
)
def test_server_network_and_credential_trouble_is_transient(raised: BaseException) -> None:
    assert isinstance(delivery_error(raised), TransientDeliveryError)


def test_a_refused_message_is_permanent_without_a_reason() -> None:
    error = delivery_error(answer(400))
    assert isinstance(error, PermanentDeliveryError)
    assert error.reason is None


def test_capabilities_declare_what_a_teams_bot_cannot_do() -> None:
    caps = capabilities(TeamsSettings(min_age=16))
    assert caps.min_age == 16
    assert not caps.can_remove_members
    assert not caps.creates_groups
    assert caps.binds_groups
    assert caps.can_edit_posts

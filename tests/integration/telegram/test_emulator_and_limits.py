"""The Bot API emulator answers like Telegram (checked through python-telegram-bot itself), and
the adapter's rate limiter keeps a burst inside limits the emulator enforces."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.telegram.platform import TelegramPlatform, delivery_error, limits
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import GroupMessage
from tests.integration.telegram.conftest import TOKEN, Telegram
from tests.support.telegram_emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after:telegram.warnings.PTBDeprecationWarning"
)


async def test_emulator_answers_with_telegrams_errors(emulator: BotApiEmulator) -> None:
    emulator.group_per_minute = 3
    owner = emulator.user("Jan")
    chat = emulator.group("Klas 2B", owner=owner, notify=False)
    basic = emulator.group("Klas 2C", owner=owner, supergroup=False, notify=False)
    async with Bot(TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url) as bot:
        assert bot.username == "klasbot_test_bot"
        for n in range(3):
            await bot.send_message(chat, f"bericht {n}")
        with pytest.raises(RetryAfter):
            await bot.send_message(chat, "te veel")
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(-42, "niemand")
        with pytest.raises(Forbidden, match="initiate conversation"):
            await bot.send_message(owner, "hallo")  # Jan never wrote to the bot
        new = emulator.migrate(basic, notify=False)
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(basic, "oud")
        assert migrated.value.new_chat_id == new
        emulator.kick_bot(chat, notify=False)
        with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
            await bot.get_chat_member(chat, owner)
    assert emulator.rate_limited == 1
    assert emulator.texts(chat) == ["bericht 0", "bericht 1", "bericht 2"]


async def test_limiter_keeps_a_burst_inside_the_overall_limit(telegram: Telegram) -> None:
    emulator, platform = telegram.emulator, telegram.platform
    emulator.global_per_second = 5
    platform.limiter = limits(platform.settings.model_copy(update={"rate_global_per_second": 5}))
    owner = telegram.account("t-devries")
    chats = [emulator.group(f"Groep {n}", owner=owner, notify=False) for n in range(12)]

    started = time.monotonic()
    for n, chat in enumerate(chats):
        await platform.post(GroupMessage(str(chat), f"bericht {n}", idempotency_key=f"k{n}"))
    elapsed = time.monotonic() - started

    assert emulator.rate_limited == 0
    # At most 5 in any second, each counted from its answer: the 11th waits for two seconds.
    assert elapsed >= 2.0
    # A repeated post (the outcome was not recorded) is recognised, not sent twice.
    again = await platform.post(GroupMessage(str(chats[0]), "bericht 0", idempotency_key="k0"))
    assert again == str(emulator.messages(chats[0])[0].message_id)
    assert len(emulator.messages(chats[0])) == 1


# Built per test, not at collection: constructing a RetryAfter warns (see pytestmark).
ERRORS: dict[str, tuple[Callable[[], TelegramError], str, type, str | None, float | None]] = {
    "429": (lambda: RetryAfter(7), "-1001", TransientDeliveryError, None, 7.0),
    "timeout": (TimedOut, "-1001", TransientDeliveryError, None, None),
    "network": (
        lambda: NetworkError("connection reset"),
        "-1001",
        TransientDeliveryError,
        None,
        None,
    ),
    "kicked": (
        lambda: Forbidden("Forbidden: bot was kicked from the supergroup chat"),
        "-1001",
        PermanentDeliveryError,
        "group-lost",
        None,
    ),
    "blocked": (
        lambda: Forbidden("Forbidden: bot was blocked by the user"),
        "1001",
        PermanentDeliveryError,
        "blocked",
        None,
    ),
    "chat-not-found": (
        lambda: BadRequest("Bad Request: chat not found"),
        "-1001",
        PermanentDeliveryError,
        "group-lost",
        None,
    ),
    "too-long": (
        lambda: BadRequest("Bad Request: message is too long"),
        "-1001",
        PermanentDeliveryError,
        None,
        None,
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_telegram_errors_map_onto_the_cores(case: str) -> None:
    make, chat, expected, reason, retry_after = ERRORS[case]
    mapped = delivery_error(make(), chat)
    assert type(mapped) is expected
    assert getattr(mapped, "reason", None) == reason
    assert getattr(mapped, "retry_after", None) == retry_after


async def test_a_send_only_platform_posts_without_receiving_updates(telegram: Telegram) -> None:
    """`klasbot dispatch` beside a running bot: it sends, but must not poll too."""
    emulator, app = telegram.emulator, telegram.app
    chat = emulator.group("Klas 2B", owner=telegram.account("t-devries"), notify=False)
    sender = TelegramPlatform(telegram.platform.settings)

    async with sender.running(app.chat, receive=False):
        assert sender.application is not None
        assert sender.application.updater is not None
        assert not sender.application.updater.running
        await sender.post(GroupMessage(str(chat), "Morgen geen gym."))

    assert emulator.texts(chat) == ["Morgen geen gym."]
    assert sender.application is None

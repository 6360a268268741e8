"""Telegram's errors translated into the core's delivery errors, at this boundary.

`RetryAfter` → `TransientDeliveryError(retry_after)`, network errors and time-outs → transient,
`Forbidden` → `PermanentDeliveryError` ("group-lost" for a group, "blocked" for a private chat),
`BadRequest: chat not found` → group-lost. (`ChatMigrated` never gets here: the sender updates
the binding and sends again, see `adapters.telegram.chats`.)
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot import metrics
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

logger = logging.getLogger(__name__)

# Answers that mean the person is not in the chat (any more): removing them is done.
GONE = ("user not found", "participant_id_invalid", "user_not_participant", "member not found")
# Answers that mean the bot can no longer post in the group.
GROUP_GONE = (
    "chat not found",
    "not enough rights to send",
    "bot is not a member",
    "chat_write_forbidden",
)


def says(error: BadRequest, answers: tuple[str, ...]) -> bool:
    """Whether Telegram's answer is one of `answers` (`GONE`, `GROUP_GONE`)."""
    return any(part in error.message.lower() for part in answers)


def is_group(chat_id: str) -> bool:
    # Telegram's group and supergroup ids are negative; a private chat's id is the user's id.
    return chat_id.startswith("-")


def retry_after(error: RetryAfter) -> float:
    """The seconds Telegram asks to wait."""
    # v22 gives an int, or a timedelta once PTB_TIMEDELTA is set; reading it as an int warns.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: TelegramError, chat_id: str) -> DeliveryError:
    """Translate a python-telegram-bot error into the core's delivery errors."""
    where = "group-lost" if is_group(chat_id) else "blocked"
    text = f"telegram: {error.message}"
    if isinstance(error, RetryAfter):
        metrics.rate_limited("telegram")
        return TransientDeliveryError(text, retry_after=retry_after(error))
    if isinstance(error, Forbidden):
        # The bot was kicked from the group, or the person blocked the bot.
        return PermanentDeliveryError(text, reason=where)
    if isinstance(error, BadRequest):
        if says(error, GROUP_GONE):
            return PermanentDeliveryError(text, reason=where)
        return PermanentDeliveryError(text)
    if isinstance(error, InvalidToken):
        logger.error("Telegram refuses the bot token; check KLASBOT_TELEGRAM__TOKEN")
        return TransientDeliveryError(text)
    if isinstance(error, NetworkError):  # also TimedOut
        return TransientDeliveryError(text)
    return TransientDeliveryError(text)

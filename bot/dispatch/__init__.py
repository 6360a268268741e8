"""The outbox dispatcher (see `bot.dispatch.dispatcher`)."""

from bot.dispatch.dispatcher import Dispatcher
from bot.dispatch.retry import DispatchStats, RetryPolicy

__all__ = ["DispatchStats", "Dispatcher", "RetryPolicy"]

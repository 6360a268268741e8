"""What happened, counted: the core and the adapters call these hooks where an event happens, and
whoever runs the process decides what counting means (`klasbot run` with an HTTP port installs
the Prometheus counters of `adapters.http`; every other command counts nothing).

The hooks carry no personal data: a platform's, a channel's or a rule's name, a number of seconds.
What the database holds (the outbox's queue, deliveries by status) is read from the database when
it is asked for, not counted here: every process then reports the same truth.
"""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    """Where the hooks' events go. Each method is cheap, never raises and never blocks."""

    def rate_limited(self, platform: str) -> None:
        """A platform answered "too many requests" (Telegram's 429, Matrix's M_LIMIT_EXCEEDED)."""

    def retried(self, channel: str) -> None:
        """A delivery on `channel` failed for now and will be tried again later."""

    def refused(self, rule: str) -> None:
        """A request was refused (and audited) under `rule` (the protocol article, or the
        refusal's code when no article applies)."""

    def schedule_lag(self, seconds: float) -> None:
        """An occurrence of a schedule fired `seconds` after it came due."""


class NoMetrics:
    """Counts nothing: the default."""

    def rate_limited(self, platform: str) -> None:
        pass

    def retried(self, channel: str) -> None:
        pass

    def refused(self, rule: str) -> None:
        pass

    def schedule_lag(self, seconds: float) -> None:
        pass


_sink: list[Metrics] = [NoMetrics()]


def install(metrics: Metrics) -> Metrics:
    """Send every hook's events to `metrics` from now on; returns the one installed before."""
    previous = _sink[0]
    _sink[0] = metrics
    return previous


def rate_limited(platform: str) -> None:
    _sink[0].rate_limited(platform)


def retried(channel: str) -> None:
    _sink[0].retried(channel)


def refused(rule: str | None, code: str | None = None) -> None:
    _sink[0].refused(rule or code or "other")


def schedule_lag(seconds: float) -> None:
    _sink[0].schedule_lag(max(0.0, seconds))

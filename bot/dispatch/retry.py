"""The retry policy (transient errors back off exponentially with jitter and honour the peer's
retry-after) and the counts one dispatch round reports."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: float = 5.0
    max_delay: float = 3600.0
    max_attempts: int = 8
    jitter: float = 0.25

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempts + 1`; never sooner than the peer asked."""
        backoff = self.base_delay * (2 ** max(0, attempts - 1))
        backoff = min(self.max_delay, backoff * (1 + rng.uniform(-self.jitter, self.jitter)))
        return float(max(backoff, retry_after or 0.0))


@dataclass
class DispatchStats:
    sent: int = 0  # a pupil's copy of an announcement
    notices: int = 0  # codes, reports and warnings (by e-mail; letters are counted in `letters`)
    retried: int = 0
    rerouted: int = 0
    failed: int = 0
    held: int = 0
    letters: int = 0
    waiting: int = 0  # for a platform this process does not run
    by_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: DispatchStats) -> None:
        counts = ("sent", "notices", "retried", "rerouted", "failed", "held", "letters", "waiting")
        for name in counts:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.by_channel.items():
            self.by_channel[k] += v

"""Prometheus metrics: counters for what this process saw happen (`bot.metrics` hooks) and gauges
read from the database at scrape time.

The gauges come from the database, not from the process: with several workers on one database
every worker reports the same queue. The queue (pending and due) is read at every scrape through
the `(status, due_at)` index, with each pending row's announcement for when it came due. The
count of every delivery by channel and status reads the whole table (no index has both
columns): it is read at most once a minute (`COUNTS_TTL`). Nothing of a person is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot.domain import Channel, DeliveryStatus
from bot.outbox import DUE_AT_ONCE
from storage.models import AnnouncementRow, DeliveryRow
from storage.store import OUTSIDE_TRANSACTION, Database

logger = logging.getLogger(__name__)

LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
"""Seconds: a schedule fires within the dispatcher's poll interval, or late after a restart."""
COUNTS_TTL = 60.0
"""Seconds the count of deliveries by channel and status is reused between scrapes."""


class PrometheusMetrics:
    """`bot.metrics.Metrics` as Prometheus counters, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.rate_limits = Counter(
            "klasbot_rate_limited",
            "Rate-limit answers from a chat platform (HTTP 429, M_LIMIT_EXCEEDED).",
            ["platform"],
            registry=self.registry,
        )
        self.retries = Counter(
            "klasbot_delivery_retries",
            "Deliveries that failed for now and were put back in the outbox for a later try.",
            ["channel"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "klasbot_refusals",
            "Requests refused (and audited), by the protocol rule (or the refusal's code).",
            ["rule"],
            registry=self.registry,
        )
        self.lag = Histogram(
            "klasbot_schedule_lag_seconds",
            "Seconds between a scheduled occurrence's due time and its firing.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )

    def rate_limited(self, platform: str) -> None:
        self.rate_limits.labels(platform=platform).inc()

    def retried(self, channel: str) -> None:
        self.retries.labels(channel=channel).inc()

    def refused(self, rule: str) -> None:
        self.refusals.labels(rule=rule).inc()

    def schedule_lag(self, seconds: float) -> None:
        self.lag.observe(seconds)


@dataclass
class OutboxState:
    """The outbox as the database holds it at one instant."""

    by_channel_status: dict[tuple[str, str], int] = field(default_factory=dict)
    queue: dict[str, int] = field(default_factory=dict)  # pending and due, by channel
    oldest: dict[str, float] = field(default_factory=dict)  # seconds since the first came due


async def read_outbox(db: Database, now: datetime, *, counts: bool = True) -> OutboxState:
    """The queue at `now` and (with `counts`) every delivery by channel and status: GROUP BY
    queries on one connection, outside any transaction on SQLite (a read takes no write lock: a
    scrape never waits for, nor holds up, a dispatcher)."""
    state = OutboxState()
    async with db.engine.connect() as conn:
        await conn.execution_options(**{OUTSIDE_TRANSACTION: True})
        if counts:
            rows = await conn.execute(
                sa.select(DeliveryRow.status, DeliveryRow.channel, sa.func.count()).group_by(
                    DeliveryRow.status, DeliveryRow.channel
                )
            )
            for status, channel, count in rows:
                state.by_channel_status[(channel, status)] = count
        # A delivery due "at once" (`DUE_AT_ONCE`) came due when its announcement was made.
        came_due = sa.case(
            (DeliveryRow.due_at > DUE_AT_ONCE, DeliveryRow.due_at),
            else_=AnnouncementRow.created_at,
        )
        pending = await conn.execute(
            sa.select(DeliveryRow.channel, sa.func.count(), sa.func.min(came_due))
            .outerjoin(AnnouncementRow, AnnouncementRow.id == DeliveryRow.announcement_id)
            .where(
                DeliveryRow.status == DeliveryStatus.PENDING.value,
                DeliveryRow.due_at <= now,
                DeliveryRow.letter_key.is_(None),  # a printed letter waits for the office
            )
            .group_by(DeliveryRow.channel)
        )
        for channel, count, first_due in pending:
            state.queue[channel] = count
            if first_due is not None:
                state.oldest[channel] = max(0.0, (now - first_due).total_seconds())
    return state


class DatabaseCollector:
    """The gauges. `collect` is synchronous (the Prometheus client's contract) while the
    database is asynchronous: `refresh` reads the state before each exposition."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        platforms: Callable[[], Mapping[str, bool]],
        counts_ttl: float = COUNTS_TTL,
    ) -> None:
        self.db = db
        self.clock = clock
        self.platforms = platforms
        self.state: OutboxState | None = None
        self.counts_ttl = counts_ttl
        self._counted_at = 0.0

    async def refresh(self) -> None:
        counted = self.state.by_channel_status if self.state is not None else None
        fresh = counted is None or time.monotonic() - self._counted_at >= self.counts_ttl
        try:
            self.state = await read_outbox(self.db, self.clock(), counts=fresh)
            if fresh:
                self._counted_at = time.monotonic()
            elif counted is not None:
                self.state.by_channel_status = counted
        except Exception as exc:  # the database is down: say so, keep serving the counters
            logger.warning("metrics: the database cannot be read (%s)", type(exc).__name__)
            self.state = None

    def collect(self) -> Iterable[Metric]:
        yield from self._database()
        connected = GaugeMetricFamily(
            "klasbot_platform_connected",
            "Whether a configured chat platform is connected (1) or not (0).",
            labels=["platform"],
        )
        for name, up in sorted(self.platforms().items()):
            connected.add_metric([name], 1.0 if up else 0.0)
        yield connected

    def _database(self) -> Iterator[Metric]:
        state = self.state
        up = GaugeMetricFamily(
            "klasbot_database_up", "Whether the last scrape could read the database (1) or not (0)."
        )
        up.add_metric([], 0.0 if state is None else 1.0)
        yield up
        if state is None:
            return
        deliveries = GaugeMetricFamily(
            "klasbot_deliveries",
            "Deliveries in the outbox, by channel and status.",
            labels=["channel", "status"],
        )
        for (channel, status), count in sorted(state.by_channel_status.items()):
            deliveries.add_metric([channel, status], float(count))
        yield deliveries
        queue = GaugeMetricFamily(
            "klasbot_queue_depth",
            "Pending deliveries whose due time has come, by channel (letters printed and waiting"
            " for the office not counted).",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "klasbot_queue_oldest_age_seconds",
            "Seconds since the oldest pending delivery came due, by channel (0: none waits).",
            labels=["channel"],
        )
        channels = sorted({c.value for c in Channel} | set(state.queue))
        for channel in channels:
            queue.add_metric([channel], float(state.queue.get(channel, 0)))
            oldest.add_metric([channel], state.oldest.get(channel, 0.0))
        yield queue
        yield oldest


class Exposition:
    """What /metrics answers: the process's counters, the database's gauges and the standard
    process collectors (CPU, memory, file descriptors, garbage collection)."""

    def __init__(self, metrics: PrometheusMetrics, collector: DatabaseCollector) -> None:
        self.metrics = metrics
        self.collector = collector
        registry = metrics.registry
        registry.register(collector)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    async def render(self) -> bytes:
        await self.collector.refresh()
        return generate_latest(self.metrics.registry)

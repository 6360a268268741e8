"""The Prometheus side of `adapters.http`: the gauges read the outbox as the database holds it
(SQLite, and PostgreSQL when KLASBOT_TEST_POSTGRES_URL is set), and the core's hooks
(`bot.metrics`) count retries, refusals and schedule lag; /readyz's database check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from adapters.http.prometheus import DatabaseCollector, Exposition, PrometheusMetrics, read_outbox
from adapters.http.server import database_ready
from adapters.teams import errors as teams_errors
from bot import bootstrap, metrics
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, Kind
from bot.errors import RuleViolation, TransientDeliveryError
from bot.ports import MailMessage
from bot.usecases import announcing, firing, scheduling
from bot.usecases.scheduling import ScheduleRequest
from bot.when import parse_when
from storage.models import DeliveryRow
from storage.store import Database
from tests.support.smtp import free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def counted() -> Iterator[PrometheusMetrics]:
    counters = PrometheusMetrics()
    previous = metrics.install(counters)
    yield counters
    metrics.install(previous)


def homework(**kw: object) -> AnnouncementDraft:
    fields: dict[str, object] = {
        "class_id": "2B",
        "author_id": "t-devries",
        "kind": Kind.HOMEWORK,
        "date": date(2026, 11, 24),
        "subject": "wiskunde",
        "text": "Maak opgave 1 t/m 5.",
    }
    fields.update(kw)
    return AnnouncementDraft(**fields)  # type: ignore[arg-type]


async def exposition(app: bootstrap.App, counters: PrometheusMetrics | None = None) -> Samples:
    """What /metrics would answer now, parsed: {(sample name, labels): value}."""
    collector = DatabaseCollector(app.db, app.clock.now, lambda: {"console": True})
    text = (await Exposition(counters or PrometheusMetrics(), collector).render()).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def outbox_rows(app: bootstrap.App) -> list[sa.Row[Any]]:
    async with app.db.engine.connect() as conn:
        return list(await conn.execute(sa.select(DeliveryRow)))


async def test_the_gauges_are_the_outbox_as_the_database_holds_it(
    app: bootstrap.App, clock: FrozenClock
) -> None:
    made_at = clock.now()
    await announcing.announce(app.ctx, homework())
    await announcing.announce(
        app.ctx, homework(subject="aardrijkskunde", not_before=made_at + timedelta(days=1))
    )
    clock.advance(seconds=90)
    rows = await outbox_rows(app)
    by_status = Counter((r.channel, r.status) for r in rows)
    # The announcement for tomorrow is not due: only the first one's copies (and the notices
    # due at once) queue.
    due = Counter(
        r.channel
        for r in rows
        if r.status == "pending" and r.due_at <= clock.now() and r.letter_key is None
    )
    assert due["email"]  # the demo school's 2B: e-mails and letters, no group
    assert due["post"]

    samples = await exposition(app)

    assert value(samples, "klasbot_database_up") == 1.0
    assert value(samples, "klasbot_platform_connected", platform="console") == 1.0
    for (channel, status), count in by_status.items():
        assert value(samples, "klasbot_deliveries", channel=channel, status=status) == count
    for channel in ("group", "email", "post", "unreachable"):
        assert value(samples, "klasbot_queue_depth", channel=channel) == due[channel]
        age = value(samples, "klasbot_queue_oldest_age_seconds", channel=channel)
        # A copy due "at once" came due when its announcement was made.
        assert age == (pytest.approx(90.0) if due[channel] else 0.0)


async def test_a_letter_waiting_for_the_office_is_not_in_the_queue(
    app: bootstrap.App, clock: FrozenClock
) -> None:
    await announcing.announce(app.ctx, homework())
    await app.dispatcher.run_once()  # e-mails sent, letters printed (posted by the office)
    state = await read_outbox(app.db, clock.now())
    assert state.by_channel_status[("post", "pending")] > 0
    assert "post" not in state.queue
    assert "email" not in state.queue


async def test_the_counts_are_read_once_a_minute_the_queue_at_every_scrape(
    app: bootstrap.App,
) -> None:
    cached = DatabaseCollector(app.db, app.clock.now, dict)
    fresh = DatabaseCollector(app.db, app.clock.now, dict, counts_ttl=0.0)
    await cached.refresh()
    assert cached.state is not None
    before = dict(cached.state.by_channel_status)
    await announcing.announce(app.ctx, homework())
    await cached.refresh()
    await fresh.refresh()
    assert cached.state is not None
    assert fresh.state is not None
    assert cached.state.queue == fresh.state.queue
    assert cached.state.queue["email"] > 0
    assert cached.state.by_channel_status == before
    assert fresh.state.by_channel_status != before


class DownMailer:
    """A mail server that cannot be reached now: every batch fails for now."""

    async def send(
        self,
        messages: Sequence[MailMessage],
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> list[Exception | None]:
        raise TransientDeliveryError("connection refused")


async def test_retries_refusals_and_schedule_lag_are_counted(
    app: bootstrap.App, clock: FrozenClock, counted: PrometheusMetrics
) -> None:
    await announcing.announce(app.ctx, homework())
    rows = await outbox_rows(app)
    emails = sum(r.channel == "email" and r.due_at <= clock.now() for r in rows)  # and notices
    app.dispatcher.mailer = DownMailer()
    await app.dispatcher.run_once()
    # The retried e-mails wait for their next try: pending, but not due.
    waiting = await read_outbox(app.db, clock.now())
    assert "email" not in waiting.queue
    assert waiting.by_channel_status[("email", "pending")] == sum(
        r.channel == "email" for r in rows
    )
    with pytest.raises(RuleViolation):
        await announcing.announce(app.ctx, homework(author_id="p-2b-01"))  # a pupil: B.1
    tz = app.policy.timezone
    when = parse_when("elke maandag 08:00", now=clock.now(), tz=tz)
    await scheduling.add(app.ctx, ScheduleRequest("2B", "t-devries", when, "Neem je gymkleren mee"))
    # Next Monday 08:00 in Amsterdam, fired 90 s late.
    clock.at = datetime(2026, 11, 30, 8, 1, 30, tzinfo=tz).astimezone(UTC)
    assert (await firing.fire_due(app.ctx)).fired == 1

    samples = await exposition(app, counted)

    assert value(samples, "klasbot_delivery_retries_total", channel="email") == emails
    assert value(samples, "klasbot_refusals_total", rule="B.1") == 1.0
    assert value(samples, "klasbot_schedule_lag_seconds_count") == 1.0
    assert value(samples, "klasbot_schedule_lag_seconds_sum") == pytest.approx(90.0)
    assert value(samples, "klasbot_schedule_lag_seconds_bucket", le="60.0") == 0.0
    assert value(samples, "klasbot_schedule_lag_seconds_bucket", le="120.0") == 1.0


async def test_rate_limit_answers_are_counted_by_platform(counted: PrometheusMetrics) -> None:
    too_many = aiohttp.ClientResponseError(None, (), status=429)  # type: ignore[arg-type]
    assert isinstance(teams_errors.delivery_error(too_many), TransientDeliveryError)
    assert (
        counted.registry.get_sample_value("klasbot_rate_limited_total", {"platform": "teams"})
        == 1.0
    )


async def test_the_database_is_ready_when_it_answers(app: bootstrap.App) -> None:
    assert await database_ready(app.db)


async def test_a_database_that_refuses_is_not_ready(tmp_path: Path) -> None:
    refused = Database(f"postgresql+asyncpg://klasbot@127.0.0.1:{free_port()}/klasbot")
    missing = Database(f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}")
    try:
        assert not await database_ready(refused)
        assert not await database_ready(missing)
        assert not (tmp_path / "gone.db").exists()  # the check creates no empty database
    finally:
        await refused.dispose()
        await missing.dispose()

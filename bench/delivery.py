"""Benchmark: e-mail and the outbox.

1. E-mails per second from SmtpMailer to a local SMTP server (aiosmtpd, in a process of its own)
   with one connection reused for a batch, versus one connection per message.
2. Deliveries per second through the outbox: an announcement to one class of 10,000 pupils (16+,
   each with an own e-mail address, so every delivery is an e-mail) is written, then
   `Dispatcher.run_once()` sends it to that SMTP server, recording each accepted message at once.
   On SQLite, and on PostgreSQL when KLASBOT_TEST_POSTGRES_URL is set (a database is created and
   dropped for the run).

Prints figures only.

    KLASBOT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/delivery.py [--messages 2000] [--pupils 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.email.render import MailRenderer  # noqa: E402
from adapters.email.smtp import SmtpMailer  # noqa: E402
from adapters.oneroster.reader import read_roster  # noqa: E402
from bot import bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.domain import AnnouncementDraft, DeliveryStatus  # noqa: E402
from bot.notices import AnnouncementNotice  # noqa: E402
from bot.ports import MailMessage  # noqa: E402
from bot.usecases import announcing, queries  # noqa: E402
from bot.usecases import roster as roster_uc  # noqa: E402
from config.settings import load_settings  # noqa: E402
from tests.support.postgres import create_database, drop_database  # noqa: E402
from tests.support.rosters import big_class  # noqa: E402
from tests.support.smtp import free_port  # noqa: E402

POSTGRES_ENV = "KLASBOT_TEST_POSTGRES_URL"
# A Monday morning in Amsterdam: outside quiet hours.
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


@contextmanager
def smtp_server() -> Iterator[int]:
    """A recording SMTP server in a separate process (so it does not share our event loop or
    GIL); yields its port."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "tests.support.smtp", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != f"ready {port}":
                raise RuntimeError(f"the SMTP server did not start: {line!r}")
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=10)


# --- 1. SMTP: connection reuse -------------------------------------------------------------------


def mail(n: int) -> MailMessage:
    notice = AnnouncementNotice(
        announcement_id=n,
        class_code="6G",
        kind="reminder",
        kind_title="Herinnering",
        body="Neem morgen je gymspullen mee.",
        signature="— K. Smit, mentor 6G, Benchmark College",
        school_name="Benchmark College",
        pupil_name="Iris",
        pupil_full_name="Iris de Wit",
        recipient_name="Iris",
        audience="pupil",
        reason="no-group",
    )
    return MailMessage(
        to=(f"leerling{n:05d}@leerling.example",), notice=notice, message_id=f"<bench-{n}@klasbot>"
    )


def renderer() -> MailRenderer:
    return MailRenderer(
        school_name="Benchmark College", from_address="klasbot@bench.example", reply_to=None
    )


def render_rate(messages: int) -> float:
    """Messages per second that are only rendered (Jinja2 and MIME), the floor of any send."""
    batch, render = [mail(n) for n in range(messages)], renderer()
    started = time.perf_counter()
    for message in batch:
        render.render(message, date=NOW).as_bytes()
    return messages / (time.perf_counter() - started)


async def smtp_rate(port: int, messages: int, **options: object) -> tuple[float, int]:
    """(messages per second, connections opened) for one `send` of `messages` messages."""
    mailer = SmtpMailer(
        host="127.0.0.1",
        port=port,
        renderer=renderer(),
        clock=lambda: NOW,
        timeout=30,
        **options,  # type: ignore[arg-type]
    )
    batch = [mail(n) for n in range(messages)]
    started = time.perf_counter()
    results = await mailer.send(batch)
    elapsed = time.perf_counter() - started
    failed = sum(r is not None for r in results)
    if failed:
        raise RuntimeError(f"{failed} of {messages} messages were not accepted: {results[0]}")
    return messages / elapsed, mailer.connections_opened


# --- 2. the outbox --------------------------------------------------------------------------------


async def outbox_rate(database_url: str, roster: Path, work: Path, port: int) -> dict[str, float]:
    settings = load_settings(
        environ={
            "KLASBOT_DATABASE_URL": database_url,
            "KLASBOT_DATA_DIR": str(work / "data"),
            "KLASBOT_MAIL__OUTBOX_DIR": str(work / "outbox"),
            "KLASBOT_POST__LETTERS_DIR": str(work / "letters"),
            "KLASBOT_SCHOOL__NAME": "Benchmark College",
            "KLASBOT_MAIL__TRANSPORT": "smtp",
            "KLASBOT_MAIL__SMTP_HOST": "127.0.0.1",
            "KLASBOT_MAIL__SMTP_PORT": str(port),
        }
    )
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=FrozenClock(NOW)) as app:
        await roster_uc.import_roster(app.ctx, read_roster(roster))
        started = time.perf_counter()
        result = await announcing.announce(
            app.ctx,
            AnnouncementDraft("6B", "t-1", "reminder", text="Neem morgen je gymspullen mee."),
        )
        announced = time.perf_counter() - started
        pupils = result.counts["email"]
        started = time.perf_counter()
        stats = await app.dispatcher.run_once()
        dispatched = time.perf_counter() - started
        deliveries = await queries.deliveries(app.ctx, result.announcement.id)
    sent = sum(d.status == DeliveryStatus.SENT for d in deliveries)
    if stats.sent != pupils or sent != pupils:
        raise RuntimeError(f"{sent} of {pupils} deliveries sent")
    return {
        "pupils": pupils,
        "announce_s": announced,
        "dispatch_s": dispatched,
        "per_second": pupils / dispatched,
    }


# --- main -----------------------------------------------------------------------------------------


async def main(messages: int, pupils: int) -> None:
    print(f"SMTP: {messages} e-mails to a local aiosmtpd server (SmtpMailer)")
    print(f"  {'rendering only, no SMTP (for scale)':<42} {render_rate(messages):8.0f} e-mails/s")
    with smtp_server() as port:
        for label, options in (
            ("one connection per batch of 100 (default)", {}),
            (f"one connection for all {messages}", {"batch_size": messages}),
            ("one connection per message", {"reuse_connection": False}),
        ):
            rate, connections = await smtp_rate(port, messages, **options)
            print(f"  {label:<42} {rate:8.0f} e-mails/s  ({connections} connections)")

    print(f"\nOutbox: announce to one class of {pupils} pupils, then dispatch every e-mail")
    admin = os.environ.get(POSTGRES_ENV)
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-") as tmp:
        work = Path(tmp)
        roster = big_class(pupils, class_code="6B", domain="leerling.example").write(
            work / "roster"
        )
        with smtp_server() as port:
            targets = [("SQLite", f"sqlite+aiosqlite:///{work / 'sqlite' / 'klasbot.db'}", None)]
            if admin:
                name, url = await create_database(admin, "klasbot_bench")
                targets.append(("PostgreSQL", url, name))
            try:
                for label, url, _ in targets:
                    figures = await outbox_rate(url, roster, work / label, port)
                    print(
                        f"  {label:<11} announce (one outbox row per pupil) "
                        f"{figures['announce_s']:6.1f} s;  "
                        f"dispatch {figures['dispatch_s']:6.1f} s = "
                        f"{figures['per_second']:6.0f} deliveries/s"
                    )
            finally:
                for _, _, name in targets:
                    if name and admin:
                        await drop_database(admin, name)
        if not admin:
            print(
                f"  PostgreSQL  skipped: set {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--pupils", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.messages, args.pupils))

"""Benchmark: e-mail through the outbox, side by side with bare aiosmtplib.

An SMTP server (aiosmtpd, `tests.support.smtp`) runs in a process of its own on loopback. In the
same run:

- aiosmtplib alone sends N e-mails on one reused connection: each message built with the email
  package (text and HTML alternatives, as klasbot's are) and sent with `send_message`, the way
  a program using the library by itself would; the floor (the same bytes made before the clock
  starts, sent with `sendmail`) is shown with it, and the floor once more with klasbot's own
  messages (made by its renderer beforehand: longer texts, two to three times the bytes, more
  work for the server per message); with the CPU time this process spent per e-mail;
- klasbot announces to a class of N pupils (16+, each with an own address: every copy is an
  e-mail) and `Dispatcher.run_once()` sends every copy from the outbox, with its defaults
  (`mail.connections` = 4, accepted mails recorded in small batches); only the dispatch is
  timed (and, with one dispatcher, the CPU time of its process per e-mail). "doubled" is how
  its time grows from N/2 to N copies (two announcements, to a class of N/2 and to one of N).

On SQLite, and on PostgreSQL when KLASBOT_TEST_POSTGRES_URL is set (a database is created and
dropped for the run), there with one dispatcher and with two dispatcher processes sharing the
outbox (the time from their common start until both are done).

    KLASBOT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench --only outbox
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402

from adapters.email.render import MailRenderer  # noqa: E402
from adapters.oneroster.reader import read_roster  # noqa: E402
from bench.suite import Row  # noqa: E402
from bot import bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.domain import AnnouncementDraft, DeliveryStatus  # noqa: E402
from bot.notices import AnnouncementNotice  # noqa: E402
from bot.ports import MailMessage  # noqa: E402
from bot.rules import kinds  # noqa: E402
from bot.usecases import announcing, queries  # noqa: E402
from bot.usecases import roster as roster_uc  # noqa: E402
from config.settings import load_settings  # noqa: E402
from tests.support.postgres import create_database, drop_database  # noqa: E402
from tests.support.rosters import big_class  # noqa: E402
from tests.support.smtp import free_port  # noqa: E402

POSTGRES_ENV = "KLASBOT_TEST_POSTGRES_URL"
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)  # a Monday morning in Amsterdam: no quiet hours
TEXT = "Neem morgen je gymspullen mee."
GOAL = ">= 0.8x"


@contextmanager
def smtp_server() -> Iterator[int]:
    """A recording SMTP server in a separate process (not sharing our event loop or GIL);
    yields its port."""
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


# --- bare aiosmtplib ------------------------------------------------------------------------------


def bare_message(n: int) -> EmailMessage:
    """What a program using aiosmtplib alone sends: text and HTML, a stable Message-ID."""
    mime = EmailMessage(policy=email.policy.SMTP)
    mime["From"] = "Benchmark College <klasbot@bench.example>"
    mime["To"] = f"leerling{n:05d}@leerling.example"
    mime["Subject"] = "Herinnering – klas 6B – Benchmark College"
    mime["Date"] = email.utils.format_datetime(NOW)
    mime["Message-ID"] = f"<bare-{n}@bench.example>"
    body = f"Beste Voornaam{n},\n\nHerinnering – klas 6B\n\n{TEXT}\n\nBenchmark College\n"
    mime.set_content(body)
    mime.add_alternative(f"<html><body><p>{body}</p></body></html>", subtype="html")
    return mime


def klasbot_bytes(messages: int) -> list[bytes]:
    """About the bytes klasbot sends for the copies of the benchmark's announcement (its own
    renderer and templates; two to three times the size of `bare_message`'s)."""
    renderer = MailRenderer(
        school_name="Benchmark College", from_address="klasbot@bench.example", reply_to=None
    )
    out = []
    for n in range(messages):
        notice = AnnouncementNotice(
            announcement_id=1,
            class_code="6B",
            kind="reminder",
            kind_title=kinds.kind_title("reminder", "nl"),
            body=TEXT,
            signature="— K. Smit, mentor 6B",
            school_name="Benchmark College",
            pupil_name=f"Voornaam{n}",
            pupil_full_name=f"Voornaam{n} Achternaam{n}",
            recipient_name=f"Voornaam{n} Achternaam{n}",
            audience="pupil",
            reason="no-group",
        )
        message = MailMessage(
            to=(f"leerling{n:05d}@leerling.example",),
            notice=notice,
            message_id=f"<bench-{n}@klasbot>",
        )
        out.append(renderer.render_bytes(message, date=NOW))
    return out


async def bare_rate(
    port: int, messages: int, *, prebuilt: bool, made: list[bytes] | None = None
) -> tuple[float, float]:
    """(E-mails per second, CPU seconds of this process per e-mail) over one aiosmtplib
    connection: building each message as it goes (`send_message`), or the bytes made before the
    clock starts (`sendmail`, the floor: `bare_message`'s, or `made`)."""
    if prebuilt and made is None:
        made = [bare_message(n).as_bytes() for n in range(messages)]
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30, start_tls=False)
    cpu, started = time.process_time(), time.perf_counter()
    await smtp.connect()
    for n in range(messages):
        to = [f"leerling{n:05d}@leerling.example"]
        if made is not None:
            await smtp.sendmail("klasbot@bench.example", to, made[n])
        else:
            await smtp.send_message(bare_message(n), sender="klasbot@bench.example", recipients=to)
    await smtp.quit()
    seconds = time.perf_counter() - started
    return messages / seconds, (time.process_time() - cpu) / messages


# --- klasbot --------------------------------------------------------------------------------------


def write_roster(directory: Path, pupils: int) -> Path:
    """Class 6B of `pupils` pupils, and class 6A of the first half of them."""
    roster = big_class(pupils, class_code="6B", domain="leerling.example")
    roster.classes.append(("cls-6a", "6A"))
    roster.enrollments.append(("cls-6a", "t-1", "teacher", True))
    roster.enrollments += [("cls-6a", f"s-{n:05d}", "student", False) for n in range(pupils // 2)]
    return roster.write(directory)


def environ(database_url: str, work: Path, port: int) -> dict[str, str]:
    return {
        "KLASBOT_DATABASE_URL": database_url,
        "KLASBOT_DATA_DIR": str(work / "data"),
        "KLASBOT_MAIL__OUTBOX_DIR": str(work / "outbox"),
        "KLASBOT_POST__LETTERS_DIR": str(work / "letters"),
        "KLASBOT_SCHOOL__NAME": "Benchmark College",
        "KLASBOT_MAIL__TRANSPORT": "smtp",
        "KLASBOT_MAIL__SMTP_HOST": "127.0.0.1",
        "KLASBOT_MAIL__SMTP_PORT": str(port),
    }


async def _dispatch(env: dict[str, str]) -> int:
    async with bootstrap.build(load_settings(environ=env), clock=FrozenClock(NOW)) as app:
        stats = await app.dispatcher.run_once()
    return stats.sent


def _worker(env: dict[str, str], barrier: Any, out: Any) -> None:
    """A dispatcher process: built, then started with the others at once."""
    logging.basicConfig(level=logging.ERROR)

    async def run() -> None:
        async with bootstrap.build(load_settings(environ=env), clock=FrozenClock(NOW)) as app:
            await asyncio.to_thread(barrier.wait)
            started = time.time()
            stats = await app.dispatcher.run_once()
            out.put((started, time.time(), stats.sent))

    asyncio.run(run())


def dispatch_in_processes(env: dict[str, str], workers: int) -> tuple[float, int]:
    """(seconds from the common start until every worker is done, copies sent)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(env, barrier, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return max(r[1] for r in results) - min(r[0] for r in results), sum(r[2] for r in results)


async def outbox_seconds(
    env: dict[str, str], roster: Path, *, workers: int = 1
) -> dict[str, float]:
    """Dispatch seconds for class 6A (N/2 copies), then for class 6B (N copies)."""
    settings = load_settings(environ=env)
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=FrozenClock(NOW)) as app:
        await roster_uc.import_roster(app.ctx, read_roster(roster))
    out: dict[str, float] = {}
    for class_code in ("6A", "6B"):
        async with bootstrap.build(settings, clock=FrozenClock(NOW)) as app:
            result = await announcing.announce(
                app.ctx, AnnouncementDraft(class_code, "t-1", "reminder", text=TEXT)
            )
        copies = result.counts["email"]
        if workers == 1:
            cpu, started = time.process_time(), time.perf_counter()
            sent = await _dispatch(env)
            seconds = time.perf_counter() - started
            out["cpu"] = (time.process_time() - cpu) / copies
        else:
            seconds, sent = await asyncio.to_thread(dispatch_in_processes, env, workers)
        async with bootstrap.build(settings, clock=FrozenClock(NOW)) as app:
            rows = await queries.deliveries(app.ctx, result.announcement.id)
        done = sum(d.status == DeliveryStatus.SENT for d in rows)
        if sent != copies or done != copies:
            raise RuntimeError(f"{class_code}: {done} of {copies} copies sent ({sent} counted)")
        out[class_code] = seconds
        out["copies"] = copies
    return out


# --- the table ------------------------------------------------------------------------------------


async def _measure(quick: bool) -> list[Row]:
    n = 100 if quick else 2000
    rows: list[Row] = []
    admin = os.environ.get(POSTGRES_ENV)
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-") as tmp, smtp_server() as port:
        work = Path(tmp)
        roster = write_roster(work / "roster", n)
        bare, _ = await bare_rate(port, n, prebuilt=False)
        floor, floor_cpu = await bare_rate(port, n, prebuilt=True)
        # The floor again with klasbot's own (larger) messages: what the server's work per
        # message leaves at best for any sender of them.
        own, own_cpu = await bare_rate(port, n, prebuilt=True, made=klasbot_bytes(n))
        library = (
            f"aiosmtplib, 1 connection: {bare:.0f}/s (bytes made beforehand: {floor:.0f}/s, "
            f"{floor_cpu * 1e3:.2f} ms CPU/mail; klasbot's bytes: {own:.0f}/s, "
            f"{own_cpu * 1e3:.2f} ms CPU/mail)"
        )

        def row(label: str, figures: dict[str, float]) -> Row:
            rate = figures["copies"] / figures["6B"]
            cpu = f", {figures['cpu'] * 1e3:.2f} ms CPU/mail" if "cpu" in figures else ""
            return Row(
                work=f"outbox e-mail, {n} copies, {label}",
                library=library,
                klasbot=f"{rate:.0f}/s ({figures['6B']:.2f} s{cpu})",
                ratio=(
                    f"{rate / bare:.2f}x ({rate / floor:.2f}x of the floor, "
                    f"{rate / own:.2f}x of the floor with klasbot's bytes)"
                ),
                goal=GOAL,
                doubled=f"x{figures['6B'] / figures['6A']:.2f}",
            )

        sqlite = f"sqlite+aiosqlite:///{work / 'sqlite' / 'klasbot.db'}"
        (work / "sqlite").mkdir()
        rows.append(row("SQLite", await outbox_seconds(environ(sqlite, work / "s", port), roster)))
        if admin:
            for workers in (1, 2):
                name, url = await create_database(admin, "klasbot_bench")
                try:
                    figures = await outbox_seconds(
                        environ(url, work / f"pg{workers}", port), roster, workers=workers
                    )
                finally:
                    await drop_database(admin, name)
                label = "PostgreSQL, " + ("1 dispatcher" if workers == 1 else "2 processes")
                rows.append(row(label, figures))
        else:
            rows.append(
                Row(
                    work=f"outbox e-mail, {n} copies, PostgreSQL",
                    library="",
                    klasbot=f"skipped: {POSTGRES_ENV} not set",
                    ratio="",
                    goal=GOAL,
                )
            )
    return rows


def measure(quick: bool = False) -> list[Row]:
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    for r in measure("--quick" in sys.argv):
        print(r)

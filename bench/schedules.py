"""Benchmark: 10,000 scheduled reminders (`bot.usecases.scheduling`, `bot.dispatch.loop`).

1. Load: 10,000 schedules over 20 classes (weekly, every weekday, daily, every other week and
   one-offs; `schedule.max_per_class` raised to 1000) into a fresh database: a sample through
   `scheduling.add` (every rule checked), the rest straight through the repository.
2. Cold start, in a fresh process: building the app, `next_due` (what the timer of `klasbot run`
   is set to), the first `fire_due` with nothing due, and `Runner.round()` twice (the first
   includes the day's sweep); resident memory after the imports and after all that.
3. A burst: the clock runs from Monday 08:00:00, when 1,000 weekly reminders come due at once;
   `fire_due` turns each into an announcement (with its outbox rows). The lag of each is the
   announcement's `created_at` minus 08:00:00 (median, 99th percentile, the last).
4. The bare library: APScheduler 3's `AsyncIOScheduler` holding the same 10,000 moments as
   `CronTrigger` jobs in its memory job store, in a fresh process: start-up (start and add every
   job), its next run time, and resident memory; then the ratio klasbot / APScheduler.

On SQLite, and on PostgreSQL when KLASBOT_TEST_POSTGRES_URL is set (a database is created and
dropped for the run). Prints figures only: about a minute on SQLite, two with PostgreSQL too.
Not a test: timings belong here, never in a timed unit test. In the suite's table (`python -m
bench --only schedules`, `measure`): the cold start against APScheduler and the burst's lag, at
10,000 schedules and, for "doubled", 5,000 (the same 1,000 due).

    KLASBOT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/schedules.py [--schedules 10000] [--due 1000] [--classes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.suite import Row  # noqa: E402

POSTGRES_ENV = "KLASBOT_TEST_POSTGRES_URL"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CREATED = datetime(2026, 11, 22, 21, 0, tzinfo=AMSTERDAM)
"""Sunday evening: every daily and weekday moment below first falls on Monday after 08:00."""
BURST = datetime(2026, 11, 23, 8, 0, tzinfo=AMSTERDAM)
"""Monday 08:00: the weekly reminders come due, nothing else."""
BEFORE = datetime(2026, 11, 23, 7, 30, tzinfo=AMSTERDAM)
"""The cold start's clock: after the morning sweep time, before anything is due."""
YEAR_END = date(2027, 7, 31)
PUPILS = 15
USE_CASE_SAMPLE = 100
TEXTS = (
    "Neem je gymkleren mee",
    "Vergeet je atlas niet",
    "Lever je leesverslag in",
    "Neem je rekenmachine mee",
)
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag")
CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def rss_mb() -> float:
    """The process's resident memory now (Linux), else its peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


# --- the schedules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One schedule to load: its class (index), moment as a mentor writes it, and text."""

    klas: int
    when: str
    text: str


def specs(total: int, due: int, classes: int) -> Iterator[Spec]:
    """`due` weekly reminders at Monday 08:00 first, then a mix that is never due before
    Monday 08:05: every weekday, daily, weekly on another day, every other Friday, one-offs."""
    for n in range(total):
        text = TEXTS[n % len(TEXTS)]
        klas = n % classes
        if n < due:
            yield Spec(klas, "elke maandag 08:00", text)
            continue
        minutes = 8 * 60 + 5 + (n * 7) % (9 * 60)  # 08:05 … 17:00
        clock = f"{minutes // 60:02d}:{minutes % 60:02d}"
        match n % 5:
            case 0:
                yield Spec(klas, f"elke werkdag {clock}", text)
            case 1:
                yield Spec(klas, f"elke dag {clock}", text)
            case 2:
                yield Spec(klas, f"elke {WEEKDAYS[1 + n % 4]} {clock}", text)
            case 3:
                yield Spec(klas, f"om de week op vrijdag {clock}", text)
            case _:
                yield Spec(klas, f"2026-12-{1 + n % 28:02d} {clock}", text)


def school(classes: int) -> Any:
    from tests.support.rosters import Roster, User

    r = Roster(
        school=("org-bench", "Het Benchmark College"),
        classes=[(f"cls-{k}", f"K{k:02d}") for k in range(classes)],
    )
    for k in range(classes):
        r.users.append(User(f"t-{k}", "teacher", f"Docent{k}", "Smit", email=f"t{k}@bench.example"))
        r.enrollments.append((f"cls-{k}", f"t-{k}", "teacher", True))
        for p in range(PUPILS):
            pid = f"s-{k}-{p}"
            r.users.append(
                User(
                    pid,
                    "student",
                    f"Voornaam{k}x{p}",
                    f"Achternaam{k}x{p}",
                    birth="2009-05-01",
                    email=f"leerling{k}x{p}@leerling.example",
                )
            )
            r.enrollments.append((f"cls-{k}", pid, "student", False))
    return r


def settings_for(database_url: str, work: Path) -> Any:
    from config.settings import load_settings
    from tests.support.environ import local_environ

    return load_settings(
        environ=local_environ(
            work,
            database_url,
            KLASBOT_SCHOOL__NAME="Het Benchmark College",
            KLASBOT_SCHEDULE__MAX_PER_CLASS="1000",
        )
    )


async def load(
    database_url: str,
    work: Path,
    total: int,
    due: int,
    classes: int,
    use_case_sample: int = USE_CASE_SAMPLE,
) -> dict[str, Any]:
    """A fresh, migrated database with the school and `total` schedules."""
    from adapters.oneroster.reader import read_roster
    from bot import bootstrap
    from bot.clock import FrozenClock
    from bot.domain import Kind, Schedule
    from bot.recurrence import occurrences
    from bot.usecases import roster as roster_uc
    from bot.usecases import scheduling
    from bot.when import parse_when

    settings = settings_for(database_url, work)
    await bootstrap.migrate(settings)
    all_specs = list(specs(total, due, classes))
    sample = all_specs[due : due + use_case_sample]
    bulk = all_specs[:due] + all_specs[due + use_case_sample :]
    async with bootstrap.build(settings, clock=FrozenClock(CREATED)) as app:
        roster_dir = school(classes).write(work / "roster")
        await roster_uc.import_roster(app.ctx, read_roster(roster_dir))

        started = time.perf_counter()
        for spec in sample:
            when = parse_when(spec.when, now=CREATED, tz=AMSTERDAM)
            request = scheduling.ScheduleRequest(
                f"K{spec.klas:02d}", f"t-{spec.klas}", when, spec.text
            )
            await scheduling.add(app.ctx, request)
        per_add = (time.perf_counter() - started) / max(1, len(sample))

        started = time.perf_counter()
        batch = 1000
        for first in range(0, len(bulk), batch):
            async with app.db.transaction() as tx:
                for spec in bulk[first : first + batch]:
                    when = parse_when(spec.when, now=CREATED, tz=AMSTERDAM)
                    until = YEAR_END if when.recurring else None
                    [nxt] = occurrences(
                        when.rule, when.start, AMSTERDAM, after=CREATED, until=until, limit=1
                    )
                    await tx.schedules.add(
                        Schedule(
                            id=0,
                            class_id=f"cls-{spec.klas}",
                            author_id=f"t-{spec.klas}",
                            kind=Kind.REMINDER,
                            text=spec.text,
                            when=when.text,
                            rule=when.rule,
                            start=when.start,
                            timezone=AMSTERDAM.key,
                            created_at=CREATED,
                            until=until,
                            next_run=nxt.at.astimezone(UTC),
                        )
                    )
        bulk_s = time.perf_counter() - started
        async with app.db.transaction() as tx:
            stored = len(await tx.schedules.list(active_only=True))
    return {"stored": stored, "per_add_s": per_add, "bulk_s": bulk_s, "bulk": len(bulk)}


# --- in a fresh process: klasbot's cold start and burst ------------------------------------------


class StartableClock:
    """Stands at an instant until `go()`, then runs on in real time (as `KLASBOT_NOW` does from
    the start of a process): the burst's clock starts when firing starts."""

    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)
        self.origin: float | None = None

    def go(self) -> None:
        self.origin = time.monotonic()

    def now(self) -> datetime:
        if self.origin is None:
            return self.at
        return self.at + timedelta(seconds=time.monotonic() - self.origin)


async def child_klasbot(database_url: str, work: Path, due: int) -> dict[str, Any]:
    from bot import bootstrap
    from bot.dispatch.loop import Runner
    from bot.usecases import firing

    baseline = rss_mb()
    figures: dict[str, Any] = {"rss_imports_mb": baseline}
    settings = settings_for(database_url, work)
    clock = StartableClock(BEFORE)
    started = time.perf_counter()
    async with bootstrap.build(settings, clock=clock) as app:
        figures["build_s"] = time.perf_counter() - started
        t = time.perf_counter()
        nxt = await firing.next_due(app.ctx)
        figures["next_due_s"] = time.perf_counter() - t
        assert nxt == BURST.astimezone(UTC), nxt
        t = time.perf_counter()
        stats = await firing.fire_due(app.ctx)
        figures["first_fire_due_s"] = time.perf_counter() - t
        assert stats.total == 0, stats
        figures["cold_s"] = time.perf_counter() - started
        runner = Runner(app.ctx, app.dispatcher)
        t = time.perf_counter()
        await runner.round()
        figures["first_round_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await runner.round()
        figures["second_round_s"] = time.perf_counter() - t
        figures["rss_started_mb"] = rss_mb()

        # The burst: `due` weekly reminders at 08:00:00, fired by a clock that runs from then.
        clock.at = BURST.astimezone(UTC)
        clock.go()
        t = time.perf_counter()
        fired = await firing.fire_due(app.ctx)
        figures["burst_s"] = time.perf_counter() - t
        assert fired.fired == due, fired
        async with app.db.transaction() as tx:
            made = [a for a in await tx.announcements.list() if a.schedule_id is not None]
        lags = sorted((a.created_at - BURST).total_seconds() for a in made)
        figures["lags"] = lags
        figures["rss_burst_mb"] = rss_mb()
    return figures


# --- in a fresh process: bare APScheduler 3 ----------------------------------------------------


def cron_trigger(spec: Spec) -> Any:
    """The same moment as an APScheduler `CronTrigger` (every other week as odd ISO weeks)."""
    from apscheduler.triggers.cron import CronTrigger

    words = spec.when.split()
    hour, minute = (int(x) for x in words[-1].split(":"))
    common = {"hour": hour, "minute": minute, "timezone": AMSTERDAM}
    if words[0] == "elke" and words[1] == "werkdag":
        return CronTrigger(day_of_week="mon-fri", end_date=YEAR_END, **common)
    if words[0] == "elke" and words[1] == "dag":
        return CronTrigger(end_date=YEAR_END, **common)
    if words[0] == "elke":
        day = CRON_DAYS[WEEKDAYS.index(words[1])]
        return CronTrigger(day_of_week=day, end_date=YEAR_END, **common)
    if words[0] == "om":
        return CronTrigger(day_of_week="fri", week="*/2", end_date=YEAR_END, **common)
    year, month, day_of_month = (int(x) for x in words[0].split("-"))
    return CronTrigger(year=year, month=month, day=day_of_month, **common)


def remind(class_id: str, text: str) -> None:
    """The job APScheduler would run (never called here)."""


async def child_apscheduler(total: int, due: int, classes: int) -> dict[str, Any]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    all_specs = list(specs(total, due, classes))
    baseline = rss_mb()
    started = time.perf_counter()
    scheduler = AsyncIOScheduler(timezone=AMSTERDAM)
    scheduler.start(paused=True)
    for n, spec in enumerate(all_specs):
        scheduler.add_job(
            remind,
            cron_trigger(spec),
            args=(f"cls-{spec.klas}", spec.text),
            id=str(n),
            misfire_grace_time=3600,
        )
    startup = time.perf_counter() - started
    t = time.perf_counter()
    nxt = min(job.next_run_time for job in scheduler.get_jobs())
    next_s = time.perf_counter() - t
    figures = {
        "rss_imports_mb": baseline,
        "startup_s": startup,
        "next_s": next_s,
        "next": nxt.isoformat(),
        "rss_started_mb": rss_mb(),
        "jobs": len(scheduler.get_jobs()),
    }
    scheduler.shutdown(wait=False)
    return figures


def in_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{proc.stderr}")
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


# --- main --------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def run_target(
    label: str, url: str, work: Path, total: int, due: int, classes: int, bare: dict[str, Any]
) -> None:
    t = time.perf_counter()
    loaded = await load(url, work, total, due, classes)
    print(
        f"\n{label}: {loaded['stored']} schedules over {classes} classes loaded in "
        f"{time.perf_counter() - t:.1f} s ({USE_CASE_SAMPLE} through scheduling.add, "
        f"{loaded['per_add_s'] * 1000:.1f} ms each; {loaded['bulk']} through the repository, "
        f"{loaded['bulk_s']:.1f} s)"
    )
    k = in_child("klasbot", url, str(work), str(due))
    print(
        f"  cold start       build {k['build_s'] * 1000:6.0f} ms, next_due "
        f"{k['next_due_s'] * 1000:6.1f} ms, fire_due (nothing due) "
        f"{k['first_fire_due_s'] * 1000:6.1f} ms = {k['cold_s'] * 1000:6.0f} ms"
    )
    print(
        f"  Runner.round     first {k['first_round_s'] * 1000:6.0f} ms (with the day's sweep), "
        f"second {k['second_round_s'] * 1000:6.0f} ms"
    )
    print(
        f"  memory (RSS)     {k['rss_imports_mb']:6.1f} MB after imports, "
        f"{k['rss_started_mb']:6.1f} MB after start-up "
        f"(+{k['rss_started_mb'] - k['rss_imports_mb']:.1f}), "
        f"{k['rss_burst_mb']:6.1f} MB after the burst"
    )
    lags = k["lags"]
    print(
        f"  burst of {len(lags)}     fired in {k['burst_s']:5.1f} s "
        f"({len(lags) / k['burst_s']:5.0f}/s); lag due → announcement written: median "
        f"{statistics.median(lags):5.2f} s, p99 {pct(lags, 0.99):5.2f} s, last {lags[-1]:5.2f} s"
    )
    bare_mem = bare["rss_started_mb"] - bare["rss_imports_mb"]
    ours_mem = k["rss_started_mb"] - k["rss_imports_mb"]
    print(
        f"  vs APScheduler   start-up {k['cold_s'] / bare['startup_s']:5.2f}x "
        f"({k['cold_s'] * 1000:.0f} / {bare['startup_s'] * 1000:.0f} ms); memory added by "
        f"start-up {ours_mem / bare_mem if bare_mem > 0 else float('nan'):5.2f}x "
        f"({ours_mem:.1f} / {bare_mem:.1f} MB); whole process "
        f"{k['rss_started_mb'] / bare['rss_started_mb']:5.2f}x "
        f"({k['rss_started_mb']:.0f} / {bare['rss_started_mb']:.0f} MB, klasbot's imports "
        "included)"
    )


async def main(total: int, due: int, classes: int) -> None:
    print(
        f"{total} schedules, {due} of them weekly at Monday 08:00; the first run of the process "
        "is its cold start"
    )
    bare = in_child("apscheduler", str(total), str(due), str(classes))
    print(
        f"\nAPScheduler 3 AsyncIOScheduler, {bare['jobs']} CronTrigger jobs in memory: "
        f"start-up {bare['startup_s'] * 1000:.0f} ms, next run time "
        f"{bare['next_s'] * 1000:.1f} ms ({bare['next']}, on the real clock), "
        f"RSS {bare['rss_imports_mb']:.1f} MB after imports, "
        f"{bare['rss_started_mb']:.1f} MB with the jobs "
        f"(+{bare['rss_started_mb'] - bare['rss_imports_mb']:.1f})"
    )
    admin = os.environ.get(POSTGRES_ENV)
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-") as tmp:
        work = Path(tmp)
        await run_target(
            "SQLite",
            f"sqlite+aiosqlite:///{work / 'sqlite' / 'klasbot.db'}",
            work / "sqlite",
            total,
            due,
            classes,
            bare,
        )
        if admin:
            from tests.support.postgres import create_database, drop_database

            name, url = await create_database(admin, "klasbot_bench")
            try:
                await run_target("PostgreSQL", url, work / "pg", total, due, classes, bare)
            finally:
                await drop_database(admin, name)
        else:
            print(
                f"\nPostgreSQL skipped: set {POSTGRES_ENV} "
                "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)"
            )


# --- the suite's rows (`python -m bench`) ------------------------------------------------------


async def figures_for(
    url: str, work: Path, total: int, due: int, classes: int, sample: int
) -> dict[str, Any]:
    """A fresh database of `total` schedules, then klasbot's cold start and burst in a fresh
    process."""
    await load(url, work, total, due, classes, sample)
    return in_child("klasbot", url, str(work), str(due))


def added_mb(figures: dict[str, Any]) -> float:
    return float(figures["rss_started_mb"] - figures["rss_imports_mb"])


async def measure_async(quick: bool) -> list[Row]:
    classes = 20
    total, due, sample = (200, 20, 20) if quick else (10_000, 1000, USE_CASE_SAMPLE)
    # "doubled": the same burst among half the schedules, then all of them (not in a quick run).
    sizes = [total] if quick else [total // 2, total]
    bare = {n: in_child("apscheduler", str(n), str(due), str(classes)) for n in sizes}
    admin = None if quick else os.environ.get(POSTGRES_ENV)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-") as tmp:
        work = Path(tmp)
        for label in ["SQLite", *(["PostgreSQL"] if admin else [])]:
            ours: dict[int, dict[str, Any]] = {}
            for n in sizes:
                directory = work / f"{label}-{n}"
                if admin is None or label == "SQLite":
                    url = f"sqlite+aiosqlite:///{directory / 'klasbot.db'}"
                    ours[n] = await figures_for(url, directory, n, due, classes, sample)
                    continue
                from tests.support.postgres import create_database, drop_database

                name, url = await create_database(admin, "klasbot_bench")
                try:
                    ours[n] = await figures_for(url, directory, n, due, classes, sample)
                finally:
                    await drop_database(admin, name)
            k, b = ours[total], bare[total]
            memory = added_mb(k) / added_mb(b) if added_mb(b) > 0 else float("nan")
            rows.append(
                Row(
                    work=f"cold start of `klasbot run` with {total:,} schedules, {label}",
                    library=(
                        f"APScheduler 3, {total:,} CronTrigger jobs in memory: "
                        f"{b['startup_s'] * 1000:.0f} ms, +{added_mb(b):.1f} MB"
                    ),
                    klasbot=(
                        f"build, next_due, first fire_due: {k['cold_s'] * 1000:.0f} ms, "
                        f"+{added_mb(k):.1f} MB"
                    ),
                    ratio=f"{k['cold_s'] / b['startup_s']:.2f}x time, {memory:.2f}x memory",
                    doubled=(
                        f"x{k['cold_s'] / ours[sizes[0]]['cold_s']:.2f}" if len(sizes) > 1 else ""
                    ),
                )
            )
            lags = k["lags"]
            last = {n: ours[n]["lags"][-1] for n in sizes}
            rows.append(
                Row(
                    work=(
                        f"schedule lag: {due:,} reminders due at once among {total:,} "
                        f"schedules, due time to announcement written, {label}"
                    ),
                    library="",
                    klasbot=(
                        f"median {statistics.median(lags):.2f} s, p99 {pct(lags, 0.99):.2f} s, "
                        f"last {lags[-1]:.2f} s ({len(lags) / k['burst_s']:.0f}/s)"
                    ),
                    ratio="",
                    doubled=f"x{last[total] / last[sizes[0]]:.2f}" if len(sizes) > 1 else "",
                )
            )
    return rows


def measure(quick: bool = False) -> list[Row]:
    """The suite's rows: klasbot's cold start against APScheduler holding the same schedules,
    and the lag of a burst, at 10,000 schedules (quick: 200) and, for "doubled", half that."""
    return asyncio.run(measure_async(quick))


def child(args: list[str]) -> None:
    logging.basicConfig(level=logging.ERROR)
    if args[0] == "klasbot":
        figures = asyncio.run(child_klasbot(args[1], Path(args[2]), int(args[3])))
    else:
        figures = asyncio.run(child_apscheduler(int(args[1]), int(args[2]), int(args[3])))
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        sys.exit(0)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    args = parser.parse_args()
    if args.schedules > args.classes * 1000:
        parser.error("at most 1000 schedules per class (schedule.max_per_class)")
    if not 0 < args.due <= args.schedules - USE_CASE_SAMPLE:
        parser.error(f"--due must be between 1 and --schedules minus {USE_CASE_SAMPLE}")
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.schedules, args.due, args.classes))

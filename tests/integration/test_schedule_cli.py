"""Mentors' scheduled reminders through real processes (issue 11).

Every command is a new `klasbot` process, so every step is a restart: the schedule lives in the
database, not in a process. `KLASBOT_NOW` is the instant a command runs at (its clock starts
there and runs on, so times are compared to the minute).

- A weekly reminder made in chat (`/herinnering` in `klasbot demo --script`) fires at 08:00
  local time once a week across both daylight-saving switches, never in a holiday week.
- An occurrence missed while nothing ran fires late within the grace period, is skipped after
  it (its author is told by e-mail), and `KLASBOT_SCHEDULE__GRACE` moves that limit.
- `schedule remove` stops it; bad input is one line on standard error.
- Several processes on one database fire an occurrence once: two `klasbot run` (the firer lease,
  taken over when its holder is killed) and a cron `dispatch --once` beside a running bot.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES_ENV
from tests.support.postgres import create_database, drop_database
from tests.support.processes import (
    KLASBOT,
    demo_school,
    klasbot,
    process_env,
    run_klasbot,
    start_bot,
)

T = TypeVar("T")

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TEXT = "Neem je gymkleren mee"
MENTOR_MAIL = "j.devries@passie-utrecht.example"
"""t-devries, mentor of 2B in the demo school."""
_FIRED = re.compile(r"gepland\w*\s+bericht\w*:\D*(\d+)\D+(\d+)\D+(\d+)", re.IGNORECASE)
"""The line `dispatch --once` prints when occurrences came due: `geplande berichten: verstuurd 1,
gemist 0, geweigerd 0` (fired, missed, refused)."""


def local(text: str) -> datetime:
    """`2027-03-22 08:00` as an aware instant in school time."""
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM)


def minute_of(iso: str) -> tuple[str, str]:
    """An ISO 8601 instant as (`YYYY-MM-DD HH:MM`, `+HH:MM`): to the minute, with its offset."""
    instant = datetime.fromisoformat(iso)
    offset = instant.strftime("%z")
    return instant.strftime("%Y-%m-%d %H:%M"), f"{offset[:3]}:{offset[3:]}"


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line a refusal prints on standard error (and a non-zero exit, no traceback)."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- stepping through time, one process per step ------------------------------------------------


class Steps:
    """One klasbot database stepped through time: each command is a new process started with
    `KLASBOT_NOW` at the instant given (school time)."""

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        self.tmp = tmp_path
        self.env = process_env(tmp_path, **settings)

    def __call__(self, now: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "KLASBOT_NOW": local(now).isoformat()}
        return run_klasbot(env, *args, cwd=self.tmp, ok=ok)

    def json(self, now: str, *args: str) -> Any:
        return json.loads(self(now, *args, "--json").stdout)

    def school(self, now: str) -> None:
        demo_school({**self.env, "KLASBOT_NOW": local(now).isoformat()}, self.tmp)

    def dispatch(self, now: str) -> tuple[int, int]:
        """`dispatch --once` at `now`: (fired, missed) as its summary line says; (0, 0) when it
        prints none (nothing came due)."""
        proc = self(now, "dispatch", "--once")
        found = _FIRED.search(proc.stderr)
        return (int(found[1]), int(found[2])) if found else (0, 0)

    def fired(self, now: str, schedule_id: int) -> list[dict[str, Any]]:
        """The announcements schedule `schedule_id` made, from `announcements --json`."""
        return [a for a in self.json(now, "announcements") if a["schedule"] == schedule_id]

    def mails(self) -> list[Any]:
        """Every e-mail in the file outbox, parsed."""
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((self.tmp / "outbox").glob("*.eml"))
        ]

    def schedule_mails(self) -> list[Any]:
        """The e-mails telling an author that an occurrence did not go out."""
        return [m for m in self.mails() if str(m["Message-ID"]).startswith("<schedule-")]


# --- 1. a weekly reminder across the daylight-saving switches ------------------------------------


@dataclass(frozen=True)
class Season:
    created: str
    """When the mentor types the reminder in chat."""
    holidays: str
    mondays: tuple[tuple[str, str | None], ...]
    """Each Monday stepped through, with the offset its 08:00 has (None: a holiday week)."""


MARCH = Season(
    created="2027-03-15 10:00",
    holidays="2027-04-03/2027-04-11 Voorjaarsvakantie",
    mondays=(
        ("2027-03-22", "+01:00"),  # the week before summer time (28 March)
        ("2027-03-29", "+02:00"),  # the week after
        ("2027-04-05", None),  # spring holiday
        ("2027-04-12", "+02:00"),
    ),
)
OCTOBER = Season(
    created="2026-10-14 10:00",
    holidays="2026-10-31/2026-11-08 Herfstvakantie",
    mondays=(
        ("2026-10-19", "+02:00"),  # the week before winter time (25 October)
        ("2026-10-26", "+01:00"),  # the week after
        ("2026-11-02", None),  # autumn holiday
        ("2026-11-09", "+01:00"),
    ),
)


@pytest.mark.parametrize("season", [MARCH, OCTOBER], ids=["march", "october"])
def test_a_weekly_reminder_made_in_chat_fires_at_08_00_across_the_switch(
    tmp_path: Path, season: Season
) -> None:
    steps = Steps(tmp_path, KLASBOT_SCHOOL__HOLIDAYS=season.holidays)
    steps.school(season.created)
    script = tmp_path / "herinnering.txt"
    script.write_text(
        f":koppel t-devries\nt-devries: /herinnering 2B elke maandag 08:00 {TEXT}\n",
        encoding="utf-8",
    )
    transcript = steps(season.created, "demo", "--script", str(script)).stdout
    assert "Gepland" in transcript, transcript

    [schedule] = steps.json(season.created, "schedule", "list")
    assert (schedule["class"], schedule["author"], schedule["text"]) == ("2B", "t-devries", TEXT)
    assert schedule["when"] == "elke maandag 08:00"
    assert "WEEKLY" in schedule["rule"]
    firing = [(day, offset) for day, offset in season.mondays if offset]
    # The next three, in school time with the offset each will have; the holiday week is not one.
    assert [minute_of(x) for x in schedule["next"]] == [
        (f"{day} 08:00", offset) for day, offset in firing[:3]
    ]
    assert minute_of(schedule["next_run"]) == (f"{firing[0][0]} 08:00", firing[0][1])

    made: list[tuple[str, str]] = []
    for i, (day, offset) in enumerate(season.mondays):
        assert steps.dispatch(f"{day} 07:59") == (0, 0), f"{day} 07:59"
        assert steps.dispatch(f"{day} 08:00") == ((1, 0) if offset else (0, 0)), f"{day} 08:00"
        assert steps.dispatch(f"{day} 08:20") == (0, 0), f"{day} 08:20"
        if not offset:
            continue  # the holiday week: the dispatch summaries say nothing came due
        made.append((f"{day} 08:00", offset))
        fired = steps.fired(f"{day} 08:21", schedule["id"])
        assert [minute_of(a["created_at"]) for a in fired] == made, day
        assert all(a["text"].endswith(TEXT) for a in fired)
        assert {a["class"] for a in fired} == {"2B"}
        if i == 0:  # the next one is on the other side of the switch, with the other offset
            [listed] = steps.json(f"{day} 08:21", "schedule", "list")
            assert minute_of(listed["next_run"]) == (f"{firing[1][0]} 08:00", firing[1][1])
    assert len(made) == 3


# --- 2. late: the grace period --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grace", "late_but_sent", "too_late"),
    [
        (None, "08:45", "09:30"),  # the default grace: 1 hour
        ("2h", "09:30", "10:30"),
    ],
)
def test_a_missed_occurrence_fires_within_the_grace_period_and_is_skipped_after_it(
    tmp_path: Path, grace: str | None, late_but_sent: str, too_late: str
) -> None:
    steps = Steps(tmp_path, **({"KLASBOT_SCHEDULE__GRACE": grace} if grace else {}))
    steps.school("2026-11-23 10:00")
    added = steps.json(
        "2026-11-23 10:00",
        *("schedule", "add", "--class", "2B", "--as", "t-devries"),
        *("--when", "elke maandag 08:00", "--text", TEXT),
    )
    assert minute_of(added["next_run"]) == ("2026-11-30 08:00", "+01:00")

    # Nothing ran at 08:00; the first process after it is still within the grace period.
    assert steps.dispatch(f"2026-11-30 {late_but_sent}") == (1, 0)
    fired = steps.fired(f"2026-11-30 {late_but_sent}", added["id"])
    assert [minute_of(a["created_at"]) for a in fired] == [
        (f"2026-11-30 {late_but_sent}", "+01:00")
    ]
    assert steps.schedule_mails() == []

    # The next week the first process comes too late: skipped, and the mentor is told.
    assert steps.dispatch(f"2026-12-07 {too_late}") == (0, 1)
    assert len(steps.fired(f"2026-12-07 {too_late}", added["id"])) == 1
    [told] = steps.schedule_mails()
    assert [a.addr_spec for a in told["To"].addresses] == [MENTOR_MAIL]
    assert "niet verstuurd" in str(told["Subject"])
    body = told.get_body(("plain",)).get_content()
    assert "7 december 2026 08:00" in body
    assert "te laat" in body
    assert TEXT in body

    # A missed week does not move the ones after it.
    [listed] = steps.json(f"2026-12-07 {too_late}", "schedule", "list")
    assert minute_of(listed["next_run"]) == ("2026-12-14 08:00", "+01:00")
    assert steps.dispatch("2026-12-14 08:00") == (1, 0)
    assert len(steps.schedule_mails()) == 1


# --- 3. removing ----------------------------------------------------------------------------------


def test_a_removed_schedule_fires_no_more(tmp_path: Path) -> None:
    steps = Steps(tmp_path)
    steps.school("2026-11-23 10:00")
    added = steps.json(
        "2026-11-23 10:00",
        *("schedule", "add", "--class", "2B", "--as", "t-devries"),
        *("--when", "elke maandag 08:00", "--text", TEXT),
    )
    assert steps.dispatch("2026-11-30 08:00") == (1, 0)

    removed = steps("2026-11-30 09:00", "schedule", "remove", str(added["id"]))
    assert "geannuleerd" in removed.stderr

    assert steps.dispatch("2026-12-07 08:00") == (0, 0)
    assert steps.dispatch("2026-12-07 08:30") == (0, 0)
    assert len(steps.fired("2026-12-07 08:31", added["id"])) == 1
    assert steps.json("2026-12-07 08:31", "schedule", "list") == []
    [listed] = steps.json("2026-12-07 08:31", "schedule", "list", "--all")
    assert listed["id"] == added["id"]
    assert listed["active"] is False
    assert minute_of(listed["cancelled_at"]) == ("2026-11-30 09:00", "+01:00")
    assert listed["next"] == []

    again = one_line(steps("2026-12-07 09:00", "schedule", "remove", str(added["id"]), ok=False))
    assert "al geannuleerd" in again
    unknown = one_line(steps("2026-12-07 09:00", "schedule", "remove", "99", ok=False))
    assert "99" in unknown


def test_an_exception_day_is_skipped(tmp_path: Path) -> None:
    steps = Steps(tmp_path)
    steps.school("2026-11-23 10:00")
    added = steps.json(
        "2026-11-23 10:00",
        *("schedule", "add", "--class", "2B", "--as", "t-devries"),
        *("--when", "elke maandag 08:00", "--text", TEXT, "--except", "7-12"),
    )
    assert added["except"] == ["2026-12-07"]
    assert [minute_of(n)[0] for n in added["next"]] == [
        "2026-11-30 08:00",
        "2026-12-14 08:00",
        "2026-12-21 08:00",
    ]
    assert steps.dispatch("2026-11-30 08:00") == (1, 0)
    assert steps.dispatch("2026-12-07 08:00") == (0, 0)  # the exception day
    assert steps.dispatch("2026-12-14 08:00") == (1, 0)
    assert len(steps.fired("2026-12-14 08:01", added["id"])) == 2


# --- 4. bad input ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def school_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo school on 23 November 2026, built once; each test works on a copy."""
    directory = tmp_path_factory.mktemp("school")
    Steps(directory).school("2026-11-23 10:00")
    return directory / "klasbot.db"


ADD = ("schedule", "add", "--class", "2B", "--as", "t-devries")
WEEKLY = ("--when", "elke maandag 08:00", "--text", TEXT)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        ((*ADD, "--when", "gisteren 08:00", "--text", TEXT), ["gisteren", "verleden"]),
        ((*ADD, "--when", "yesterday 8:00", "--text", TEXT), ["yesterday", "verleden"]),
        ((*ADD, "--when", "31-02 08:00", "--text", TEXT), ["31-02", "bestaat niet"]),
        ((*ADD, "--when", "2026-02-29 08:00", "--text", TEXT), ["2026-02-29", "bestaat niet"]),
        ((*ADD, "--when", "25:00", "--text", TEXT), ["25:00", "bestaat niet"]),
        ((*ADD, "--when", "elke maand 08:00", "--text", TEXT), ["elke maand", "herhalen"]),
        ((*ADD, "--when", "every hour", "--text", TEXT), ["every hour", "herhalen"]),
        ((*ADD, "--when", "op 32-1 08:00", "--text", TEXT), ["32-1", "bestaat niet"]),
        ((*ADD, "--when", "2026-11-01 08:00", "--text", TEXT), ["2026-11-01", "voorbij"]),
        ((*ADD, "--when", "", "--text", TEXT), ["ontbreekt"]),
        ((*ADD, *WEEKLY, "--until", "nooit"), ["--until", "nooit"]),
        ((*ADD, *WEEKLY, "--until", "2026-11-01"), ["einddatum", "voorbij"]),
        ((*ADD, *WEEKLY, "--until", "2026-11-23"), ["einde", "geen"]),
        ((*ADD, *WEEKLY, "--kind", "feest"), ["feest"]),
        ((*ADD, *WEEKLY, "--except", "31-02"), ["--except", "31-02"]),
        (
            ("schedule", "add", "--class", "9Z", "--as", "t-devries", *WEEKLY),
            ["9Z", "bestaat niet"],
        ),
        (("schedule", "add", "--class", "2B", "--as", "t-jansen", *WEEKLY), ["2B", "docent"]),
        (("schedule", "add", "--class", "2B", "--as", "p-2b-01", *WEEKLY), ["2B", "leerling"]),
        (("schedule", "add", "--class", "2B", "--as", "niemand", *WEEKLY), ["niemand"]),
        (
            (*ADD, "--when", "elke maandag 08:00", "--text", "Vragen? Bel 06-12345678"),
            ["telefoonnummer", "06-12345678"],
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_bad_input_is_refused_in_one_line(
    tmp_path: Path, school_database: Path, args: tuple[str, ...], needles: list[str]
) -> None:
    shutil.copy(school_database, tmp_path / "klasbot.db")
    steps = Steps(tmp_path)
    line = one_line(steps("2026-11-23 10:00", *args, ok=False))
    for needle in needles:
        assert needle.lower() in line.lower(), line
    with closing(sqlite3.connect(tmp_path / "klasbot.db")) as db:
        assert db.execute("SELECT count(*) FROM schedules").fetchone() == (0,)


# --- 5. several processes on one database ---------------------------------------------------------


class Timeline:
    """One clock for the processes of a test: a process started now gets `KLASBOT_NOW` = the
    timeline's start plus the real time since (its clock lags by its own start-up, a second or
    so)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.began = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "KLASBOT_NOW": self.now().isoformat()}

    def minute_ahead(self, margin: float = 6.0) -> datetime:
        """The first whole minute at least `margin` seconds from now."""
        soon = self.now() + timedelta(seconds=margin)
        return soon.replace(second=0, microsecond=0) + timedelta(minutes=1)

    async def sleep_until(self, instant: datetime) -> None:
        await asyncio.sleep(max(0.0, (instant - self.now()).total_seconds()))


async def query(database_url: str, sql: str, **params: object) -> Any:
    """One value read straight from the database (a test's view, not klasbot's)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql), params)).scalar()
    finally:
        await engine.dispose()


async def firer(database_url: str) -> str:
    """The owner named by the firer lease (`platform_state` klasbot/schedule-firer), or ''."""
    value = await query(
        database_url,
        "SELECT value FROM platform_state WHERE platform = 'klasbot' AND key = 'schedule-firer'",
    )
    return (value or "").partition(" ")[0]


async def fired_count(database_url: str, schedule_id: int) -> int:
    return int(
        await query(
            database_url,
            "SELECT count(*) FROM announcements WHERE schedule_id = :id",
            id=schedule_id,
        )
    )


async def eventually(
    check: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str, timeout: float
) -> T:
    """Poll `check()` until `done` holds for its value; fail with `what` after `timeout` s."""
    try:
        async with asyncio.timeout(timeout):
            while not done(value := await check()):
                await asyncio.sleep(0.2)
            return value
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}") from None


async def add_one_off(
    env: dict[str, str], timeline: Timeline, klas: str, author: str, text: str
) -> tuple[int, datetime]:
    """`schedule add` for the next whole minute (`--when HH:MM`); returns (id, its instant)."""
    at = timeline.minute_ahead()
    added = json.loads(
        await klasbot(
            timeline.env(env),
            *("schedule", "add", "--class", klas, "--as", author),
            *("--when", at.astimezone(AMSTERDAM).strftime("%H:%M"), "--text", text, "--json"),
        )
    )
    assert datetime.fromisoformat(added["next_run"]) == at
    return added["id"], at


async def listed_fired(env: dict[str, str], timeline: Timeline, schedule_id: int) -> list[Any]:
    announcements = json.loads(await klasbot(timeline.env(env), "announcements", "--json"))
    return [a for a in announcements if a["schedule"] == schedule_id]


async def running(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`klasbot run`, once it says it runs (its first line on standard error)."""
    bot = await start_bot(env)
    assert bot.stderr is not None
    async with asyncio.timeout(60):
        first = (await bot.stderr.readline()).decode()
    assert "klasbot" in first, first
    assert bot.returncode is None
    return bot


async def stop(bot: asyncio.subprocess.Process) -> str:
    """SIGTERM, then its remaining standard error (it must stop cleanly)."""
    bot.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        _, err = await bot.communicate()
    assert bot.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    return err.decode()


async def kill(bot: asyncio.subprocess.Process) -> None:
    if bot.returncode is None:
        bot.kill()
        await bot.communicate()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"two `klasbot run` processes share a PostgreSQL database: set {POSTGRES_ENV}")
    name, url = await create_database(admin)
    try:
        yield url
    finally:
        await drop_database(admin, name)


START = local("2026-11-23 10:59:40")
"""A few seconds before a whole minute, on a Monday outside quiet hours."""


@pytest.mark.postgres
@pytest.mark.slow
async def test_two_bots_on_postgresql_fire_once_and_one_takes_over_when_the_other_dies(
    tmp_path: Path, postgres_url: str
) -> None:
    env = process_env(tmp_path, postgres_url)
    await asyncio.to_thread(demo_school, env, tmp_path)
    timeline = Timeline(START)
    a = await running(timeline.env(env))
    b: asyncio.subprocess.Process | None = None
    try:
        holder_a = await eventually(
            lambda: firer(postgres_url), bool, "the first bot to hold the firer lease", 30
        )
        b = await running(timeline.env(env))

        first, at = await add_one_off(env, timeline, "2B", "t-devries", "Neem je gymkleren mee")
        await eventually(
            lambda: fired_count(postgres_url, first),
            bool,
            "the first one-off to fire",
            (at - timeline.now()).total_seconds() + 30,
        )
        await asyncio.sleep(3)  # several rounds of both bots
        assert len(await listed_fired(env, timeline, first)) == 1
        assert await firer(postgres_url) == holder_a

        a.send_signal(signal.SIGKILL)
        await a.communicate()
        second, at = await add_one_off(env, timeline, "4C", "t-jansen", "Neem je atlas mee")
        # The dead bot's lease runs out (30 s) and the other takes over before it is due.
        await eventually(
            lambda: fired_count(postgres_url, second),
            bool,
            "the surviving bot to fire the second one-off",
            (at - timeline.now()).total_seconds() + 60,
        )
        new_holder = await firer(postgres_url)
        assert new_holder
        assert new_holder != holder_a
        await asyncio.sleep(3)
        [made] = await listed_fired(env, timeline, second)
        assert made["class"] == "4C"
        assert datetime.fromisoformat(made["created_at"]) - at < timedelta(seconds=60)
        assert len(await listed_fired(env, timeline, first)) == 1
        assert b.returncode is None
        await stop(b)
    finally:
        await kill(a)
        if b is not None:
            await kill(b)


async def test_a_cron_dispatch_beside_a_running_bot_fires_each_occurrence_once(
    tmp_path: Path, database_url: str
) -> None:
    """`klasbot dispatch --once` from cron at the very instant the running bot fires: every
    occurrence still makes one announcement (each is recorded once, whoever gets there first)."""
    env = process_env(tmp_path, database_url)
    await asyncio.to_thread(demo_school, env, tmp_path)
    timeline = Timeline(START)
    bot = await running(timeline.env(env))
    cron: list[asyncio.subprocess.Process] = []
    try:
        await eventually(lambda: firer(database_url), bool, "the bot to hold the lease", 30)
        schedules: list[int] = []
        at = timeline.minute_ahead(margin=12)
        for klas, author, text in [
            ("2B", "t-devries", "Neem je gymkleren mee"),
            ("2B", "t-bakker", "Neem je rekenmachine mee"),
            ("4C", "t-jansen", "Neem je atlas mee"),
        ]:
            added = json.loads(
                await klasbot(
                    timeline.env(env),
                    *("schedule", "add", "--class", klas, "--as", author, "--json"),
                    *("--when", at.strftime("%H:%M"), "--text", text),
                )
            )
            assert datetime.fromisoformat(added["next_run"]) == at
            schedules.append(added["id"])

        # Cron processes start their clocks at the due instant and fire as soon as they are up;
        # the bot's clock lags the timeline by its own start-up, so it fires a moment after
        # the timeline reaches it. Launched around then, some cron runs come before the bot
        # and some after or with it.
        cron_env = {**env, "KLASBOT_NOW": at.isoformat()}
        for lead in (1.0, 0.5, 0.0, -0.5):
            await timeline.sleep_until(at - timedelta(seconds=lead))
            cron.append(
                await asyncio.create_subprocess_exec(
                    *KLASBOT,
                    "dispatch",
                    "--once",
                    env=cron_env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        async with asyncio.timeout(120):
            for proc in cron:
                _, err = await proc.communicate()
                assert proc.returncode == 0, err.decode()
        for schedule_id in schedules:
            await eventually(
                functools.partial(fired_count, database_url, schedule_id),
                bool,
                f"schedule {schedule_id} to fire",
                30,
            )
        await asyncio.sleep(2)
        announcements = json.loads(await klasbot(timeline.env(env), "announcements", "--json"))
        made = [a["schedule"] for a in announcements if a["schedule"] is not None]
        assert sorted(made) == sorted(schedules)
        await stop(bot)
    finally:
        await kill(bot)
        for proc in cron:
            await kill(proc)

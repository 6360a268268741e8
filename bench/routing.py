"""Routing one announcement: to a class of 30 and to a year of 1,000 pupils, on SQLite.

klasbot's figure is `bot.usecases.announcing.announce` end to end: the rules, the class's roster
and groups read from the database, `route_class` choosing each pupil's channel (own e-mail from
16, a guardian's e-mail, a letter by post), and one transaction writing the announcement, one
outbox row per pupil, the audit record and the notices. The bare library is aiosqlite (the driver
under klasbot's SQLAlchemy) inserting an announcement row and `executemany` of the same delivery
rows (the same pupils, channels and recipients as klasbot wrote) into the same database in one
transaction: the floor of any way of writing them. A "year" is one roster class of 1,000 pupils
(klasbot addresses classes; a year is announced to as one).

"doubled" is how klasbot's time grows from half the pupils (15, 500) to all of them.

    .venv/bin/python -m bench --only routing        # in the suite's table
    .venv/bin/python bench/routing.py [--quick]     # the same rows on their own
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.suite import Row  # noqa: E402

# A Monday morning in Amsterdam: outside quiet hours.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AUTHOR = "t-bench"


def school(sizes: dict[str, int]) -> Any:
    """One class per entry (code -> pupils). A third of the pupils are 13 with a guardian who
    reads e-mail, one in ten is 13 with a guardian reached only by post, the rest are 17 with
    their own address (e-mail from 16)."""
    from tests.support.rosters import Roster, User

    roster = Roster(school=("org-bench", "Het Benchmark College"))
    roster.users.append(User(AUTHOR, "teacher", "Karin", "Smit", email="k.smit@bench.example"))
    for code, pupils in sizes.items():
        class_id = f"cls-{code.lower()}"
        roster.classes.append((class_id, code))
        roster.enrollments.append((class_id, AUTHOR, "teacher", True))
        for n in range(pupils):
            pid = f"s-{code.lower()}-{n:05d}"
            if n % 10 == 0:
                gid = f"g-{code.lower()}-{n:05d}"
                address = (f"Dorpsstraat {n}", "3511 AA", "Utrecht")
                roster.users.append(User(gid, "guardian", "Ouder", f"Post{n}", address=address))
                roster.users.append(
                    User(pid, "student", f"Pupil{n}", f"Post{n}", birth="2013-03-01", agents=[gid])
                )
            elif n % 3 == 0:
                gid = f"g-{code.lower()}-{n:05d}"
                roster.users.append(
                    User(gid, "guardian", "Ouder", f"Mail{n}", email=f"{gid}@ouders.example")
                )
                roster.users.append(
                    User(pid, "student", f"Pupil{n}", f"Mail{n}", birth="2013-03-01", agents=[gid])
                )
            else:
                roster.users.append(
                    User(
                        pid,
                        "student",
                        f"Pupil{n}",
                        f"Eigen{n}",
                        birth="2009-05-01",
                        email=f"{pid}@leerling.example",
                    )
                )
            roster.enrollments.append((class_id, pid, "student", False))
    return roster


def median_of(times: list[float]) -> float:
    return statistics.median(times)


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


class Bare:
    """aiosqlite writing an announcement and its delivery rows, as klasbot's schema has them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.serial = 0

    async def template(self, announcement_id: int) -> list[tuple[str, str, str | None, str]]:
        """(pupil, channel, reason, recipients JSON) of the rows klasbot wrote for one
        announcement: what the bare side writes again."""
        import aiosqlite

        async with aiosqlite.connect(self.path) as db:
            cursor = await db.execute(
                "SELECT pupil_id, channel, reason, recipients FROM deliveries "
                "WHERE announcement_id = ? ORDER BY id",
                (announcement_id,),
            )
            rows = await cursor.fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def write(self, class_id: str, rows: list[tuple[str, str, str | None, str]]) -> None:
        import aiosqlite

        self.serial += 1
        at = (NOW + timedelta(minutes=self.serial)).strftime("%Y-%m-%d %H:%M:%S.%f")
        async with aiosqlite.connect(self.path) as db:
            await db.execute("BEGIN")
            cursor = await db.execute(
                "INSERT INTO announcements (class_id, kind, author_id, created_at, body, "
                "signature, text, revision) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    class_id,
                    "reminder",
                    AUTHOR,
                    at,
                    f"Herinnering: neem je gymkleren mee ({self.serial})",
                    "— K. Smit, mentor, Het Benchmark College",
                    f"Neem je gymkleren mee ({self.serial})",
                ),
            )
            announcement_id = cursor.lastrowid
            await db.executemany(
                "INSERT INTO deliveries (announcement_id, pupil_id, channel, reason, status, "
                "recipients, group_id, attempts, channel_attempts, idempotency_key, due_at) "
                "VALUES (?, ?, ?, ?, ?, ?, NULL, 0, 0, ?, ?)",
                [
                    (
                        announcement_id,
                        pupil,
                        channel,
                        reason,
                        "pending",
                        json.dumps(json.loads(recipients)),
                        f"bare:{announcement_id}:{pupil}",
                        at,
                    )
                    for pupil, channel, reason, recipients in rows
                ],
            )
            await db.commit()


async def measure_async(quick: bool) -> list[Row]:
    from adapters.oneroster.reader import read_roster
    from bot import bootstrap
    from bot.clock import FrozenClock
    from bot.domain import AnnouncementDraft, Kind
    from bot.usecases import announcing
    from bot.usecases import roster as roster_uc
    from config.settings import load_settings
    from tests.support.environ import local_environ

    year = 60 if quick else 1000
    cases = [("class", "K30", 30, "K15", 15), ("year", "J", year, "H", year // 2)]
    repeats = 2 if quick else 7
    sizes = {code: n for _, f, fn, h, hn in cases for code, n in ((f, fn), (h, hn))}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="klasbot-bench-") as tmp:
        work = Path(tmp)
        path = work / "klasbot.db"
        settings = load_settings(
            environ=local_environ(
                work, f"sqlite+aiosqlite:///{path}", KLASBOT_SCHOOL__NAME="Het Benchmark College"
            )
        )
        await bootstrap.migrate(settings)
        clock = FrozenClock(NOW)
        bare = Bare(path)
        async with bootstrap.build(settings, clock=clock) as app:
            await roster_uc.import_roster(
                app.ctx, read_roster(school(sizes).write(work / "roster"))
            )
            serial = 0

            async def announce(code: str) -> Any:
                nonlocal serial
                serial += 1
                clock.advance(minutes=1)
                draft = AnnouncementDraft(
                    code, AUTHOR, Kind.REMINDER, text=f"Neem je gymkleren mee ({serial})"
                )
                return await announcing.announce(app.ctx, draft, again=True)

            figures: dict[str, tuple[float, float]] = {}
            channels: dict[str, dict[str, int]] = {}
            for code in sizes:
                first = await announce(code)  # warms the caches; its rows are the bare template
                channels[code] = {k: v for k, v in first.counts.items() if v}
                template = await bare.template(first.announcement.id)
                assert len(template) == sizes[code], (code, len(template))
                ours: list[float] = []
                theirs: list[float] = []
                for _ in range(repeats):  # interleaved: the machine's load hits both alike
                    ours.append(await timed(partial(announce, code)))
                    theirs.append(await timed(partial(bare.write, f"cls-{code.lower()}", template)))
                figures[code] = (median_of(ours), median_of(theirs))

    for what, full, size, half, _ in cases:
        klasbot_s, bare_s = figures[full]
        mix = ", ".join(f"{v} {k}" for k, v in sorted(channels[full].items()))
        rows.append(
            Row(
                work=f"route one announcement to a {what} of {size:,} pupils ({mix}), SQLite",
                library=f"aiosqlite executemany, {size:,} delivery rows: {ms(bare_s)}",
                klasbot=f"announcing.announce: {ms(klasbot_s)}",
                ratio=f"{klasbot_s / bare_s:.1f}x time",
                doubled=f"x{klasbot_s / figures[half][0]:.2f}",
            )
        )
    return rows


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def measure(quick: bool = False) -> list[Row]:
    return asyncio.run(measure_async(quick))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    for row in measure(quick="--quick" in sys.argv[1:]):
        print(row)

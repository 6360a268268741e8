"""A broadcast to many class rooms on a homeserver with Synapse's default rate limits.

Shared by `test_broadcast.py` and `bench/matrix_broadcast.py`. The set-up (rooms, invitations,
joins) runs with the bot exempt from rate limits through Synapse's admin API, so that it takes
seconds rather than the ten minutes Synapse's room-creation limit (one a minute after ten) would
take; the exemption is lifted before the announcements, which meet the default limits
(`rc_message`: 0.2 per second, bursts of 10) like a school's bot would. With `rate_per_second` the
bot paces its own sends during the broadcast (the `matrix.rate_per_second` setting).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from nio import JoinResponse

from bot import bootstrap
from bot.clock import ShiftedClock
from bot.domain import (
    AnnouncementDraft,
    Enrollment,
    EnrollmentRole,
    Person,
    Role,
    RosterSnapshot,
    School,
    SchoolClass,
)
from bot.ratelimit import Rate, RateLimiter
from bot.usecases import announcing, queries
from bot.usecases import groups as group_uc
from bot.usecases import roster as roster_uc
from tests.integration.matrix.helpers import (
    NOW,
    MatrixUser,
    eventually,
    matrix_settings,
    member_state,
    running_klasbot,
    unique,
)
from tests.integration.matrix.synapse import Synapse

SCHOOL = School("org-bench", "Het Benchmark College")


@dataclass
class BroadcastResult:
    rooms: int
    messages: int  # announcements posted in rooms
    received: int  # messages the pupils' clients saw (exactly one per room expected)
    wall_seconds: float  # from the first announcement to the last delivery
    rate_limited: int  # M_LIMIT_EXCEEDED answers the bot received
    dispatch_rounds: int
    retried: int
    statuses: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"rooms:                 {self.rooms}",
            f"messages posted:       {self.messages}",
            f"messages received:     {self.received}",
            f"wall time:             {self.wall_seconds:.1f} s",
            f"rate-limit answers:    {self.rate_limited} (M_LIMIT_EXCEEDED)",
            f"deliveries retried:    {self.retried}",
            f"dispatch rounds:       {self.dispatch_rounds}",
            f"delivery statuses:     {self.statuses}",
        ]


def bench_roster(rooms: int) -> RosterSnapshot:
    """`rooms` classes B01…, each with a mentor and one pupil of 14."""
    classes, persons, enrollments = [], [], []
    for i in range(1, rooms + 1):
        code = f"B{i:02}"
        classes.append(SchoolClass(f"cls-{code.lower()}", code, f"Klas {code}", SCHOOL.id))
        teacher = Person(f"t-{code.lower()}", Role.TEACHER, "Docent", code)
        pupil = Person(
            f"p-{code.lower()}", Role.PUPIL, "Leerling", code, birth_date=date(2012, 1, 1)
        )
        persons += [teacher, pupil]
        enrollments += [
            Enrollment(classes[-1].id, teacher.id, EnrollmentRole.TEACHER, primary=True),
            Enrollment(classes[-1].id, pupil.id, EnrollmentRole.STUDENT),
        ]
    return RosterSnapshot((SCHOOL,), tuple(classes), tuple(persons), tuple(enrollments))


async def run_broadcast(
    server: Synapse,
    directory: Path,
    *,
    rooms: int,
    rate_per_second: float | None = None,
    within: float = 600.0,
    log: Any = None,
) -> BroadcastResult:
    say = log or (lambda text: None)
    admin = server.register(unique("admin"), admin=True)
    bot = server.register(unique("klasbot"))
    settings = matrix_settings(directory, server, bot, KLASBOT_SCHOOL__NAME=SCHOOL.name)
    await bootstrap.migrate(settings)
    roster = bench_roster(rooms)
    pupils: dict[str, MatrixUser] = {}
    server.set_ratelimit_exempt(admin.access_token, bot.user_id, True)
    try:
        # The clock runs in real time (retries wait for real) from a school-day morning.
        async with running_klasbot(settings, ShiftedClock(NOW), roster=None) as (app, platform):
            await roster_uc.import_roster(app.ctx, roster)
            say(f"set-up: {rooms} rooms, one pupil each (bot exempt from rate limits)")
            async with app.db.transaction() as store:
                for c in roster.classes:
                    pupil = MatrixUser(
                        server, server.register(unique(f"leerling-{c.code.lower()}"))
                    )
                    pupils[c.code] = pupil
                    await store.accounts.link("matrix", pupil.user_id, f"p-{c.code.lower()}", NOW)
            groups = {
                c.code: await group_uc.create_group(app.ctx, c.code, "matrix")
                for c in roster.classes
            }
            for code, pupil in pupils.items():
                joined = await pupil.client.join(groups[code].chat_id)
                assert isinstance(joined, JoinResponse), joined
                await pupil.sync(0)

            async def all_members() -> bool:
                for code, group in groups.items():
                    if await member_state(app, group, f"p-{code.lower()}") != "member":
                        return False
                return True

            await eventually(all_members, within=60, what="every pupil to have joined")
            server.set_ratelimit_exempt(admin.access_token, bot.user_id, False)
            platform.stats.rate_limited = 0
            if rate_per_second:
                # As `KLASBOT_MATRIX__RATE_PER_SECOND` would, but only now: set-up isn't measured.
                platform.limiter = RateLimiter(Rate(rate_per_second, burst=10.0))
            say("announcing to every room with Synapse's default rate limits")

            announcement_ids = []
            for c in roster.classes:
                result = await announcing.announce(
                    app.ctx,
                    AnnouncementDraft(
                        c.code, f"t-{c.code.lower()}", "reminder", text="Morgen gymkleren meenemen."
                    ),
                )
                announcement_ids.append(result.announcement.id)
            started = time.monotonic()
            rounds = retried = 0
            statuses: dict[str, int] = {}
            while True:
                stats = await app.dispatcher.run_once()
                rounds += 1
                retried += stats.retried
                statuses = {}
                for announcement_id in announcement_ids:
                    for d in await queries.deliveries(app.ctx, announcement_id):
                        statuses[d.status.value] = statuses.get(d.status.value, 0) + 1
                if set(statuses) == {"sent"} or time.monotonic() - started > within:
                    break
                await asyncio.sleep(0.25)
            wall = time.monotonic() - started

            received = 0
            for code, pupil in pupils.items():
                await pupil.sync(0)
                received += len(pupil.messages(groups[code].chat_id, bot.user_id))
            return BroadcastResult(
                rooms=rooms,
                messages=platform.stats.posts,
                received=received,
                wall_seconds=wall,
                rate_limited=platform.stats.rate_limited,
                dispatch_rounds=rounds,
                retried=retried,
                statuses=statuses,
            )
    finally:
        for pupil in pupils.values():
            await pupil.close()

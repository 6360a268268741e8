"""The daily sweep through the command line: on Milan's 13th birthday (Friday 15 January 2027) a
cron job's `klasbot dispatch --once` sends his code to his mother without anyone running
`invites create`, the code links his account, and running it again — or twice at once — sends
nothing more. And the sweep's state (archived groups, pending removals, the day it ran) on
SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import GroupState, MemberState
from bot.outbox import STATE_SCOPE
from bot.usecases import groups as groups_uc
from bot.usecases import invites as invites_uc
from bot.usecases import linking, sweep
from tests.integration.test_invites_cli import default_installation, mails, plain
from tests.support.processes import KLASBOT, demo_school, run_klasbot

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

BIRTHDAY_MORNING = "2027-01-15T07:30:00+01:00"
MILAN_MOTHER = "ayse.celik@mail.example"


def codes_in(text: str) -> list[str]:
    return re.findall(r"\b[A-Z2-9]{10}\b", text)


def test_dispatch_sends_the_13th_birthday_code_once(tmp_path: Path) -> None:
    env = default_installation(KLASBOT_NOW=BIRTHDAY_MORNING)
    demo_school(env, tmp_path)

    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)

    [mail] = mails(tmp_path)
    assert [a.addr_spec for a in mail["To"].addresses] == [MILAN_MOTHER]
    text = plain(mail)
    assert "Milan" in text
    [code] = set(codes_in(text))

    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    later = default_installation(KLASBOT_NOW="2027-01-15T15:00:00+01:00")
    run_klasbot(later, "dispatch", "--once", cwd=tmp_path)

    assert len(mails(tmp_path)) == 1
    script = tmp_path / "start.txt"
    script.write_text(f"p-2b-05: /start {code}\n", encoding="utf-8")
    transcript = run_klasbot(env, "demo", "--script", str(script), cwd=tmp_path).stdout
    assert "Gelukt, Milan!" in transcript


def test_two_dispatchers_at_once_send_the_birthday_code_once(tmp_path: Path) -> None:
    env = default_installation(KLASBOT_NOW=BIRTHDAY_MORNING)
    demo_school(env, tmp_path)

    procs = [
        subprocess.Popen(
            [*KLASBOT, "dispatch", "--once"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    [mail] = mails(tmp_path)
    assert [a.addr_spec for a in mail["To"].addresses] == [MILAN_MOTHER]


# --- on SQLite and PostgreSQL -------------------------------------------------------------------


def _at(clock: FrozenClock, day: date, hour: int = 7, minute: int = 30) -> None:
    clock.at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM).astimezone(
        UTC
    )


async def test_the_sweep_keeps_its_word_on_a_real_database(
    app: bootstrap.App, clock: FrozenClock
) -> None:
    ctx = app.ctx
    _at(clock, date(2026, 7, 30), 10)
    group = await groups_uc.create_group(ctx, "2B", "console")
    [zoe] = await invites_uc.create_invites(ctx, person_ref="p-2b-01")
    await linking.link_account(ctx, "console", "zoe", zoe.code)

    _at(clock, date(2026, 7, 31))  # the school year's last day
    stats = await sweep.run_due(ctx)

    assert stats.archived_groups == 1
    async with ctx.db.transaction() as tx:
        stored = await tx.groups.get(group.id)
    assert stored is not None
    assert stored.state == GroupState.ARCHIVED
    await sweep.run_due(ctx)  # the closing post has not gone out: Zoë is still there
    async with ctx.db.transaction() as tx:
        assert (await tx.groups.members(group.id))["p-2b-01"].state == MemberState.MEMBER

    delivered = await app.dispatcher.run_once()
    removed = await sweep.run_due(ctx)

    assert delivered.notices >= 2  # the closing post and the staff's e-mail
    assert removed.removed_members == 1
    async with ctx.db.transaction() as tx:
        assert (await tx.groups.members(group.id))["p-2b-01"].state == MemberState.REMOVED
        assert not await tx.state.get(STATE_SCOPE, sweep.REMOVALS)

    _at(clock, date(2027, 1, 15))  # Milan's 13th birthday; Sem's was in September
    assert (await sweep.run_due(ctx)).birthday_invites == 2  # caught up since 31 July
    async with ctx.db.transaction() as tx:
        await tx.state.set(STATE_SCOPE, sweep.LAST_RUN, "2027-01-14")
    rerun = await sweep.run_due(ctx)
    assert (rerun.ran, rerun.birthday_invites) == (True, 0)

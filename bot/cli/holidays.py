"""`holidays import FILE.ics` and `holidays list`: the school's holiday periods, in which
recurring schedules do not fire."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli import texts as t
from bot.cli.common import JSON_HELP, app, emit_json, print_rows, refuse, run, say, settings
from bot.i18n import Msg

if TYPE_CHECKING:
    from adapters.ical import CalendarRead
    from bot import bootstrap
    from bot.domain import Holiday

holidays_app = typer.Typer(help="The school's holiday periods.", no_args_is_help=True)
app.add_typer(holidays_app, name="holidays")

M_HOLIDAYS_IMPORTED = Msg("{file}: {added} holiday period(s) added, {known} already known")
M_TIMED_LEFT_OUT = Msg(
    "{count} event(s) with a time of day left out: only all-day events are holidays"
)
M_CANCELLED_LEFT_OUT = Msg("{count} cancelled event(s) left out")
M_NO_HOLIDAYS = Msg(
    "no holiday periods: add them to school.holidays in the configuration or import the "
    "school's calendar with klasbot holidays import FILE.ics"
)
H_FIRST_DAY = Msg("first day")
H_LAST_DAY = Msg("last day")
H_NAME = Msg("name")
H_SOURCE = Msg("source")


@holidays_app.command("import")
def holidays_import(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="The school's calendar (.ics); its all-day events are holidays."
    ),
) -> None:
    """Import the holiday periods of the school's published calendar (iCalendar); importing the
    same calendar again adds nothing."""
    from adapters.ical import read_holidays
    from bot.usecases import holidays as holiday_cases

    settings()
    if not file.exists():
        refuse(t.M_NO_SUCH_FILE, path=file)

    async def go(a: bootstrap.App) -> tuple[CalendarRead, int, int]:
        # Recurring all-day events are read a few years ahead of the app's today.
        read = read_holidays(file, today=a.ctx.today())
        added, known = await holiday_cases.import_holidays(a.ctx, read.holidays, source=file.name)
        return read, added, known

    read, added, known = run(go)
    say(M_HOLIDAYS_IMPORTED, file=file.name, added=added, known=known)
    if read.timed:
        say(M_TIMED_LEFT_OUT, count=read.timed)
    if read.cancelled:
        say(M_CANCELLED_LEFT_OUT, count=read.cancelled)


@holidays_app.command("list")
def holidays_list(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Every holiday period: the configured ones (school.holidays) and the imported ones."""
    from bot.usecases import holidays as holiday_cases

    async def go(a: bootstrap.App) -> list[Holiday]:
        return await holiday_cases.holidays(a.ctx)

    rows = [
        {
            "start": h.start.isoformat(),
            "end": h.end.isoformat(),
            "name": h.name,
            "source": h.source,
        }
        for h in run(go)
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say(M_NO_HOLIDAYS)
        return
    print_rows(
        (H_FIRST_DAY, H_LAST_DAY, H_NAME, H_SOURCE),
        [(r["start"], r["end"], r["name"], r["source"]) for r in rows],
        whole=(0, 1),
    )

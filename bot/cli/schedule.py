"""`schedule add|list|remove`: mentors' scheduled reminders from the command line.

Every time is the school's local time with its offset: `next_run` in `--json` is ISO 8601
(`2026-12-07T08:00:00+01:00`), tables say `2026-12-07 08:00+01:00`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from bot.cli.common import (
    JSON_HELP,
    app,
    emit_json,
    known_person,
    lang,
    local_iso,
    out,
    parse_id,
    print_rows,
    run,
)
from bot.cli.common import say as say_line
from bot.errors import InvalidInput
from bot.i18n import Localized, Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.usecases import scheduling

schedule_app = typer.Typer(help="Scheduled messages (reminders at a moment, or repeating).")
app.add_typer(schedule_app, name="schedule", no_args_is_help=True)

M_SCHEDULED = Msg("scheduled message {id} for class {klas}: {when}")
M_NEXT_DATES = Msg("next: {dates}")
M_UNTIL = Msg("until {date} (the end of the school year unless --until says otherwise)")
M_UNTIL_SET = Msg("until {date}")
M_QUIET = Msg("the first goes out at {time} (quiet hours)")
M_SILENT = Msg("the group post goes out silently: lessons are running then (A.1)")
M_HOLIDAY = Msg("{date} falls in {holiday}; it is sent all the same")
M_MOVED = Msg("{date}: {wall} does not exist that night (summer time starts); it goes at {time}")
M_REMOVED = Msg("scheduled message {id} cancelled")
M_NONE = Msg("no scheduled messages")
M_BAD_UNTIL = Msg("--until {value!r}: {problem}")
M_BAD_EXCEPT = Msg("--except {value!r}: {problem}")
H_ID = Msg("id")
H_CLASS = Msg("class")
H_WHEN = Msg("when")
H_NEXT = Msg("next")
H_AUTHOR = Msg("author")
H_UNTIL = Msg("until")
H_TEXT = Msg("text")
H_HOLIDAY = Msg("holiday")
M_CANCELLED = Msg("cancelled")
M_FINISHED = Msg("finished")


def _stamp(instant: datetime | None, tz: ZoneInfo) -> str:
    """`2026-12-07 08:00+01:00`: school time with its offset."""
    if instant is None:
        return "-"
    return instant.astimezone(tz).isoformat(sep=" ", timespec="minutes")


def _view_json(view: scheduling.ScheduleView, tz: ZoneInfo) -> dict[str, Any]:
    s = view.schedule
    return {
        "id": s.id,
        "class": view.class_code,
        "class_id": s.class_id,
        "kind": s.kind,
        "when": s.when,
        "rule": s.rule,
        "next_run": local_iso(s.next_run),
        "next": [local_iso(o.at) for o in view.next],
        "author": s.author_id,
        "until": s.until.isoformat() if s.until else None,
        "except": [d.isoformat() for d in s.exceptions],
        "text": s.text,
        "created_at": local_iso(s.created_at),
        "active": s.active,
        "cancelled_at": local_iso(s.cancelled_at),
    }


@schedule_app.command("add")
def add(
    class_ref: str = typer.Option(
        ..., "--class", metavar="CLASS", help="classCode (e.g. 2B) or sourcedId."
    ),
    author: str = typer.Option(
        ..., "--as", metavar="STAFF", help="The staff member's sourcedId (signs the message)."
    ),
    when: str = typer.Option(
        ...,
        "--when",
        metavar="WHEN",
        help="elke maandag 08:00, elke werkdag 07:45, om de week op vrijdag 15:00, "
        "morgen 07:30, 2026-12-01 08:00, every friday 15:00 …",
    ),
    text: str = typer.Option(..., "--text", metavar="TEXT", help="The message."),
    kind: str = typer.Option(
        "reminder", "--kind", metavar="KIND", help="The kind of announcement (default reminder)."
    ),
    until: str | None = typer.Option(
        None,
        "--until",
        metavar="DATE",
        help="The last day it may fire (default: the end of the school year).",
    ),
    skip: list[str] = typer.Option(
        [],
        "--except",
        metavar="DATE",
        help="A day it does not fire (a trip day); repeat the option for more days.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Schedule a message to a class, once or repeating; prints the schedule id."""
    from bot.dates import format_date, parse_date
    from bot.rules import kinds
    from bot.usecases import scheduling
    from bot.when import parse_when

    async def go(a: bootstrap.App) -> tuple[Any, scheduling.Plan, ZoneInfo, str]:
        await known_person(a, author, "--as", class_ref=class_ref, kind=kind, source="cli")
        tz = a.policy.timezone
        now = a.clock.now()
        moment = parse_when(when, now=now, tz=tz)
        last = None
        if until is not None:
            try:
                last = parse_date(until, today=a.ctx.today())
            except InvalidInput as exc:
                raise InvalidInput(
                    M_BAD_UNTIL, value=until, problem=Localized(exc.render)
                ) from None
        skipped: list[date] = []
        for value in skip:
            try:
                skipped.append(parse_date(value, today=a.ctx.today()))
            except InvalidInput as exc:
                raise InvalidInput(
                    M_BAD_EXCEPT, value=value, problem=Localized(exc.render)
                ) from None
        request = scheduling.ScheduleRequest(
            class_ref,
            author,
            moment,
            text,
            kinds.parse_kind(kind, a.policy.allowed_kinds),
            last,
            tuple(skipped),
        )
        schedule, plan = await scheduling.add(a.ctx, request, source="cli")
        return schedule, plan, tz, moment.describe(a.policy.language)

    schedule, plan, tz, words = run(go)
    if as_json:
        emit_json(
            {
                "id": schedule.id,
                "class": plan.class_code,
                "class_id": schedule.class_id,
                "kind": schedule.kind,
                "when": schedule.when,
                "rule": schedule.rule,
                "next_run": local_iso(schedule.next_run),
                "next": [local_iso(o.at) for o in plan.next],
                "author": schedule.author_id,
                "until": schedule.until.isoformat() if schedule.until else None,
                "except": [d.isoformat() for d in schedule.exceptions],
                "text": schedule.text,
                "held_until": local_iso(plan.held_until),
                "silent": plan.silent,
                "holidays": [
                    {"date": o.wall.date().isoformat(), "holiday": o.holiday.name}
                    for o in plan.next
                    if o.holiday is not None
                ],
                "moved": [local_iso(o.at) for o in plan.moved],
            }
        )
        return
    print(schedule.id)
    say_line(M_SCHEDULED, id=schedule.id, klas=plan.class_code, when=words)
    say_line(M_NEXT_DATES, dates="; ".join(_stamp(o.at, tz) for o in plan.next))
    if plan.until is not None:
        day = plan.until
        date_words = Localized(lambda lang: format_date(day, lang))
        say_line(M_UNTIL_SET if plan.request.until else M_UNTIL, date=date_words)
    _warnings(plan, tz)


def _day(day: date) -> Localized:
    from bot.dates import format_date

    return Localized(lambda lang: format_date(day, lang))


def _warnings(plan: scheduling.Plan, tz: ZoneInfo) -> None:
    if plan.held_until is not None:
        say_line(M_QUIET, time=_stamp(plan.held_until, tz))
    if plan.silent:
        say_line(M_SILENT)
    for o in plan.next:
        if o.holiday is not None:
            day = o.wall.date()
            say_line(
                M_HOLIDAY,
                date=_day(day),
                holiday=o.holiday.name,
            )
    for o in plan.moved:
        day = o.wall.date()
        say_line(
            M_MOVED,
            date=_day(day),
            wall=o.wall.strftime("%H:%M"),
            time=o.at.astimezone(tz).strftime("%H:%M"),
        )


def _state(view: scheduling.ScheduleView, tz: ZoneInfo) -> str:
    s = view.schedule
    if s.cancelled_at is not None:
        return M_CANCELLED(lang())
    if s.next_run is None:
        return M_FINISHED(lang())
    return _stamp(s.next_run, tz)


@schedule_app.command("list")
def list_(
    class_ref: str | None = typer.Option(
        None, "--class", metavar="CLASS", help="Only this class (classCode or sourcedId)."
    ),
    show_all: bool = typer.Option(False, "--all", help="Also cancelled and finished ones."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Scheduled messages with their next dates (school time)."""
    from bot.usecases import scheduling

    async def go(a: bootstrap.App) -> tuple[list[scheduling.ScheduleView], ZoneInfo]:
        views = await scheduling.list_schedules(a.ctx, class_ref, include_ended=show_all)
        return views, a.policy.timezone

    views, tz = run(go)
    if as_json:
        emit_json([_view_json(v, tz) for v in views])
        return
    if not views:
        say_line(M_NONE)
        return
    print_rows(
        (H_ID, H_CLASS, H_WHEN, H_NEXT, H_AUTHOR, H_UNTIL, H_TEXT),
        [
            (
                str(v.schedule.id),
                v.class_code,
                v.schedule.when,
                _state(v, tz),
                v.schedule.author_id,
                v.schedule.until.isoformat() if v.schedule.until else "-",
                v.schedule.text,
            )
            for v in views
        ],
        whole=(0, 3),
    )
    out.file.flush()


@schedule_app.command("remove")
def remove(
    schedule_id: int = typer.Argument(
        ..., help="The schedule id (from `schedule list`).", parser=parse_id, metavar="ID"
    ),
) -> None:
    """Cancel a scheduled message: nothing more of it fires."""
    from bot.usecases import scheduling

    async def go(a: bootstrap.App) -> Any:
        return await scheduling.cancel(a.ctx, schedule_id, None, source="cli")

    run(go)
    say_line(M_REMOVED, id=schedule_id)

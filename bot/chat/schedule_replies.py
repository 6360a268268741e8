"""What the chat says about scheduled messages: the preview (the moment in words, the next dates
and what to know first), the confirmation that says what really happens ("gepland voor …", never
"verstuurd"), and `/planning`'s list. Times are the school's local time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dates import format_date, format_day, format_time
from bot.i18n import Msg
from bot.messages import M_SILENT_IN_LESSONS
from bot.recurrence import Occurrence
from bot.usecases.scheduling import Plan, ScheduleView, describe

M_PLAN_ONCE = Msg("Scheduled for {moment}.")
M_PLAN_RECURRING = Msg("Repeats {when}, until {until}. The next times: {dates}.")
M_PLAN_CONFIRM = Msg("Confirm to schedule it; nothing is sent now.")
M_QUIET = Msg("It goes out at {time} (quiet hours).")
M_HOLIDAY = Msg("{date} falls in {holiday}; it is sent all the same.")
M_MOVED = Msg(
    "On {date} {wall} does not exist (summer time starts that night); it goes out at {time}."
)
M_SCHEDULED_ONCE = Msg("Scheduled for {moment} (number {id}). /schedule {klas} shows it.")
M_SCHEDULED_RECURRING = Msg(
    "Scheduled (number {id}): {when}, first on {moment}. /schedule {klas} shows it."
)
M_LIST_TITLE = Msg("Scheduled messages for {klas}:")
M_LIST_ITEM = Msg("#{id} {when} — next: {dates}\n{text}")
M_LIST_CANCEL = Msg("Cancel one with /schedule {klas} cancel NUMBER.")
M_LIST_EMPTY = Msg(
    "There are no scheduled messages for {klas}. Schedule one with, for example, "
    "/reminder {klas} every monday 08:00 Bring your PE kit"
)
M_SCHEDULE_CANCELLED = Msg(
    "Scheduled message {id} for {klas} is cancelled; nothing more of it is sent."
)
M_NO_NEXT = Msg("none")
CANCEL_BUTTON = Msg("Cancel #{id}")
CANCEL_WORD = Msg("cancel")
"""The word `/planning KLAS <word> N` takes (the grammar accepts it in every language)."""


def moment_words(instant: datetime, tz: ZoneInfo, lang: str, now: datetime) -> str:
    """`maandag 7 december 08:00` (the year only when it is not this year's), school time."""
    local = instant.astimezone(tz)
    if local.year == now.astimezone(tz).year:
        day = format_day(local.date(), lang)
    else:
        day = format_date(local.date(), lang)
    return f"{day} {format_time(local.time())}"


def _dates(found: Sequence[Occurrence], tz: ZoneInfo, lang: str, now: datetime) -> str:
    return "; ".join(moment_words(o.at, tz, lang, now) for o in found) or M_NO_NEXT(lang)


def plan_texts(plan: Plan, lang: str, tz: ZoneInfo, now: datetime) -> list[str]:
    """The signed text first, then when it goes and what to know before confirming."""
    lines: list[str] = []
    if plan.recurring:
        assert plan.until is not None
        lines.append(
            M_PLAN_RECURRING(
                lang,
                when=plan.request.when.describe(lang),
                until=format_date(plan.until, lang),
                dates=_dates(plan.next, tz, lang, now),
            )
        )
    else:
        lines.append(M_PLAN_ONCE(lang, moment=moment_words(plan.first.at, tz, lang, now)))
    lines.extend(warnings(plan, lang, tz))
    lines.append(M_PLAN_CONFIRM(lang))
    return [plan.text, "\n".join(lines)]


def warnings(plan: Plan, lang: str, tz: ZoneInfo) -> list[str]:
    found: list[str] = []
    if plan.held_until is not None:
        found.append(M_QUIET(lang, time=format_time(plan.held_until.astimezone(tz).time())))
    if plan.silent:
        found.append(M_SILENT_IN_LESSONS(lang))
    for o in plan.next:
        if o.holiday is not None:
            found.append(
                M_HOLIDAY(lang, date=format_date(o.wall.date(), lang), holiday=o.holiday.name)
            )
        if o.moved:
            found.append(
                M_MOVED(
                    lang,
                    date=format_date(o.wall.date(), lang),
                    wall=format_time(o.wall.time()),
                    time=format_time(o.at.astimezone(tz).time()),
                )
            )
    return found


def scheduled_texts(
    schedule_id: int, plan: Plan, lang: str, tz: ZoneInfo, now: datetime
) -> list[str]:
    """After the confirmation: what really happens."""
    moment = moment_words(plan.first.at, tz, lang, now)
    if plan.recurring:
        first = M_SCHEDULED_RECURRING(
            lang,
            id=schedule_id,
            when=plan.request.when.describe(lang),
            moment=moment,
            klas=plan.class_code,
        )
    else:
        first = M_SCHEDULED_ONCE(lang, moment=moment, id=schedule_id, klas=plan.class_code)
    quiet = (
        [M_QUIET(lang, time=format_time(plan.held_until.astimezone(tz).time()))]
        if (plan.held_until is not None)
        else []
    )
    return ["\n".join([first, *quiet])]


def list_text(
    klas: str, views: Sequence[ScheduleView], lang: str, tz: ZoneInfo, now: datetime
) -> str:
    if not views:
        return M_LIST_EMPTY(lang, klas=klas)
    items = [
        M_LIST_ITEM(
            lang,
            id=v.schedule.id,
            when=describe(v.schedule, lang),
            dates=_dates(v.next, tz, lang, now),
            text=v.schedule.text,
        )
        for v in views
    ]
    return "\n\n".join([M_LIST_TITLE(lang, klas=klas), *items, M_LIST_CANCEL(lang, klas=klas)])

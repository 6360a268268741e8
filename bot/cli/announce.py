"""`announce`, `announcements` and `deliveries`."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from bot.cli import texts as t
from bot.cli.common import (
    JSON_HELP,
    app,
    emit_json,
    err,
    known_person,
    local_iso,
    out,
    parse_id,
    run,
    say,
    settings,
    table,
)
from bot.errors import InvalidInput, KlasbotError
from bot.i18n import Localized, Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.outbox import Told
    from bot.usecases import announcing

AT_HORIZON = timedelta(days=366)
"""How far ahead `announce --at` may hold an announcement."""

M_ALREADY_SENT = Msg(
    "not sent: announcement {id} with the same class, kind and date went out {when}; add --again "
    "to send it anyway"
)
M_SENT_AGAIN = Msg(
    "sent again: announcement {id} with the same class, kind and date went out {when}"
)
M_TOLD_BOTH = Msg("the author and school leadership get their names by e-mail {when}")
M_TOLD_AUTHOR = Msg(
    "the author gets their names by e-mail {when}; school leadership is not told (no leadership "
    "address is configured)"
)
M_TOLD_LEADERSHIP = Msg(
    "school leadership gets their names by e-mail {when}; the author is not mailed (no e-mail "
    "address in the roster)"
)
M_TOLD_NOBODY = Msg(
    "nobody is told by e-mail: the author has no e-mail address in the roster and no leadership "
    "address is configured"
)
M_LATE_LETTERS = Msg(
    "warning: a letter cannot arrive before {date} (at the earliest on {arrives}); inform these "
    "households in another way:"
)
M_CALL_LIST_MAILED = Msg("the call list was mailed to the author")
M_CALL_LIST_NOT_MAILED = Msg(
    "the author has no e-mail address in the roster: the call list was not mailed"
)


def _told(told: Told, when: Localized | None) -> None:
    """Who gets the names of the pupils nobody reached, by e-mail, and when: only what is so."""
    if told.at is None or when is None or not told.anybody:
        say(M_TOLD_NOBODY)
    elif told.author and told.leadership:
        say(M_TOLD_BOTH, when=when)
    elif told.author:
        say(M_TOLD_AUTHOR, when=when)
    else:
        say(M_TOLD_LEADERSHIP, when=when)


@app.command("announce")
def announce(
    class_ref: str = typer.Option(
        ..., "--class", metavar="CLASS", help="classCode (e.g. 2B) or sourcedId."
    ),
    author: str = typer.Option(
        ..., "--as", metavar="STAFF", help="The staff member's sourcedId (signs the message)."
    ),
    kind: str = typer.Option(
        ..., "--kind", metavar="KIND", help="lesson-cancelled, homework, reminder or trip."
    ),
    day: str | None = typer.Option(
        None, "--date", metavar="DATE", help="2026-12-01, 1-12, morgen, maandag …"
    ),
    period: str | None = typer.Option(
        None, "--period", metavar="PERIOD", help="Lesson period: 3 or 3-4."
    ),
    subject: str | None = typer.Option(
        None, "--subject", metavar="SUBJECT", help="School subject (e.g. wiskunde) or trip title."
    ),
    text: str | None = typer.Option(
        None, "--text", metavar="TEXT", help="The message in your own words."
    ),
    at: str | None = typer.Option(
        None, "--at", metavar="DATETIME", help="Send later: 2026-12-01 08:00."
    ),
    again: bool = typer.Option(
        False, "--again", help="Send it even if the same went out in the last day."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Announce to a class; prints the announcement id."""
    from bot.dates import format_date, parse_date
    from bot.domain import AnnouncementDraft
    from bot.rules import kinds
    from bot.usecases import announcing
    from bot.when import parse_when

    moments: dict[str, Localized] = {}

    async def go(a: bootstrap.App) -> announcing.AnnounceResult:
        await known_person(a, author, "--as", class_ref=class_ref, kind=kind, source="cli")
        now = a.clock.now()
        when = None
        if at is not None:
            try:
                parsed = parse_when(at, now=now, tz=a.policy.timezone)
            except (InvalidInput, OverflowError) as exc:
                raise InvalidInput(t.M_BAD_DATE_OPTION, value=at) from exc
            if parsed.recurring or parsed.at is None:
                raise InvalidInput(t.M_BAD_DATE_OPTION, value=at)
            # Nothing is held for longer than a school year; a moment beyond that is a typo.
            limit = now + AT_HORIZON
            if parsed.at > limit:
                raise InvalidInput(t.M_AT_TOO_FAR, value=at, limit=limit.date().isoformat())
            when = parsed.at
        draft = AnnouncementDraft(
            class_id=class_ref,
            author_id=author,
            kind=kinds.parse_kind(kind, a.policy.allowed_kinds),
            date=parse_date(day, today=a.ctx.today()) if day else None,
            period=period,
            subject=subject,
            text=text,
            not_before=when,
        )
        tz = a.policy.timezone
        try:
            result = await announcing.announce(a.ctx, draft, source="cli", again=again)
        except announcing.AlreadySent as exc:
            sent = announcing.moment(exc.earlier.created_at, tz, now)
            raise KlasbotError(M_ALREADY_SENT, id=exc.earlier.id, when=sent) from None
        if result.told.at is not None:
            moments["told"] = announcing.moment(result.told.at, tz, now)
        if result.repeat_of is not None:
            async with a.db.transaction() as tx:
                earlier = await tx.announcements.get(result.repeat_of)
            if earlier is not None:
                moments["repeat"] = announcing.moment(earlier.created_at, tz, now)
        return result

    result = run(go)
    tz = ZoneInfo(settings().school.timezone)
    a = result.announcement
    late = result.late
    call_list = [
        {
            "pupil": letter.pupil_id,
            "name": letter.call.pupil,
            "guardians": list(letter.call.guardians),
            "address": letter.call.address,
        }
        for letter in (late.letters if late else ())
    ]
    if as_json:
        emit_json(
            {
                "id": a.id,
                "class_id": a.class_id,
                "kind": a.kind,
                "author": a.author_id,
                "text": a.body,
                "signature": a.signature,
                "deliveries": result.counts,
                "held_until": result.held_until.astimezone(tz).isoformat()
                if result.held_until
                else None,
                "unreachable": list(result.unreachable),
                "unreachable_told": {
                    "author": result.told.author,
                    "leadership": result.told.leadership,
                    "at": result.told.at.astimezone(tz).isoformat() if result.told.at else None,
                },
                "late_letters": {
                    "date": late.about.isoformat(),
                    "arrives_on": late.arrives_on.isoformat(),
                    "call_list_mailed": late.mailed,
                }
                if late
                else None,
                "call_list": call_list,
                "repeat_of": result.repeat_of,
            }
        )
        return
    sys.stdout.write(f"{a.id}\n")
    counts = ", ".join(f"{v} {t.label('channel', k)}" for k, v in result.counts.items() if v)
    say(t.M_ANNOUNCED, id=a.id, counts=counts)
    if result.repeat_of is not None and "repeat" in moments:
        say(M_SENT_AGAIN, id=result.repeat_of, when=moments["repeat"])
    if result.held_until:
        say(
            t.M_HELD_UNTIL,
            time=result.held_until.astimezone(tz).isoformat(sep=" ", timespec="minutes"),
        )
    if result.unreachable:
        say(t.M_UNREACHABLE, pupils=", ".join(result.unreachable))
        _told(result.told, moments.get("told"))
    if late is not None:
        say(
            M_LATE_LETTERS,
            date=Localized(lambda lang: format_date(late.about, lang)),
            arrives=Localized(lambda lang: format_date(late.arrives_on, lang)),
        )
        for entry in call_list:
            guardians = ", ".join(entry["guardians"])
            err.print(
                f"  {entry['name']} ({entry['pupil']}): {guardians}; {entry['address']}",
                markup=False,
            )
        say(M_CALL_LIST_MAILED if late.mailed else M_CALL_LIST_NOT_MAILED)


@app.command("announcements")
def announcements(
    class_ref: str | None = typer.Option(
        None, "--class", metavar="CLASS", help="Only this class (classCode or sourcedId)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """What has been announced."""
    from bot.usecases import queries

    async def go(a: bootstrap.App) -> Any:
        items = await queries.announcements(a.ctx, class_ref)
        async with a.db.transaction() as tx:
            codes = {}
            for item in items:
                if item.class_id not in codes:
                    found = await tx.roster.find_classes(item.class_id)
                    codes[item.class_id] = found[0].code if found else item.class_id
        return items, codes, a.policy.timezone

    items, codes, tz = run(go)
    rows = [
        {
            "id": x.id,
            "class": codes[x.class_id],
            "class_id": x.class_id,
            "kind": x.kind,
            "author": x.author_id,
            # School time with its offset, as every time a person reads.
            "created_at": x.created_at.astimezone(tz).isoformat(),
            "text": x.body,
            "signature": x.signature,
            "schedule": x.schedule_id,
            "withdrawn": x.withdrawn,
            "withdrawn_at": x.withdrawn_at.astimezone(tz).isoformat() if x.withdrawn_at else None,
            "withdraw_reason": x.withdraw_reason,
            "revision": x.revision,
        }
        for x in items
    ]
    if as_json:
        emit_json(rows)
        return
    grid = table(t.H_ID, t.H_CLASS, t.H_KIND, t.H_AUTHOR, t.H_CREATED, t.H_TEXT)
    for r in rows:
        kind = t.label("kind", r["kind"])
        text = r["text"]
        if r["withdrawn"]:
            text = f"({t.label('status', 'withdrawn')}) {text}"
        created = datetime.fromisoformat(r["created_at"]).isoformat(sep=" ", timespec="minutes")
        grid.add_row(str(r["id"]), r["class"], kind, r["author"], created, text)
    out.print(grid)


@app.command("deliveries")
def deliveries(
    announcement_id: int = typer.Argument(
        ...,
        help="The announcement id (from `klasbot announce`).",
        parser=parse_id,
        metavar="ANNOUNCEMENT_ID",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One row per pupil: channel, reason, status, attempts, last error."""
    from bot.usecases import queries

    async def go(a: bootstrap.App) -> Any:
        return await queries.deliveries(a.ctx, announcement_id)

    rows = [
        {
            "pupil": d.pupil_id,
            "channel": d.channel.value,
            "reason": d.reason.value if d.reason else None,
            "status": d.status.value,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "recipients": [r.email or r.name for r in d.recipients],
            "sent_at": local_iso(d.sent_at),
        }
        for d in run(go)
    ]
    if as_json:
        emit_json(rows)
        return
    grid = table(t.H_PUPIL, t.H_CHANNEL, t.H_REASON, t.H_STATUS, t.H_ATTEMPTS, t.H_LAST_ERROR)
    for r in rows:
        grid.add_row(
            r["pupil"],
            t.label("channel", r["channel"]),
            t.label("reason", r["reason"]),
            t.label("status", r["status"]),
            str(r["attempts"]),
            r["last_error"] or "",
        )
    out.print(grid)

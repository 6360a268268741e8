"""`announce`, `announcements` and `deliveries`."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import typer

from bot import bootstrap
from bot.cli import texts as t
from bot.cli.common import app, emit_json, out, parse_id, run, say, table
from bot.dates import parse_date, parse_when
from bot.domain import AnnouncementDraft
from bot.errors import InvalidInput
from bot.rules import kinds
from bot.usecases import announcing, queries

AT_HORIZON = timedelta(days=366)
"""How far ahead `announce --at` may hold an announcement."""


@app.command("announce")
def announce(
    class_ref: str = typer.Option(..., "--class", help="classCode (e.g. 2B) or sourcedId."),
    author: str = typer.Option(
        ..., "--as", help="The staff member's sourcedId (signs the message)."
    ),
    kind: str = typer.Option(..., "--kind", help="lesson-cancelled, homework, reminder or trip."),
    day: str | None = typer.Option(None, "--date", help="2026-12-01, 1-12, morgen, maandag …"),
    period: str | None = typer.Option(None, "--period", help="Lesson period: 3 or 3-4."),
    subject: str | None = typer.Option(None, "--subject"),
    text: str | None = typer.Option(None, "--text"),
    at: str | None = typer.Option(None, "--at", help="Send later: 2026-12-01 08:00."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Announce to a class; prints the announcement id."""

    async def go(a: bootstrap.App) -> announcing.AnnounceResult:
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
        return await announcing.announce(a.ctx, draft, source="cli")

    result = run(go)
    a = result.announcement
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
                "held_until": result.held_until.isoformat() if result.held_until else None,
                "unreachable": list(result.unreachable),
            }
        )
        return
    sys.stdout.write(f"{a.id}\n")
    counts = ", ".join(f"{v} {k}" for k, v in result.counts.items() if v)
    say(t.M_ANNOUNCED, id=a.id, counts=counts)
    if result.held_until:
        say(t.M_HELD_UNTIL, time=result.held_until.isoformat())
    if result.unreachable:
        say(t.M_UNREACHABLE, pupils=", ".join(result.unreachable))


@app.command("announcements")
def announcements(
    class_ref: str | None = typer.Option(None, "--class"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What has been announced."""

    async def go(a: bootstrap.App) -> Any:
        items = await queries.announcements(a.ctx, class_ref)
        async with a.db.transaction() as tx:
            codes = {}
            for item in items:
                if item.class_id not in codes:
                    found = await tx.roster.find_classes(item.class_id)
                    codes[item.class_id] = found[0].code if found else item.class_id
        return items, codes

    items, codes = run(go)
    rows = [
        {
            "id": x.id,
            "class": codes[x.class_id],
            "class_id": x.class_id,
            "kind": x.kind,
            "author": x.author_id,
            "created_at": x.created_at.isoformat(),
            "text": x.body,
            "signature": x.signature,
            "schedule": x.schedule_id,
        }
        for x in items
    ]
    if as_json:
        emit_json(rows)
        return
    grid = table(t.H_ID, t.H_CLASS, t.H_KIND, t.H_AUTHOR, t.H_CREATED, t.H_TEXT)
    for r in rows:
        grid.add_row(
            str(r["id"]), r["class"], r["kind"], r["author"], r["created_at"][:16], r["text"]
        )
    out.print(grid)


@app.command("deliveries")
def deliveries(
    announcement_id: int = typer.Argument(
        ...,
        help="The announcement id (from `klasbot announce`).",
        parser=parse_id,
        metavar="ANNOUNCEMENT_ID",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One row per pupil: channel, reason, status, attempts, last error."""

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
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
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
            r["channel"],
            r["reason"] or "",
            r["status"],
            str(r["attempts"]),
            r["last_error"] or "",
        )
    out.print(grid)

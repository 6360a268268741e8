"""`reports list|show|close`: the reports (`/melden`, A.9) and escalations (`/escaleren`, B.3)
leadership handles, and the warning about schools whose reports would reach nobody.

Every time is the school's local time with its offset: ISO 8601 in `--json`
(`2026-11-23T10:00:00+01:00`)."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from bot.cli import texts as t
from bot.cli.common import (
    JSON_HELP,
    app,
    emit_json,
    err,
    lang,
    local_iso,
    not_blank,
    out,
    parse_id,
    print_rows,
    run,
    say,
)
from bot.i18n import Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.usecases import reports
    from bot.usecases.context import Context

logger = logging.getLogger(__name__)

reports_app = typer.Typer(
    help="Reports (/melden) and escalations (/escaleren) for school leadership.",
    no_args_is_help=True,
)
app.add_typer(reports_app, name="reports")

M_NO_LEADERSHIP = Msg(
    "warning: school {school} ({id}) has no school leadership to send reports to; set "
    "school.leadership_emails in the configuration, or give the school a principal with an "
    "e-mail address in the roster"
)
M_NO_REPORTS = Msg("no reports")
M_NO_OPEN_REPORTS = Msg("no open reports")
M_CLOSED = Msg("report {id} closed")
M_NOBODY = Msg("nobody (no school leadership known)")
M_PRIVATE_CHAT = Msg("a private chat with the bot")
H_FROM = Msg("from")
H_FORWARDED_TO = Msg("forwarded to")
H_GROUP = Msg("group")
H_CLOSED = Msg("closed")
H_CLOSED_BY = Msg("closed by")
H_NOTE = Msg("note")
_KINDS = {
    "report": Msg("report", context="report kind"),
    "escalation": Msg("escalation", context="report kind"),
}
_STATES = {
    "open": Msg("open", context="report state"),
    "closed": Msg("closed", context="report state"),
}


async def leadership_warnings(ctx: Context, *, log_level: int = logging.INFO) -> list[str]:
    """One line per school whose reports would reach nobody (`schools_without_leadership`), in
    the admin's language; each is logged too (by the school's id), at `log_level`. `klasbot run`
    logs them as WARNINGs, for the board's monitoring; a command that ends at once prints the
    lines to the admin, and its log repeats them only when asked to be verbose."""
    from bot.usecases import reports

    lines = []
    for school in await reports.schools_without_leadership(ctx):
        logger.log(
            log_level,
            "school %s has no leadership to send reports to: set school.leadership_emails or "
            "give the school a principal with an e-mail address in the roster",
            school.id,
        )
        lines.append(M_NO_LEADERSHIP(lang(), school=school.name or school.id, id=school.id))
    return lines


def warn(lines: list[str]) -> None:
    """The lines of `leadership_warnings` on standard error."""
    for line in lines:
        err.print(line, markup=False)


def _who() -> str:
    """Who runs this command: the operating system's user (a container may have no name)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def _summary(view: reports.ReportView) -> dict[str, Any]:
    r = view.report
    return {
        "id": r.id,
        "kind": r.kind.value,
        "from": r.reporter_id,
        "school": r.school_id,
        "class": view.class_codes,
        "created_at": local_iso(r.created_at),
        "state": r.state.value,
        "forwarded_to": list(r.forwarded_to),
    }


def _details(view: reports.ReportView) -> dict[str, Any]:
    r = view.report
    group = view.group
    return {
        **_summary(view),
        "from_name": view.reporter.full_name if view.reporter else None,
        "school_name": view.school.name if view.school and view.school.name else None,
        "class_ids": list(r.class_ids),
        "text": r.text,
        "platform": r.platform,
        "group": (
            {"id": group.id, "platform": group.platform, "chat": group.chat_id}
            if group is not None
            else ({"id": r.group_id, "platform": None, "chat": None} if r.group_id else None)
        ),
        "closed_at": local_iso(r.closed_at),
        "closed_by": r.closed_by,
        "close_note": r.close_note,
    }


def _stamp(instant: datetime | None) -> str:
    """`2026-11-23 10:00+01:00`: school time with its offset, for a table."""
    iso = local_iso(instant)
    if iso is None:
        return "-"
    return datetime.fromisoformat(iso).isoformat(sep=" ", timespec="minutes")


def _label(labels: dict[str, Msg], value: str) -> str:
    found = labels.get(value)
    return found(lang()) if found is not None else value


@reports_app.command("list")
def list_(
    open_only: bool = typer.Option(False, "--open", help="Only reports not closed yet."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Reports and escalations, by number, with whom they were forwarded to. Warns about every
    school whose reports reach nobody."""
    from bot.usecases import reports

    async def go(a: bootstrap.App) -> tuple[list[reports.ReportView], list[str]]:
        views = await reports.list_reports(a.ctx, open_only=open_only)
        return views, await leadership_warnings(a.ctx)

    views, warnings = run(go)
    warn(warnings)
    if as_json:
        emit_json([_summary(v) for v in views])
        return
    if not views:
        say(M_NO_OPEN_REPORTS if open_only else M_NO_REPORTS)
        return
    print_rows(
        (t.H_ID, t.H_KIND, t.H_CREATED, H_FROM, t.H_CLASS, t.H_STATE, H_FORWARDED_TO),
        [
            (
                str(v.report.id),
                _label(_KINDS, v.report.kind.value),
                _stamp(v.report.created_at),
                v.report.reporter_id or "-",
                v.class_codes or "-",
                _label(_STATES, v.report.state.value),
                ", ".join(v.report.forwarded_to) or M_NOBODY(lang()),
            )
            for v in views
        ],
        whole=(0,),
    )


@reports_app.command("show")
def show(
    report_id: int = typer.Argument(
        ..., help="The report's number (from `reports list`).", parser=parse_id, metavar="ID"
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One report with its text and context: who sent it, where, to whom it went, and how it
    was closed."""
    from bot.usecases import reports

    async def go(a: bootstrap.App) -> reports.ReportView:
        return await reports.show_report(a.ctx, report_id)

    view = run(go)
    data = _details(view)
    if as_json:
        emit_json(data)
        return
    r = view.report
    who = r.reporter_id or "-"
    if view.reporter is not None:
        who = f"{view.reporter.full_name} ({r.reporter_id})"
    school = view.school.name or view.school.id if view.school else "-"
    if view.group is not None:
        where = f"{view.group.platform} {view.group.chat_id}"
    else:
        where = f"{r.platform or '-'}: {M_PRIVATE_CHAT(lang())}"
    rows = [
        (t.H_ID, str(r.id)),
        (t.H_KIND, _label(_KINDS, r.kind.value)),
        (t.H_CREATED, _stamp(r.created_at)),
        (H_FROM, who),
        (t.H_SCHOOL, school),
        (t.H_CLASS, view.class_codes or "-"),
        (H_GROUP, where),
        (t.H_STATE, _label(_STATES, r.state.value)),
        (H_FORWARDED_TO, ", ".join(r.forwarded_to) or M_NOBODY(lang())),
        (H_CLOSED, _stamp(r.closed_at)),
        (H_CLOSED_BY, r.closed_by or "-"),
        (H_NOTE, r.close_note or "-"),
        (t.H_TEXT, r.text),
    ]
    for heading, value in rows:
        out.print(f"{heading(lang())}: {value}", markup=False)


@reports_app.command("close")
def close(
    report_id: int = typer.Argument(
        ..., help="The report's number (from `reports list`).", parser=parse_id, metavar="ID"
    ),
    note: str = typer.Option(
        ..., "--note", help="What was done about it (kept with the report).", callback=not_blank
    ),
) -> None:
    """Close a report once leadership dealt with it; records who closed it (the user running
    this command) and why."""
    from bot.usecases import reports

    by = _who()

    async def go(a: bootstrap.App) -> Any:
        return await reports.close_report(a.ctx, report_id, by=by, note=note)

    run(go)
    say(M_CLOSED, id=report_id)

"""`dossier export PERSON`: what klasbot keeps about a person, or a class (GDPR art. 15), as JSON,
as tables, or as a readable PDF on the school's letterhead."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer

from bot.cli.common import (
    JSON_HELP,
    app,
    emit_json,
    fail,
    lang,
    out,
    refuse,
    run,
    say,
    settings,
)
from bot.i18n import Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.dossier_text import Readable
    from bot.usecases.dossier import Dossier

M_DOSSIER_WRITTEN = Msg("dossier written to {path}")
M_PDF_IS_A_DIRECTORY = Msg("--pdf {path}: is a directory; name the PDF file to write")
M_PDF_NO_DIRECTORY = Msg("--pdf {path}: directory {directory} does not exist")

dossier_app = typer.Typer(
    help="Everything kept about a person or a class (GDPR access request).",
    no_args_is_help=True,
)
app.add_typer(dossier_app, name="dossier")


def _admin() -> str | None:
    """Who runs the command: the operating system's user (recorded with the export)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


@dossier_app.command("export")
def dossier_export(
    ref: str = typer.Argument(
        ...,
        metavar="PERSON",
        help="A person's sourcedId; or a class (classCode or sourcedId) for the class's dossier.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    pdf: Path | None = typer.Option(
        None,
        "--pdf",
        metavar="FILE",
        help="Also write the dossier as a readable PDF (in the school's language).",
    ),
) -> None:
    """Export the dossier of PERSON: their roster record, accounts, link codes (dates only),
    group memberships, every audit event, delivery, announcement, report and scheduled message
    concerning them. Every other pupil, guardian and non-staff person appears by a pseudonym.
    The export is recorded in the audit trail. JSON keys: person (or class), generated_at,
    accounts, classes, memberships, invites, events, deliveries, announcements, reports,
    schedules, pseudonyms_note."""
    from adapters.post.dossier import write_dossier_pdf
    from bot.dossier_text import readable
    from bot.usecases import dossier as dossier_uc

    config = settings()
    if pdf is not None:
        if pdf.is_dir():
            refuse(M_PDF_IS_A_DIRECTORY, path=pdf)
        if not pdf.parent.is_dir():
            refuse(M_PDF_NO_DIRECTORY, path=pdf, directory=pdf.parent)
    formats = [f for f, wanted in (("json", as_json), ("pdf", pdf is not None)) if wanted]

    async def go(a: bootstrap.App) -> Dossier:
        return await dossier_uc.export(a.ctx, ref, by=_admin(), formats=formats or ["table"])

    result: Dossier = run(go)
    tz = ZoneInfo(config.school.timezone)
    text = readable(result, lang(), tz)
    if pdf is not None:
        try:
            write_dossier_pdf(pdf, text, lang=lang(), letterhead_lines=config.post.letterhead)
        except OSError as exc:
            fail(f"{pdf}: {exc.strerror or exc}")
        say(M_DOSSIER_WRITTEN, path=pdf)
    if as_json:
        emit_json(result.to_json(tz))
    elif pdf is None:
        _print(text)


def _print(text: Readable) -> None:
    from rich.table import Table
    from rich.text import Text

    out.print(Text(text.title, style="bold"))
    out.print(text.intro, markup=False)
    for section in text.sections:
        out.print()
        out.print(Text(section.title, style="bold"))
        if not section.rows:
            out.print(text.empty, markup=False)
            continue
        grid = Table(*section.headings, show_header=bool(section.headings))
        if not section.headings:
            grid = Table(show_header=False, box=None)
            for _ in section.rows[0]:
                grid.add_column()
        for column in grid.columns:
            column.overflow = "fold"
        for row in section.rows:
            grid.add_row(*(Text(value) for value in row))
        out.print(grid)

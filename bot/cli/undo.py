"""`withdraw` and `correct`: the administrator puts a mistaken announcement right."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import app, emit_json, local_iso, parse_id, run, say
from bot.i18n import Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.usecases import undo

M_WITHDRAWN = Msg(
    "Announcement {id} withdrawn: {cancelled} undelivered copies cancelled, {edits} group posts "
    "to edit, {follow_ups} e-mails and letters with the withdrawal."
)
M_CORRECTED = Msg(
    "Announcement {id} corrected: {edits} group posts to edit, {follow_ups} e-mails and letters "
    "with the correction; copies not sent yet go out with the new text."
)


def _result_json(result: undo.UndoResult) -> dict[str, Any]:
    a = result.announcement
    return {
        "id": a.id,
        "withdrawn": a.withdrawn,
        "withdrawn_at": local_iso(a.withdrawn_at),
        "revision": a.revision,
        "text": a.body,
        "cancelled": result.cancelled,
        "group_edits": result.group_edits,
        "follow_ups": result.follow_ups,
    }


@app.command("withdraw")
def withdraw(
    announcement_id: int = typer.Argument(
        ..., help="The announcement id.", parser=parse_id, metavar="ANNOUNCEMENT_ID"
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why it is withdrawn; shown to everyone who got it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Withdraw an announcement: undelivered copies are cancelled, delivered ones withdrawn."""
    from bot.usecases import undo

    async def go(a: bootstrap.App) -> undo.UndoResult:
        return await undo.withdraw(a.ctx, announcement_id, None, reason, source="cli")

    result = run(go)
    if as_json:
        emit_json(_result_json(result))
        return
    say(
        M_WITHDRAWN,
        id=result.announcement.id,
        cancelled=result.cancelled,
        edits=result.group_edits,
        follow_ups=result.follow_ups,
    )


@app.command("correct")
def correct(
    announcement_id: int = typer.Argument(
        ..., help="The announcement id.", parser=parse_id, metavar="ANNOUNCEMENT_ID"
    ),
    text: str = typer.Option(..., "--text", help="The corrected text (replaces the old one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Replace an announcement's text by a correction, wherever it went."""
    from bot.usecases import undo

    async def go(a: bootstrap.App) -> undo.UndoResult:
        return await undo.correct(a.ctx, announcement_id, None, text, source="cli")

    result = run(go)
    if as_json:
        emit_json(_result_json(result))
        return
    say(
        M_CORRECTED,
        id=result.announcement.id,
        edits=result.group_edits,
        follow_ups=result.follow_ups,
    )

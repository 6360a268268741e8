"""`invites create`: link codes for a class's pupils (and staff) or one person, and for everyone
asked for who gets none, the reason."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from bot.cli import texts as t
from bot.cli.common import (
    JSON_HELP,
    emit_json,
    err,
    invites_app,
    lang,
    local_iso,
    out,
    print_rows,
    refuse,
    run,
    say,
    settings,
)
from bot.i18n import Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.usecases.invites import InviteRun, IssuedInvite, SkippedInvite

M_NO_CODE_UNDER_13 = Msg("no code: not 13 until {date}")
M_NO_CODE_AGE_UNKNOWN = Msg("no code: no birth date on the roster")
M_NO_CODE_UNREACHABLE = Msg("no code: no e-mail address and no postal address to send it to")
M_NO_CODE_CONTACT_NONE = Msg("no code: contact preference none (contacts.csv)")
M_NO_CODE_ADULT = Msg(
    "no code: 18 or older without an e-mail or postal address of their own, and no consent "
    "that it goes to a guardian (contacts.csv share_with_guardians)"
)
M_COMPLETE_CONTACTS = Msg(
    "complete the contact details of {persons}, then make their codes with "
    "klasbot invites create --person PERSON"
)
M_INVITES_MADE = Msg(
    "{made} code(s) made, {skipped} without a code; {replaced} earlier code(s) no longer work"
)
M_NOT_SENT_YET = Msg("the e-mails and letters go out with the next klasbot dispatch")
H_NAME = Msg("name")


def why_not(skipped: SkippedInvite) -> str:
    """Why someone got no code, for the admin, in the school's language."""
    from bot.dates import format_date
    from bot.usecases import invites

    if skipped.reason == invites.UNDER_13 and skipped.from_date is not None:
        return M_NO_CODE_UNDER_13(lang(), date=format_date(skipped.from_date, lang()))
    if skipped.reason == invites.AGE_UNKNOWN:
        return M_NO_CODE_AGE_UNKNOWN(lang())
    if skipped.reason == invites.CONTACT_NONE:
        return M_NO_CODE_CONTACT_NONE(lang())
    if skipped.reason == invites.ADULT_NO_CONTACT:
        return M_NO_CODE_ADULT(lang())
    return M_NO_CODE_UNREACHABLE(lang())


def _json_row(issued: IssuedInvite) -> dict[str, Any]:
    row: dict[str, Any] = {"person": issued.person_id}
    if issued.pupil_id is not None:
        row["pupil"] = issued.pupil_id
    row.update(
        {
            "code": issued.code,
            "channel": issued.channel.value,
            "expires_at": local_iso(issued.expires_at),
        }
    )
    return row


def _skipped_line(skipped: SkippedInvite) -> str:
    """One JSON object on one line, for standard error in `--json` mode."""
    data: dict[str, Any] = {"person": skipped.person_id}
    if skipped.pupil_id is not None:
        data["pupil"] = skipped.pupil_id
    data["reason"] = skipped.reason
    if skipped.from_date is not None:
        data["from"] = skipped.from_date.isoformat()
    data["message"] = why_not(skipped)
    return json.dumps(data, ensure_ascii=False)


@invites_app.command("create")
def invites_create(
    class_ref: str | None = typer.Option(
        None, "--class", metavar="CLASS", help="Codes for the class's eligible pupils."
    ),
    person: str | None = typer.Option(
        None, "--person", metavar="PERSON", help="One code for one person (a teacher, a guardian)."
    ),
    with_staff: bool = typer.Option(
        False, "--with-staff", help="Also codes for the class's staff."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create one-time codes; each goes out by the person's fallback channel (e-mail or letter)
    with the next `klasbot dispatch`. A new code replaces the person's earlier unused ones.
    Everyone asked for who gets no code is listed with the reason (in JSON mode on standard
    error, one JSON object a line)."""
    from bot.usecases import invites
    from bot.usecases.invites import IssuedInvite

    settings()
    if (class_ref is None) == (person is None):
        refuse(t.M_CLASS_OR_PERSON)

    async def go(a: bootstrap.App) -> InviteRun:
        return await invites.issue_invites(
            a.ctx, class_ref=class_ref, person_ref=person, with_staff=with_staff
        )

    result: InviteRun = run(go)
    if as_json:
        emit_json([_json_row(i) for i in result.issued])
        for skipped in result.skipped:
            err.print(_skipped_line(skipped), markup=False, soft_wrap=True)
        return
    if not result.results:
        say(t.M_NO_CODES)
        return
    rows = []
    for r in result.results:
        if isinstance(r, IssuedInvite):
            sent_by = t.label("channel", r.channel.value)
            rows.append([r.person_id, r.name, r.code, sent_by, r.expires_at.date().isoformat(), ""])
        else:
            rows.append([r.person_id, r.name, "–", "–", "–", why_not(r)])
    print_rows(
        (t.H_PERSON, H_NAME, t.H_CODE, t.H_SENT_BY, t.H_EXPIRES, t.H_PROBLEM), rows, whole=(0, 2)
    )
    unreachable = [
        r.person_id
        for r in result.skipped
        if r.reason in (invites.UNREACHABLE, invites.ADULT_NO_CONTACT)
    ]
    if unreachable:
        say(M_COMPLETE_CONTACTS, persons=", ".join(unreachable))
    say(
        M_INVITES_MADE,
        made=len(result.issued),
        skipped=len(result.skipped),
        replaced=result.replaced,
    )
    if result.issued:
        say(M_NOT_SENT_YET)
    out.file.flush()

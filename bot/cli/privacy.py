"""`klasbot person erase PERSON` (GDPR art. 17) and `klasbot purge [--dry-run]` (the retention
period). Neither asks a question: scripts run them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import JSON_HELP, app, emit_json, run, say
from bot.i18n import Msg

if TYPE_CHECKING:
    from bot import bootstrap
    from bot.usecases import erasure, retention

person_app = typer.Typer(help="A person's data (GDPR).", no_args_is_help=True)
app.add_typer(person_app, name="person")

M_ERASED = Msg(
    "{ref} is erased and from now on appears as {pseudonym}. Deleted: the roster entry, "
    "{accounts} linked accounts, {invites} codes, {memberships} group memberships. Kept "
    "pseudonymised: {events} audit events, {deliveries} deliveries, {announcements} "
    "announcements, {schedules} schedules, {reports} reports. {cancelled} copies not sent yet "
    "were cancelled, {scrubbed} records cleaned of the name, e-mail address and address, "
    "{letters} letter files deleted."
)
M_ERASED_REMOVALS = Msg(
    "Removals from groups: {removed} of {removals} made now; the others are made by klasbot run "
    "(or dispatch) on their platform."
)
M_ERASED_ROSTER = Msg(
    "If {ref} is still in the school's roster export, the next roster import adds them again as "
    "a new person: remove them from the export too."
)
M_PURGED = Msg(
    "Purged everything from before {kept_from}: {announcements} announcements with "
    "{deliveries} deliveries, {notices} notices, {letters} letters, {events} audit events, "
    "{reports} closed reports, {invites} used or expired codes, {schedules} schedules and "
    "{firings} firings; {files} letter files deleted."
)
M_PURGE_DRY_RUN = Msg(
    "Dry run, nothing changed. A purge now would remove everything from before {kept_from}: "
    "{announcements} announcements with {deliveries} deliveries, {notices} notices, {letters} "
    "letters, {events} audit events, {reports} closed reports, {invites} used or expired codes, "
    "{schedules} schedules and {firings} firings; {files} letter files."
)
M_PURGE_KEEPS = Msg(
    "Kept however old: open reports, announcements still being delivered and letters the office "
    "has not posted. The retention period is the end of the school year plus {years} school "
    "year(s) (school.retention_years)."
)


def admin() -> str:
    """Who runs the command, for the audit trail: the operating system's user."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        return "?"


@person_app.command("erase")
def erase(
    person: str = typer.Argument(..., metavar="PERSON", help="The person's sourcedId."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Erase a person (GDPR art. 17): their personal data is removed, their accounts unlinked
    and removed from every group; the audit trail is kept, pseudonymised."""
    from bot.usecases import erasure

    by = admin()

    async def go(a: bootstrap.App) -> erasure.ErasureResult:
        return await erasure.erase(a.ctx, person, by)

    result = run(go, connect="send")
    counts = result.counts
    if as_json:
        emit_json(
            {
                "person": result.person_id,
                "pseudonym": result.pseudonym,
                "counts": counts,
                "removals": result.removals,
                "removed": result.removed,
                "letter_files": result.letter_files,
                "ended_schedules": result.ended_schedules,
            }
        )
        return
    say(
        M_ERASED,
        ref=result.person_id,
        pseudonym=result.pseudonym,
        accounts=counts.get("accounts", 0),
        invites=counts.get("invites", 0),
        memberships=counts.get("memberships", 0),
        events=counts.get("audit_events", 0),
        deliveries=counts.get("deliveries", 0),
        announcements=counts.get("announcements", 0),
        schedules=counts.get("schedules", 0),
        reports=counts.get("reports", 0),
        cancelled=counts.get("cancelled", 0),
        scrubbed=counts.get("scrubbed", 0),
        letters=result.letter_files,
    )
    if result.removals:
        say(M_ERASED_REMOVALS, removed=result.removed, removals=result.removals)
    say(M_ERASED_ROSTER, ref=result.person_id)


def _purge_params(result: retention.PurgeResult) -> dict[str, Any]:
    counts = result.counts
    return {
        "kept_from": result.kept_from.isoformat(),
        "announcements": counts.get("announcements", 0),
        "deliveries": counts.get("deliveries", 0),
        "notices": counts.get("notices", 0),
        "letters": counts.get("letters", 0),
        "events": counts.get("audit_events", 0),
        "reports": counts.get("reports", 0),
        "invites": counts.get("invites", 0),
        "schedules": counts.get("schedules", 0),
        "firings": counts.get("firings", 0),
        "files": result.letter_files,
    }


@app.command("purge")
def purge(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what a purge would remove; change nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Apply the retention period: remove what is older than the end of its school year plus
    school.retention_years school years."""
    from bot.usecases import retention

    by = admin()

    async def go(a: bootstrap.App) -> tuple[retention.PurgeResult, int]:
        return await retention.purge(a.ctx, dry_run=dry_run, by=by), a.policy.retention_years

    result, years = run(go)
    if as_json:
        emit_json(
            {
                "dry_run": result.dry_run,
                "kept_from": result.kept_from.isoformat(),
                "counts": result.counts,
                "letter_files": result.letter_files,
            }
        )
        return
    say(M_PURGE_DRY_RUN if dry_run else M_PURGED, **_purge_params(result))
    say(M_PURGE_KEEPS, years=years)
